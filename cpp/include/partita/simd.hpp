// Fixed-width vectors through GCC's vector extensions and a branch-free exp on them, shared by
// the kernels that need bit-identical results on every target_clones clone (kernel k-means,
// Sinkhorn).
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

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

// Vectors of a chosen width, for kernels whose results do not depend on the width (every lane
// computes its own entry): those pick 64 bytes where the CPU has AVX-512 and 32 elsewhere, since
// GCC keeps 64-byte vectors on an AVX2 CPU in memory rather than in pairs of registers, which
// makes such loops several times slower than the same loop on 32-byte vectors.
template <class T, int Bytes>
struct VecN {
    typedef T type __attribute__((vector_size(Bytes)));
    static constexpr int lanes = Bytes / int(sizeof(T));
};

// Whether this CPU has 512-bit vectors (AVX-512F); checked once.
inline bool has_512bit_vectors() {
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__CUDA_ARCH__)
    static const bool wide = __builtin_cpu_supports("avx512f");
    return wide;
#else
    return false;
#endif
}

// A 64-byte vector held as two 32-byte halves: the same lanes and the same IEEE operations lane
// by lane as the 64-byte vector it stands for (so the same bits, also in sums over its lanes),
// but compiled to a pair of registers on an AVX2 CPU and to a register pair or one register's
// worth of work with AVX-512. For kernels whose sums run in a fixed order over 64-byte lanes.
template <class H>
struct Pack2 {
    H lo, hi;  // lanes [0, half) and [half, 2 half)
    using half_type = H;
    using lane_type = std::remove_cv_t<std::remove_reference_t<decltype(std::declval<H>()[0])>>;
    static constexpr int half = int(sizeof(H) / sizeof(lane_type));
    inline __attribute__((always_inline)) lane_type operator[](int l) const {
        return l < half ? lo[l] : hi[l - half];
    }
};
template <class S>
struct is_pack : std::false_type {};
template <class H>
struct is_pack<Pack2<H>> : std::true_type {};
template <class S>
inline constexpr bool is_pack_v = is_pack<S>::value;

#define PARTITA_PACK2_OPERATOR(OP)                                                                 \
    template <class H>                                                                             \
    inline __attribute__((always_inline)) auto operator OP(const Pack2<H>& x, const Pack2<H>& y) { \
        return Pack2<decltype(x.lo OP y.lo)>{x.lo OP y.lo, x.hi OP y.hi};                          \
    }
PARTITA_PACK2_OPERATOR(+)
PARTITA_PACK2_OPERATOR(-)
PARTITA_PACK2_OPERATOR(*)
PARTITA_PACK2_OPERATOR(/)
PARTITA_PACK2_OPERATOR(<)
PARTITA_PACK2_OPERATOR(>)
PARTITA_PACK2_OPERATOR(&)
PARTITA_PACK2_OPERATOR(|)
#undef PARTITA_PACK2_OPERATOR
template <class H>
inline __attribute__((always_inline)) Pack2<H>& operator+=(Pack2<H>& x, const Pack2<H>& y) {
    x.lo += y.lo;
    x.hi += y.hi;
    return x;
}
// mask ? x : y lane by lane (mask: the result of a comparison).
template <class M, class H>
inline __attribute__((always_inline)) Pack2<H> select(const Pack2<M>& mask, const Pack2<H>& x,
                                                      const Pack2<H>& y) {
    return {mask.lo ? x.lo : y.lo, mask.hi ? x.hi : y.hi};
}

template <class V>
inline __attribute__((always_inline)) V load(const void* p) {
    if constexpr (is_pack_v<V>) {
        using H = typename V::half_type;
        return V{load<H>(p), load<H>(static_cast<const char*>(p) + sizeof(H))};
    } else {
        V v;
        __builtin_memcpy(&v, p, sizeof(V));
        return v;
    }
}
template <class V>
inline __attribute__((always_inline)) void store(void* p, const V& v) {
    if constexpr (is_pack_v<V>) {
        store(p, v.lo);
        store(static_cast<char*>(p) + sizeof(v.lo), v.hi);
    } else {
        __builtin_memcpy(p, &v, sizeof(V));
    }
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
    else if constexpr (is_pack_v<S>)
        return S{splat<typename S::half_type>(c), splat<typename S::half_type>(c)};
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
    // the integer type of S's width (a comparison of two vectors gives the integer vector)
    using I = std::conditional_t<std::is_arithmetic_v<S>, typename Vec<T>::scalar_int,
                                 decltype(std::declval<S>() < std::declval<S>())>;
    if constexpr (std::is_same_v<T, double>) return exp_reduced_f64<S, I>(x);
    else return exp_reduced_f32<S, I>(x);
}

}  // namespace partita::simd
