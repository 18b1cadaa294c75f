// Vectorised row and column kernels of the Sinkhorn sweeps (sinkhorn.hpp): the exponentials of a
// row, its maximum, its share of the column sums, the plan row, and the dot product and scaled
// accumulation of the stabilised sweep. Specification: (docs/algorithms.md, "Log-domain
// Sinkhorn") and (docs/algorithms.md, "Stabilised scaling").
//
// Determinism: every sum runs in a fixed order in fixed-width vectors (GCC vector extensions,
// identical on every target_clones clone, no FMA contraction), so a sweep's result does not
// depend on the instruction set.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "partita/common.hpp"
#include "partita/simd.hpp"

namespace partita::transport {

// log 0 as passed by the bindings: finite in float and double, exp() of anything near it is 0.
constexpr double LOG_ZERO = -1e30;

namespace detail {

using simd::bits;
using simd::load;
using simd::splat;
using simd::store;
using simd::Vec;

// The 64-byte vectors of the sweeps, as pairs of 32-byte halves (simd::Pack2): 8 doubles, or
// 16 floats (W<T>); f8: 8 floats in one 32-byte vector.
typedef double d4 __attribute__((vector_size(32)));
typedef float f4 __attribute__((vector_size(16)));
typedef float f8 __attribute__((vector_size(32)));
using d8 = simd::Pack2<d4>;
template <class T>
using W = simd::Pack2<std::conditional_t<std::is_same_v<T, double>, d4, f8>>;
template <class T>
constexpr index_t lanes = std::is_same_v<T, double> ? 8 : 16;

// 8 floats widened to 8 doubles, and back (rounded to nearest).
inline __attribute__((always_inline)) d8 widen(f8 x) {
    const f4 lo = __builtin_shufflevector(x, x, 0, 1, 2, 3),
             hi = __builtin_shufflevector(x, x, 4, 5, 6, 7);
    return d8{__builtin_convertvector(lo, d4), __builtin_convertvector(hi, d4)};
}
inline __attribute__((always_inline)) f8 narrow(const d8& x) {
    const f4 lo = __builtin_convertvector(x.lo, f4), hi = __builtin_convertvector(x.hi, f4);
    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
}

// exp(x) for any x: clamped at 709 (float: 88) above, exactly 0 below -708 (float: -87), also
// for -inf and LOG_ZERO.
template <class T, class S>
inline __attribute__((always_inline)) S vexp(S x) {
    if constexpr (simd::is_pack_v<S>) {
        return S{vexp<T>(x.lo), vexp<T>(x.hi)};  // no lambda: it would not be cloned
    } else {
        const S lo = splat<S>(simd::ExpRange<T>::lo), hi = splat<S>(simd::ExpRange<T>::hi);
        S xc = x < lo ? lo : x;
        xc = xc > hi ? hi : xc;
        const S res = simd::exp_reduced<T>(xc);
        return x < lo ? splat<S>(T(0)) : res;
    }
}

// Adds the lanes of a T vector, widened to double, to acc (16 floats -> two d8 accumulators).
template <class T>
inline __attribute__((always_inline)) void widen_add(const W<T>& e, d8& acc0, d8& acc1) {
    if constexpr (std::is_same_v<T, double>) {
        acc0 += e;
        (void)acc1;
    } else {
        acc0 += widen(e.lo);
        acc1 += widen(e.hi);
    }
}

inline __attribute__((always_inline)) double hsum(const d8& v) {
    double s = 0.0;
    for (int l = 0; l < 8; ++l) s += v[l];
    return s;
}

// e_j = exp((beta_j - c_j kappa) - shift) into e; returns sum_j e_j, accumulated in double in
// a fixed order.
template <class T>
inline __attribute__((always_inline)) double row_exp_body(const T* __restrict c,
                                                          const T* __restrict beta, index_t m,
                                                          T kappa, T shift, T* __restrict e) {
    using V = W<T>;
    constexpr index_t L = lanes<T>;
    d8 a0 = splat<d8>(0.0), a1 = splat<d8>(0.0), a2 = splat<d8>(0.0), a3 = splat<d8>(0.0);
    const V k = splat<V>(kappa), s = splat<V>(shift);
    index_t j = 0;
    for (; j + 2 * L <= m; j += 2 * L) {
        const V e0 = vexp<T>((load<V>(beta + j) - load<V>(c + j) * k) - s);
        const V e1 = vexp<T>((load<V>(beta + j + L) - load<V>(c + j + L) * k) - s);
        store(e + j, e0);
        store(e + j + L, e1);
        widen_add<T>(e0, a0, a1);
        widen_add<T>(e1, a2, a3);
    }
    double tail = 0.0;
    for (; j < m; ++j) {
        e[j] = vexp<T>((beta[j] - c[j] * kappa) - shift);
        tail += double(e[j]);
    }
    return ((hsum(a0) + hsum(a1)) + (hsum(a2) + hsum(a3))) + tail;
}

// acc_j += w e_j in double.
template <class T>
inline __attribute__((always_inline)) void axpy_body(double w, const T* __restrict e, index_t m,
                                                     double* __restrict acc) {
    const d8 wv = splat<d8>(w);
    index_t j = 0;
    for (; j + 8 <= m; j += 8) {
        d8 ev;
        if constexpr (std::is_same_v<T, double>) ev = load<d8>(e + j);
        else ev = widen(load<f8>(e + j));
        store(acc + j, load<d8>(acc + j) + wv * ev);
    }
    for (; j < m; ++j) acc[j] += w * double(e[j]);
}

// max_j (beta_j - c_j kappa).
template <class T>
inline __attribute__((always_inline)) T row_max_body(const T* __restrict c,
                                                     const T* __restrict beta, index_t m, T kappa) {
    using V = W<T>;
    constexpr index_t L = lanes<T>;
    const T lowest = -std::numeric_limits<T>::infinity();
    V mx = splat<V>(lowest);
    const V k = splat<V>(kappa);
    index_t j = 0;
    for (; j + L <= m; j += L) {
        const V x = load<V>(beta + j) - load<V>(c + j) * k;
        mx = simd::select(x > mx, x, mx);
    }
    T out = lowest;
    for (int l = 0; l < L; ++l) out = mx[l] > out ? mx[l] : out;
    for (; j < m; ++j) {
        const T x = beta[j] - c[j] * kappa;
        out = x > out ? x : out;
    }
    return out;
}

// acc_j += exp((alpha - c_j kappa) - shift_j) in double.
template <class T>
inline __attribute__((always_inline)) void col_accum_body(const T* __restrict c, index_t m, T alpha,
                                                          T kappa, const T* __restrict shift,
                                                          double* __restrict acc) {
    using V = W<T>;
    constexpr index_t L = lanes<T>;
    const V k = splat<V>(kappa), al = splat<V>(alpha);
    index_t j = 0;
    for (; j + L <= m; j += L) {
        const V e = vexp<T>((al - load<V>(c + j) * k) - load<V>(shift + j));
        if constexpr (std::is_same_v<T, double>) {
            store(acc + j, load<d8>(acc + j) + e);
        } else {
            d8 lo = load<d8>(acc + j), hi = load<d8>(acc + j + 8);
            widen_add<T>(e, lo, hi);
            store(acc + j, lo);
            store(acc + j + 8, hi);
        }
    }
    for (; j < m; ++j) acc[j] += double(vexp<T>((alpha - c[j] * kappa) - shift[j]));
}

// mx_j = max(mx_j, alpha - c_j kappa).
template <class T>
inline __attribute__((always_inline)) void col_max_body(const T* __restrict c, index_t m, T alpha,
                                                        T kappa, T* __restrict mx) {
    using V = W<T>;
    constexpr index_t L = lanes<T>;
    const V k = splat<V>(kappa), al = splat<V>(alpha);
    index_t j = 0;
    for (; j + L <= m; j += L) {
        const V x = al - load<V>(c + j) * k;
        const V o = load<V>(mx + j);
        store(mx + j, simd::select(x > o, x, o));
    }
    for (; j < m; ++j) {
        const T x = alpha - c[j] * kappa;
        mx[j] = x > mx[j] ? x : mx[j];
    }
}

// out_j = exp((alpha + beta_j) - c_j kappa), computed in double, stored as T.
template <class T>
inline __attribute__((always_inline)) void plan_row_body(const T* __restrict c,
                                                         const double* __restrict beta, index_t m,
                                                         double alpha, double kappa,
                                                         T* __restrict out) {
    const d8 k = splat<d8>(kappa), al = splat<d8>(alpha);
    index_t j = 0;
    for (; j + 8 <= m; j += 8) {
        d8 cv;
        if constexpr (std::is_same_v<T, double>) cv = load<d8>(c + j);
        else cv = widen(load<f8>(c + j));
        const d8 e = vexp<double>((al + load<d8>(beta + j)) - cv * k);
        if constexpr (std::is_same_v<T, double>) {
            store(out + j, e);
        } else {
            const d8 top = splat<d8>(double(std::numeric_limits<float>::max()));
            store(out + j, narrow(simd::select(e < top, e, top)));  // no inf in float
        }
    }
    for (; j < m; ++j) {
        const double e = vexp<double>((alpha + beta[j]) - double(c[j]) * kappa);
        out[j] = T(std::min(e, double(std::numeric_limits<T>::max())));
    }
}

// sum_j k_j v_j, products in T, accumulated in double in a fixed order (the stabilised pass).
template <class T>
inline __attribute__((always_inline)) double row_dot_body(const T* __restrict k,
                                                          const T* __restrict v, index_t m) {
    using V = W<T>;
    constexpr index_t L = lanes<T>;
    d8 a0 = splat<d8>(0.0), a1 = splat<d8>(0.0), a2 = splat<d8>(0.0), a3 = splat<d8>(0.0);
    index_t j = 0;
    for (; j + 2 * L <= m; j += 2 * L) {
        widen_add<T>(load<V>(k + j) * load<V>(v + j), a0, a1);
        widen_add<T>(load<V>(k + j + L) * load<V>(v + j + L), a2, a3);
    }
    double tail = 0.0;
    for (; j < m; ++j) tail += double(k[j] * v[j]);
    return ((hsum(a0) + hsum(a1)) + (hsum(a2) + hsum(a3))) + tail;
}

// e_j <- T(w e_j) (a stored kernel row from the row terms), acc_j += e_j in double. In double
// this adds exactly what axpy_body adds.
template <class T>
inline __attribute__((always_inline)) void scale_accumulate_body(double w, T* __restrict e,
                                                                 index_t m,
                                                                 double* __restrict acc) {
    const d8 wv = splat<d8>(w);
    index_t j = 0;
    for (; j + 8 <= m; j += 8) {
        if constexpr (std::is_same_v<T, double>) {
            const d8 p = load<d8>(e + j) * wv;
            store(e + j, p);
            store(acc + j, load<d8>(acc + j) + p);
        } else {
            const f8 p = narrow(widen(load<f8>(e + j)) * wv);
            store(e + j, p);
            store(acc + j, load<d8>(acc + j) + widen(p));
        }
    }
    for (; j < m; ++j) {
        e[j] = T(w * double(e[j]));
        acc[j] += double(e[j]);
    }
}

#define PARTITA_TRANSPORT_SWEEPS(T)                                                                \
    PARTITA_MULTIVERSION static double row_exp(const T* c, const T* beta, index_t m, T kappa,      \
                                               T shift, T* e) {                                    \
        return row_exp_body<T>(c, beta, m, kappa, shift, e);                                       \
    }                                                                                              \
    PARTITA_MULTIVERSION static void axpy(double w, const T* e, index_t m, double* acc) {          \
        axpy_body<T>(w, e, m, acc);                                                                \
    }                                                                                              \
    PARTITA_MULTIVERSION static T row_max(const T* c, const T* beta, index_t m, T kappa) {         \
        return row_max_body<T>(c, beta, m, kappa);                                                 \
    }                                                                                              \
    PARTITA_MULTIVERSION static void col_accum(const T* c, index_t m, T alpha, T kappa,            \
                                               const T* shift, double* acc) {                      \
        col_accum_body<T>(c, m, alpha, kappa, shift, acc);                                         \
    }                                                                                              \
    PARTITA_MULTIVERSION static void col_max(const T* c, index_t m, T alpha, T kappa, T* mx) {     \
        col_max_body<T>(c, m, alpha, kappa, mx);                                                   \
    }                                                                                              \
    PARTITA_MULTIVERSION static void plan_row(const T* c, const double* beta, index_t m,           \
                                              double alpha, double kappa, T* out) {                \
        plan_row_body<T>(c, beta, m, alpha, kappa, out);                                           \
    }                                                                                              \
    PARTITA_MULTIVERSION static double row_dot(const T* k, const T* v, index_t m) {                \
        return row_dot_body<T>(k, v, m);                                                           \
    }                                                                                              \
    PARTITA_MULTIVERSION static void scale_accumulate(double w, T* e, index_t m, double* acc) {    \
        scale_accumulate_body<T>(w, e, m, acc);                                                    \
    }
PARTITA_TRANSPORT_SWEEPS(double)
PARTITA_TRANSPORT_SWEEPS(float)
#undef PARTITA_TRANSPORT_SWEEPS

// A shifted sum is trusted when no term overflowed and the largest term is far from underflow.
template <class T>
inline bool in_range(double s) {
    if constexpr (std::is_same_v<T, double>) return s >= 1e-200 && s <= 1e300;
    else return s >= 1e-20 && s <= 1e30;
}

// Trusted sums. A sum of terms w_i e_i (e_i in T, possibly underflowed) is trusted when it is at
// least floor * max(max_i w_i, 1): what underflow lost, below terms x max(w, 1) x 2.2e-308 in
// double (1.2e-38 in float), is then far below its rounding error. A stored kernel entry is
// c_i e_ij, so its loss is up to max(c, 1) times larger: sums of stored entries use
// max_i w_i x max(max_i c_i, 1) as the weight. Kernels with c_i > exp(log_c_max) are not kept;
// the scalings stay within [1/tau, tau].
template <class T>
struct Stabilised {
    static constexpr double floor = std::is_same_v<T, double> ? 1e-200 : 1e-20;
    static constexpr double log_c_max = std::is_same_v<T, double> ? 100.0 : 20.0;
    // ln 1e100, ln 1e15
    static constexpr double log_tau =
        std::is_same_v<T, double> ? 230.25850929940458 : 34.538776394910684;
};

template <class T>
inline bool trusted(double sum, double max_weight) {
    return sum >= Stabilised<T>::floor * std::max(max_weight, 1.0) && sum <= 1e300;
}

// Exact log-sum-exp of a short double sequence (the virtual points).
template <class F>
double lse(index_t len, F&& value) {
    double mx = -std::numeric_limits<double>::infinity();
    for (index_t i = 0; i < len; ++i) mx = std::max(mx, value(i));
    if (!(mx > LOG_ZERO / 2)) return LOG_ZERO;
    double s = 0.0;
    for (index_t i = 0; i < len; ++i) s += std::exp(value(i) - mx);
    return mx + std::log(s);
}

}  // namespace detail

}  // namespace partita::transport
