// Fixed-width vectors through GCC's vector extensions, shared by the kernels that need
// bit-identical results on every target_clones clone (kernel k-means, Sinkhorn).
#pragma once

#include <cstdint>
#include <type_traits>

namespace partita::simd {

// Vectors of 64 bytes through GCC's vector extensions: the compiler lowers them to whatever the
// clone's instruction set has (one zmm register, two ymm, four xmm), so every clone runs the
// same IEEE operations in the same order and gives the same bits.
template <class T>
struct Vec;
template <>
struct Vec<double> {
    typedef double type __attribute__((vector_size(64)));
    typedef std::int64_t itype __attribute__((vector_size(64)));
    using scalar_int = std::int64_t;
    static constexpr int lanes = 8;
};
template <>
struct Vec<float> {
    typedef float type __attribute__((vector_size(64)));
    typedef std::int32_t itype __attribute__((vector_size(64)));
    using scalar_int = std::int32_t;
    static constexpr int lanes = 16;
};

template <class V>
inline __attribute__((always_inline)) V load(const void* p) {
    V v;
    __builtin_memcpy(&v, p, sizeof(V));
    return v;
}
template <class V>
inline __attribute__((always_inline)) void store(void* p, const V& v) {
    __builtin_memcpy(p, &v, sizeof(V));
}
template <class To, class From>
inline __attribute__((always_inline)) To bits(const From& v) {
    static_assert(sizeof(To) == sizeof(From), "bit cast between different sizes");
    To out;
    __builtin_memcpy(&out, &v, sizeof(To));
    return out;
}
// c in every lane (or c itself for a scalar).
template <class S, class T>
inline __attribute__((always_inline)) S splat(T c) {
    if constexpr (std::is_arithmetic_v<S>) return S(c);
    else return S{} + c;
}

}  // namespace partita::simd
