// Fixed-width vectors through GCC's vector extensions and a branch-free exp on them, shared by
// the kernels that need bit-identical results on every target_clones clone (kernel k-means,
// Sinkhorn).
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

// exp(x) for x already clamped to [-708, 709] (float: [-87, 88]), branch-free and with the same
// operations on scalars and on vectors, so a vector lane and a scalar tail give the same bits.
// x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two parts), then 2^n times a polynomial in r:
// double: Taylor to degree 10 by Estrin's scheme (truncation < 3e-13 relative; a shorter
// dependency chain than Horner's); float: Taylor to degree 7 by Horner's scheme.
template <class S, class I>
inline __attribute__((always_inline)) S exp_reduced_f64(S x) {
    const S magic = splat<S>(6755399441055744.0);
    const S t = x * 1.4426950408889634 + magic;  // adding 1.5 * 2^52 rounds to an integer
    const S n = t - magic;
    S r = x - n * 0.6931471803691238;    // ln 2, high part
    r = r - n * 1.9082149292705877e-10;  // ln 2, low part
    const S r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    const S p01 = r + 1.0, p23 = r * (1.0 / 6.0) + 0.5, p45 = r * (1.0 / 120.0) + 1.0 / 24.0;
    const S p67 = r * (1.0 / 5040.0) + 1.0 / 720.0, p89 = r * (1.0 / 362880.0) + 1.0 / 40320.0;
    const S q0 = p01 + p23 * r2, q1 = p45 + p67 * r2, q2 = p89 + r2 * (1.0 / 3628800.0);
    const S p = (q0 + q1 * r4) + q2 * r8;
    const I e = (bits<I>(t) - bits<I>(magic) + 1023) << 52;  // 2^n, n in [-1022, 1023]
    return p * bits<S>(e);
}

template <class S, class I>
inline __attribute__((always_inline)) S exp_reduced_f32(S x) {
    const S magic = splat<S>(12582912.0f);
    const S t = x * 1.44269504f + magic;  // 1.5 * 2^23
    const S n = t - magic;
    S r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    S p = splat<S>(1.0f / 5040.0f);
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const I e = (bits<I>(t) - bits<I>(magic) + 127) << 23;
    return p * bits<S>(e);
}

// The clamping range of exp_reduced for element type T.
template <class T>
struct ExpRange {
    static constexpr T lo = std::is_same_v<T, double> ? T(-708.0) : T(-87.0f);
    static constexpr T hi = std::is_same_v<T, double> ? T(709.0) : T(88.0f);
};

// exp_reduced for element type T on a scalar S = T or a vector S = Vec<T>::type.
template <class T, class S>
inline __attribute__((always_inline)) S exp_reduced(S x) {
    using I = std::conditional_t<std::is_arithmetic_v<S>, typename Vec<T>::scalar_int,
                                 typename Vec<T>::itype>;
    if constexpr (std::is_same_v<T, double>) return exp_reduced_f64<S, I>(x);
    else return exp_reduced_f32<S, I>(x);
}

}  // namespace partita::simd
