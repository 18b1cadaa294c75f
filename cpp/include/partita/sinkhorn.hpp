// Batched log-domain Sinkhorn scaling: balanced, KL-relaxed (unbalanced / semi-relaxed) and
// partial (virtual points). Specification: shared/ALGORITHMS.md section 2.
//
// Problem b of a batch: cost C_b (n x m, row-major, non-negative), marginals a_b, b_b (passed as
// logarithms, -1e30 standing for log 0), entropic regularisation eps, marginal penalties rho_a,
// rho_b (phi = rho / (rho + eps); phi = 1 for a hard side). KL convention:
//     P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)
//     g_j <- -phi_b eps LSE_i(log a_i + (f_i - C_ij) / eps)
//     f_i <- -phi_a eps LSE_j(log b_j + (g_j - C_ij) / eps)
// One iteration is a g-update then an f-update.
//
// Fused streaming: one sweep over C per iteration. Row i of the sweep computes the f-update of
// row i (a row LSE), then, while the row is still in L1, adds its terms
// exp(log a_i + (f_i - C_ij) / eps) to the column sums of the next g-update. The g-update is then
// O(m) per problem, so an iteration reads C once from memory (POT reads it twice: K v and K^T u).
// The LSEs are shifted by the value they take at the fixed point (-f_i / (phi_a eps) for a row,
// -g_j / (phi_b eps) for a column), so each entry costs one exp and no max; when a shifted sum
// falls outside a safe range (first iterations, a bad warm start) that row is redone from cache
// with its exact maximum, and those columns with an exact column maximum (two extra passes of
// that problem, rare).
//
// Virtual points (partial transport): a virtual column (cost 0 to every real row) and / or a
// virtual row (cost 0 to every real column; cost +inf to the virtual column), both hard, handled
// analytically (no extended matrix).
//
// Stopping: balanced, err = ||P^T 1 - b||_1 of the state after an f-update (rows exact), which is
// sum_j b_j |exp((g_j - g_j^new) / eps) - 1| and comes free with the next g-update; relaxed,
// err = max(|f^new - f|, |g^new - g|) / eps (sup norms, virtual potentials included). Every
// problem stops on its own; a stopped problem costs nothing.
//
// Determinism: work items are (problem, fixed chunk of rows) with a chunk size that depends on
// m only; column sums are reduced over the chunks in order; every sum runs in a fixed order in
// fixed-width vectors (GCC vector extensions, identical on every target_clones clone, no FMA
// contraction), so the result does not depend on the thread count or the instruction set.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "partita/common.hpp"
#include "partita/simd.hpp"

namespace partita::sinkhorn {

// log 0 as passed by the bindings: finite in float and double, exp() of anything near it is 0.
constexpr double LOG_ZERO = -1e30;

namespace detail {

using simd::bits;
using simd::load;
using simd::splat;
using simd::store;
using simd::Vec;

typedef double d8 __attribute__((vector_size(64)));
typedef float f8 __attribute__((vector_size(32)));

// exp(x) for any x: clamped at 709 (float: 88) above, exactly 0 below -708 (float: -87), also
// for -inf and LOG_ZERO.
template <class T, class S>
inline __attribute__((always_inline)) S vexp(S x) {
    const S lo = splat<S>(simd::ExpRange<T>::lo), hi = splat<S>(simd::ExpRange<T>::hi);
    S xc = x < lo ? lo : x;
    xc = xc > hi ? hi : xc;
    const S res = simd::exp_reduced<T>(xc);
    return x < lo ? splat<S>(T(0)) : res;
}

// Adds the lanes of a T vector, widened to double, to acc (16 floats -> two d8 accumulators).
template <class T>
inline __attribute__((always_inline)) void widen_add(const typename Vec<T>::type& e, d8& acc0,
                                                     d8& acc1) {
    if constexpr (std::is_same_v<T, double>) {
        acc0 += e;
        (void)acc1;
    } else {
        f8 lo, hi;
        __builtin_memcpy(&lo, &e, sizeof(f8));
        __builtin_memcpy(&hi, reinterpret_cast<const char*>(&e) + sizeof(f8), sizeof(f8));
        acc0 += __builtin_convertvector(lo, d8);
        acc1 += __builtin_convertvector(hi, d8);
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
    using V = typename Vec<T>::type;
    constexpr index_t L = Vec<T>::lanes;
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
        else ev = __builtin_convertvector(load<f8>(e + j), d8);
        store(acc + j, load<d8>(acc + j) + wv * ev);
    }
    for (; j < m; ++j) acc[j] += w * double(e[j]);
}

// max_j (beta_j - c_j kappa).
template <class T>
inline __attribute__((always_inline)) T row_max_body(const T* __restrict c,
                                                     const T* __restrict beta, index_t m,
                                                     T kappa) {
    using V = typename Vec<T>::type;
    constexpr index_t L = Vec<T>::lanes;
    const T lowest = -std::numeric_limits<T>::infinity();
    V mx = splat<V>(lowest);
    const V k = splat<V>(kappa);
    index_t j = 0;
    for (; j + L <= m; j += L) {
        const V x = load<V>(beta + j) - load<V>(c + j) * k;
        mx = x > mx ? x : mx;
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
inline __attribute__((always_inline)) void col_accum_body(const T* __restrict c, index_t m,
                                                          T alpha, T kappa,
                                                          const T* __restrict shift,
                                                          double* __restrict acc) {
    using V = typename Vec<T>::type;
    constexpr index_t L = Vec<T>::lanes;
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
inline __attribute__((always_inline)) void col_max_body(const T* __restrict c, index_t m,
                                                        T alpha, T kappa, T* __restrict mx) {
    using V = typename Vec<T>::type;
    constexpr index_t L = Vec<T>::lanes;
    const V k = splat<V>(kappa), al = splat<V>(alpha);
    index_t j = 0;
    for (; j + L <= m; j += L) {
        const V x = al - load<V>(c + j) * k;
        const V o = load<V>(mx + j);
        store(mx + j, x > o ? x : o);
    }
    for (; j < m; ++j) {
        const T x = alpha - c[j] * kappa;
        mx[j] = x > mx[j] ? x : mx[j];
    }
}

// out_j = exp((alpha + beta_j) - c_j kappa), computed in double, stored as T.
template <class T>
inline __attribute__((always_inline)) void plan_row_body(const T* __restrict c,
                                                         const double* __restrict beta,
                                                         index_t m, double alpha, double kappa,
                                                         T* __restrict out) {
    const d8 k = splat<d8>(kappa), al = splat<d8>(alpha);
    index_t j = 0;
    for (; j + 8 <= m; j += 8) {
        d8 cv;
        if constexpr (std::is_same_v<T, double>) cv = load<d8>(c + j);
        else cv = __builtin_convertvector(load<f8>(c + j), d8);
        const d8 e = vexp<double>((al + load<d8>(beta + j)) - cv * k);
        if constexpr (std::is_same_v<T, double>) {
            store(out + j, e);
        } else {
            const d8 top = splat<d8>(double(std::numeric_limits<float>::max()));
            store(out + j, __builtin_convertvector(e < top ? e : top, f8));  // no inf in float
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
    using V = typename Vec<T>::type;
    constexpr index_t L = Vec<T>::lanes;
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
            const f8 p = __builtin_convertvector(__builtin_convertvector(load<f8>(e + j), d8) * wv, f8);
            store(e + j, p);
            store(acc + j, load<d8>(acc + j) + __builtin_convertvector(p, d8));
        }
    }
    for (; j < m; ++j) {
        e[j] = T(w * double(e[j]));
        acc[j] += double(e[j]);
    }
}

#define PARTITA_SINKHORN_KERNELS(T)                                                              \
    PARTITA_MULTIVERSION static double row_exp(const T* c, const T* beta, index_t m, T kappa,    \
                                               T shift, T* e) {                                  \
        return row_exp_body<T>(c, beta, m, kappa, shift, e);                                     \
    }                                                                                            \
    PARTITA_MULTIVERSION static void axpy(double w, const T* e, index_t m, double* acc) {        \
        axpy_body<T>(w, e, m, acc);                                                              \
    }                                                                                            \
    PARTITA_MULTIVERSION static T row_max(const T* c, const T* beta, index_t m, T kappa) {       \
        return row_max_body<T>(c, beta, m, kappa);                                               \
    }                                                                                            \
    PARTITA_MULTIVERSION static void col_accum(const T* c, index_t m, T alpha, T kappa,          \
                                               const T* shift, double* acc) {                    \
        col_accum_body<T>(c, m, alpha, kappa, shift, acc);                                       \
    }                                                                                            \
    PARTITA_MULTIVERSION static void col_max(const T* c, index_t m, T alpha, T kappa, T* mx) {   \
        col_max_body<T>(c, m, alpha, kappa, mx);                                                 \
    }                                                                                            \
    PARTITA_MULTIVERSION static void plan_row(const T* c, const double* beta, index_t m,         \
                                              double alpha, double kappa, T* out) {              \
        plan_row_body<T>(c, beta, m, alpha, kappa, out);                                         \
    }                                                                                            \
    PARTITA_MULTIVERSION static double row_dot(const T* k, const T* v, index_t m) {              \
        return row_dot_body<T>(k, v, m);                                                         \
    }                                                                                            \
    PARTITA_MULTIVERSION static void scale_accumulate(double w, T* e, index_t m, double* acc) {  \
        scale_accumulate_body<T>(w, e, m, acc);                                                  \
    }
PARTITA_SINKHORN_KERNELS(double)
PARTITA_SINKHORN_KERNELS(float)
#undef PARTITA_SINKHORN_KERNELS

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
    static constexpr double log_tau = std::is_same_v<T, double> ? 230.25850929940458 : 34.538776394910684;
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

// Rows per work item: about 256 K cost entries, fixed by m alone (never by the thread count).
inline index_t rows_per_chunk(index_t m) {
    return std::max<index_t>(8, std::min<index_t>(1024, 262144 / std::max<index_t>(m, 1)));
}

template <class T>
struct Problem {
    const T* C = nullptr;  // B x n x m
    index_t B = 0, n = 0, m = 0;
    const double* log_a = nullptr;  // B x n (LOG_ZERO for a zero weight)
    const double* log_b = nullptr;  // B x m
    bool vrow = false, vcol = false;
    const double* log_av = nullptr;  // B: log mass of the virtual row (when vrow)
    const double* log_bv = nullptr;  // B: log mass of the virtual column (when vcol)
    double eps = 1.0;
    double phi_a = 1.0, phi_b = 1.0;  // real rows / real columns; virtual points are hard
};

// Potentials (in: warm start, out: solution) and per-problem reports.
struct State {
    double* f = nullptr;   // B x n
    double* g = nullptr;   // B x m
    double* fv = nullptr;  // B (virtual row potential; used when vrow)
    double* gv = nullptr;  // B (virtual column potential; used when vcol)
    std::int64_t* n_iter = nullptr;
    double* err = nullptr;
    std::uint8_t* converged = nullptr;
    std::int64_t* n_log_sweeps = nullptr;  // sweeps that evaluated exp per entry (optional)
};

// Runs at most max_iter iterations (>= 1) on every problem; each stops on its own at err < tol.
//
// Column sums from the row pass: with the row terms e_ij = exp(beta_j - C_ij kappa - s_i)
// (beta_j = log b_j + g_j / eps, s_i the row's shift) kept in L1, the next g-update's terms are
// exp(alpha_i - C_ij kappa) = e_ij exp(alpha_i + s_i) exp(-beta_j), alpha_i = log a_i + f_i / eps
// (new f). So LSE_j = log(sum_i c_i e_ij) - beta_j with c_i = exp(alpha_i + s_i): one exp per
// entry per iteration and one multiply-add. When some c_i is far from 1 (|log c_i| > 300, a large
// change of f) or a sum is out of range, that problem's column LSEs are recomputed exactly (two
// passes, column maxima as shifts).
//
// Stabilised scaling (`kernel` not null and `absorb`; Schmitzer's absorption): c_i e_ij is the
// entry K_ij = exp(kA_i + kB_j - C_ij kappa) of the Gibbs kernel with the potentials absorbed
// (kA = alpha with the new f, kB = beta), so the log sweep stores it in `kernel` at the price of
// a store. The following iterations are multiplications by the scalings v_j = exp(beta_j - kB_j)
// and u_i = exp(alpha_i - kA_i) only: row i's LSE is log(sum_j K_ij v_j) - kA_i and its share of
// the column sums is u_i K_ij, one read of K and no exp per entry. A problem goes back to a log
// sweep (which absorbs the scalings into a fresh K) when a scaling leaves [1/tau, tau] or a sum
// is no longer trusted (Stabilised); a failed stabilised sweep is redone in the log domain. A
// kernel that served fewer than two sweeps was not worth its store: the next 1, 3, 7, ... (at
// most 31) log sweeps of that problem do not store one. Problems with a zero marginal weight
// always stay in the log domain.
//
// With `write_plan`, `kernel` receives the plans at the end, from the final potentials.
template <class T>
void solve(const Problem<T>& pb, State& st, index_t max_iter, double tol, T* kernel, bool absorb,
           bool write_plan, int n_threads, InterruptCheck& interrupt) {
    require(max_iter >= 1, "max_iter must be >= 1");
    require(pb.eps > 0, "eps must be positive");
    require(kernel != nullptr || (!absorb && !write_plan), "absorb / write_plan need a buffer");
    const index_t B = pb.B, n = pb.n, m = pb.m;
    const index_t R = rows_per_chunk(m), nch = (n + R - 1) / R;
    const double eps = pb.eps, inv_eps = 1.0 / eps;
    const T kappa = T(inv_eps);
    const double phi_a = pb.phi_a, phi_b = pb.phi_b;
    const bool relaxed = phi_a < 1.0 || phi_b < 1.0;
    const int threads = std::max(1, n_threads);
    constexpr double LOG_TAU = detail::Stabilised<T>::log_tau;

    std::vector<T> alpha(std::size_t(B) * n), beta(std::size_t(B) * m), cshift(std::size_t(B) * m);
    std::vector<double> partial(std::size_t(B) * nch * m), lse_col(std::size_t(B) * m);
    std::vector<double> dmax(std::size_t(B) * nch, 0.0), cmax(std::size_t(B) * nch, 0.0);
    std::vector<std::uint8_t> item_bad(std::size_t(B) * nch, 0), done(B, 0), bad(B, 0);
    std::vector<std::uint8_t> item_kernel_bad(std::size_t(B) * nch, 0);
    std::vector<double> dg(B, 0.0), gnew(std::size_t(B) * m);
    // kB: beta of the last log sweep (the column sums' reference); kA: its alpha. Stabilised
    // scaling state: has_kernel (K of the problem is current), can_absorb, the scalings v.
    std::vector<double> kA(std::size_t(B) * n), kB(std::size_t(B) * m);
    std::vector<std::uint8_t> has_kernel(B, 0), can_absorb(B, 0), store_now(B, 0);
    std::vector<T> vscale(absorb ? std::size_t(B) * m : 0);
    std::vector<double> vmax(B, 0.0), f_prev(absorb ? std::size_t(B) * n : 0);
    std::vector<double> kernel_c(B, 1.0);  // max(1, max_i c_i) of the stored kernel
    // Backoff: log sweeps left without a store, current backoff, sweeps served by the kernel.
    std::vector<index_t> hold(B, 0), backoff(B, 0), kernel_uses(B, 0);
    auto drop_kernel = [&](index_t b) {
        if (kernel_uses[b] < 2) {
            backoff[b] = std::min<index_t>(2 * backoff[b] + 1, 31);
            hold[b] = backoff[b];
        } else {
            backoff[b] = 0;
        }
        has_kernel[b] = 0;
    };
    std::vector<index_t> act;

    auto A = [&](index_t b, index_t i) { return pb.log_a[b * n + i] + st.f[b * n + i] * inv_eps; };
    auto vrow_term = [&](index_t b) { return pb.log_av[b] + st.fv[b] * inv_eps; };
    auto logaddexp = [](double x, double y) {
        const double mx = std::max(x, y);
        if (!(mx > LOG_ZERO / 2)) return mx;
        return mx + std::log(std::exp(x - mx) + std::exp(y - mx));
    };

    // Exact column LSEs of alpha_i - C_ij kappa (+ the virtual row) for the listed problems:
    // column maxima, then shifted sums.
    auto exact_columns = [&](const std::vector<index_t>& list) {
        if (list.empty()) return;
        const index_t cnt = index_t(list.size());
        std::vector<T> cm(std::size_t(cnt) * nch * m);
        parallel_units(cnt * nch, threads, interrupt, [&](index_t it) {
            const index_t q = it / nch, ch = it % nch, b = list[q];
            T* mx = cm.data() + (q * nch + ch) * m;
            std::fill(mx, mx + m, -std::numeric_limits<T>::infinity());
            const index_t r0 = ch * R, r1 = std::min(n, r0 + R);
            for (index_t i = r0; i < r1; ++i)
                detail::col_max(pb.C + (b * n + i) * m, m, alpha[b * n + i], kappa, mx);
        });
        for (index_t q = 0; q < cnt; ++q) {
            T* sh = cshift.data() + list[q] * m;
            for (index_t j = 0; j < m; ++j) {
                T mx = cm[(q * nch) * m + j];
                for (index_t ch = 1; ch < nch; ++ch) mx = std::max(mx, cm[(q * nch + ch) * m + j]);
                sh[j] = mx;
            }
        }
        parallel_units(cnt * nch, threads, interrupt, [&](index_t it) {
            const index_t b = list[it / nch], ch = it % nch;
            double* acc = partial.data() + (b * nch + ch) * m;
            std::fill(acc, acc + m, 0.0);
            const index_t r0 = ch * R, r1 = std::min(n, r0 + R);
            for (index_t i = r0; i < r1; ++i)
                detail::col_accum(pb.C + (b * n + i) * m, m, alpha[b * n + i], kappa,
                                  cshift.data() + b * m, acc);
        });
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && cnt > 1)
        for (index_t q = 0; q < cnt; ++q) {
            const index_t b = list[q];
            const T* sh = cshift.data() + b * m;
            double* L = lse_col.data() + b * m;
            for (index_t j = 0; j < m; ++j) {
                double s = 0.0;
                for (index_t ch = 0; ch < nch; ++ch) s += partial[(b * nch + ch) * m + j];
                L[j] = double(sh[j]) + std::log(s);
                if (pb.vrow) L[j] = logaddexp(L[j], vrow_term(b));
            }
        }
    };

    // Column LSEs from the sums of the sweep (log sum - kB); problems where they are not
    // trustworthy are recomputed exactly.
    auto sweep_columns = [&](const std::vector<index_t>& list) {
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && list.size() > 1)
        for (index_t q = 0; q < index_t(list.size()); ++q) {
            const index_t b = list[q];
            bool ok = true;
            double cm = 0.0;
            for (index_t ch = 0; ch < nch; ++ch) {
                ok = ok && !item_bad[b * nch + ch];
                cm = std::max(cm, cmax[b * nch + ch]);
            }
            double* L = lse_col.data() + b * m;
            const double* ref = kB.data() + b * m;
            for (index_t j = 0; ok && j < m; ++j) {
                double s = 0.0;
                for (index_t ch = 0; ch < nch; ++ch) s += partial[(b * nch + ch) * m + j];
                if (!detail::trusted<T>(s, cm)) {
                    ok = false;
                    break;
                }
                L[j] = std::log(s) - ref[j];
                if (pb.vrow) L[j] = logaddexp(L[j], vrow_term(b));
            }
            bad[b] = !ok;
        }
        std::vector<index_t> redo;
        for (index_t b : list)
            if (bad[b]) redo.push_back(b);
        exact_columns(redo);
    };

    // Log sweep of rows [r0, r1) of problem b: f-update of every row (one exp per entry, kept in
    // L1; in the stored kernel when the problem absorbs), then the row's share of the next
    // column sums.
    auto log_item = [&](index_t b, index_t ch, std::vector<T>& e) {
        double* acc = partial.data() + (b * nch + ch) * m;
        std::fill(acc, acc + m, 0.0);
        const T* bt = beta.data() + b * m;
        const bool store_kernel = store_now[b];
        const double vcol_term = pb.vcol ? pb.log_bv[b] + st.gv[b] * inv_eps : 0.0;
        const index_t r0 = ch * R, r1 = std::min(n, r0 + R);
        double d = 0.0, cm = 0.0;
        bool item_ok = true, kernel_ok = true;
        for (index_t i = r0; i < r1; ++i) {
            const T* c = pb.C + (b * n + i) * m;
            T* row = store_kernel ? kernel + (b * n + i) * m : e.data();
            double& fi = st.f[b * n + i];
            T shift = T(-fi / (phi_a * eps));
            double s = detail::row_exp(c, bt, m, kappa, shift, row);
            if (pb.vcol) s += std::exp(vcol_term - double(shift));
            if (!detail::in_range<T>(s)) {
                shift = detail::row_max(c, bt, m, kappa);
                if (pb.vcol) shift = std::max(shift, T(vcol_term));
                s = detail::row_exp(c, bt, m, kappa, shift, row);
                if (pb.vcol) s += std::exp(vcol_term - double(shift));
            }
            const double fn = -phi_a * eps * (double(shift) + std::log(s));
            d = std::max(d, std::fabs(fn - fi));
            fi = fn;
            const double la = pb.log_a[b * n + i];
            const double al = la + fn * inv_eps;
            alpha[b * n + i] = T(al);
            kA[b * n + i] = al;
            if (la <= LOG_ZERO / 2) continue;  // a zero-weight row adds nothing
            const double lc = al + double(shift);
            if (!(std::fabs(lc) <= 300.0)) {
                item_ok = false;
                continue;
            }
            const double ci = std::exp(lc);
            cm = std::max(cm, ci);
            kernel_ok = kernel_ok && lc <= detail::Stabilised<T>::log_c_max;
            if (store_kernel) detail::scale_accumulate(ci, row, m, acc);
            else detail::axpy(ci, row, m, acc);
        }
        dmax[b * nch + ch] = d;
        cmax[b * nch + ch] = cm;
        item_bad[b * nch + ch] = !item_ok;
        item_kernel_bad[b * nch + ch] = !(item_ok && kernel_ok);
    };

    // Stabilised sweep of rows [r0, r1) of problem b from its stored kernel; false when a row
    // sum or a scaling left its range (the problem is then redone by a log sweep).
    auto scaled_item = [&](index_t b, index_t ch) {
        double* acc = partial.data() + (b * nch + ch) * m;
        std::fill(acc, acc + m, 0.0);
        const T* v = vscale.data() + b * m;
        const double vcol_term = pb.vcol ? pb.log_bv[b] + st.gv[b] * inv_eps : 0.0;
        const index_t r0 = ch * R, r1 = std::min(n, r0 + R);
        double d = 0.0, cm = 0.0;
        for (index_t i = r0; i < r1; ++i) {
            const T* k = kernel + (b * n + i) * m;
            const double s = detail::row_dot(k, v, m);
            double lse = std::log(s) - kA[b * n + i];
            // The virtual column (scaled units: exp(vcol_term + kA_i)) counts in the total.
            const double total = pb.vcol ? s + std::exp(std::min(vcol_term + kA[b * n + i], 700.0)) : s;
            if (!detail::trusted<T>(total, vmax[b] * kernel_c[b])) return false;
            if (pb.vcol) lse = logaddexp(lse, vcol_term);
            const double fn = -phi_a * eps * lse;
            double& fi = st.f[b * n + i];
            d = std::max(d, std::fabs(fn - fi));
            fi = fn;
            const double al = pb.log_a[b * n + i] + fn * inv_eps;
            alpha[b * n + i] = T(al);
            const double lu = al - kA[b * n + i];
            if (!(std::fabs(lu) <= LOG_TAU)) return false;
            const double ui = std::exp(lu);
            cm = std::max(cm, ui);
            detail::axpy(ui, k, m, acc);
        }
        dmax[b * nch + ch] = d;
        cmax[b * nch + ch] = cm * kernel_c[b];  // the column sums' weight (Stabilised)
        item_bad[b * nch + ch] = 0;
        return true;
    };

    // Before a log sweep of problem b: whether it stores a kernel.
    auto start_log_sweep = [&](index_t b) {
        store_now[b] = can_absorb[b] && hold[b] == 0;
        if (hold[b] > 0) --hold[b];
        if (st.n_log_sweeps) ++st.n_log_sweeps[b];
    };
    // After it: kB is its beta, and its kernel is current where stored.
    auto finish_log_sweep = [&](index_t b) {
        std::copy(beta.begin() + b * m, beta.begin() + (b + 1) * m, kB.begin() + b * m);
        kernel_uses[b] = 0;
        if (!store_now[b]) return;
        bool ok = true;
        double kc = 1.0;
        for (index_t ch = 0; ch < nch; ++ch) {
            ok = ok && !item_kernel_bad[b * nch + ch];
            kc = std::max(kc, cmax[b * nch + ch]);
        }
        kernel_c[b] = kc;
        has_kernel[b] = 1;
        if (!ok) drop_kernel(b);  // the store was wasted
    };

    act.clear();
    for (index_t b = 0; b < B; ++b) {
        act.push_back(b);
        st.n_iter[b] = 0;
        st.err[b] = std::numeric_limits<double>::infinity();
        st.converged[b] = 0;
        bool positive = true;
        for (index_t i = 0; i < n; ++i) {
            alpha[b * n + i] = T(A(b, i));
            positive = positive && pb.log_a[b * n + i] > LOG_ZERO / 2;
        }
        for (index_t j = 0; j < m; ++j) positive = positive && pb.log_b[b * m + j] > LOG_ZERO / 2;
        can_absorb[b] = absorb && positive;
        if (st.n_log_sweeps) st.n_log_sweeps[b] = 0;
    }
    exact_columns(act);  // the column LSEs of the warm-start f

    for (index_t iter = 1; iter <= max_iter && !act.empty(); ++iter) {
        interrupt();
        // g-update (O(m) per problem from the column LSEs), its check, the virtual points, and
        // the scalings v of a stored kernel (absorbed when out of range).
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && act.size() > 1)
        for (index_t q = 0; q < index_t(act.size()); ++q) {
            const index_t b = act[q];
            double* g = st.g + b * m;
            double* gn = gnew.data() + b * m;
            const double* L = lse_col.data() + b * m;
            for (index_t j = 0; j < m; ++j) gn[j] = -phi_b * eps * L[j];
            double gv_new = 0.0;
            if (pb.vcol) gv_new = -eps * detail::lse(n, [&](index_t i) { return A(b, i); });
            if (!relaxed && iter >= 2) {
                double err = 0.0;
                for (index_t j = 0; j < m; ++j)
                    err += std::exp(pb.log_b[b * m + j]) * std::fabs(std::expm1((g[j] - gn[j]) * inv_eps));
                if (pb.vcol)
                    err += std::exp(pb.log_bv[b]) * std::fabs(std::expm1((st.gv[b] - gv_new) * inv_eps));
                st.err[b] = err;
                if (err < tol) {
                    st.converged[b] = 1;
                    st.n_iter[b] = iter - 1;
                    done[b] = 1;
                    continue;
                }
            }
            double d = 0.0;
            for (index_t j = 0; j < m; ++j) d = std::max(d, std::fabs(gn[j] - g[j]));
            std::copy(gn, gn + m, g);
            if (pb.vcol) {
                d = std::max(d, std::fabs(gv_new - st.gv[b]));
                st.gv[b] = gv_new;
            }
            if (pb.vrow) {
                const double fv_new =
                    -eps * detail::lse(m, [&](index_t j) { return pb.log_b[b * m + j] + g[j] * inv_eps; });
                d = std::max(d, std::fabs(fv_new - st.fv[b]));
                st.fv[b] = fv_new;
            }
            dg[b] = d;
            for (index_t j = 0; j < m; ++j) beta[b * m + j] = T(pb.log_b[b * m + j] + g[j] * inv_eps);
            if (has_kernel[b]) {
                double vm = 0.0;
                bool ok = true;
                for (index_t j = 0; j < m && ok; ++j) {
                    const double lv = double(beta[b * m + j]) - kB[b * m + j];
                    ok = std::fabs(lv) <= LOG_TAU;
                    vscale[b * m + j] = T(std::exp(lv));
                    vm = std::max(vm, double(vscale[b * m + j]));
                }
                vmax[b] = vm;
                if (!ok) drop_kernel(b);  // absorb: this sweep is a log sweep
            }
        }
        {
            std::vector<index_t> still;
            for (index_t b : act)
                if (!done[b]) still.push_back(b);
            act.swap(still);
        }
        if (act.empty()) break;

        // The sweep: stabilised problems from their kernels, the others in the log domain.
        std::vector<index_t> scaled, logd;
        for (index_t b : act) (has_kernel[b] ? scaled : logd).push_back(b);
        for (index_t b : scaled) std::copy(st.f + b * n, st.f + (b + 1) * n, f_prev.begin() + b * n);
        for (index_t b : logd) start_log_sweep(b);
        std::vector<std::uint8_t> item_ok(scaled.size() * nch, 1);
        parallel_units(
            index_t(logd.size() + scaled.size()) * nch, threads, interrupt,
            [&] { return std::vector<T>(std::size_t(m)); },
            [&](index_t it, std::vector<T>& e) {
                const index_t q = it / nch, ch = it % nch;
                if (q < index_t(logd.size())) log_item(logd[q], ch, e);
                else item_ok[(q - logd.size()) * nch + ch] = scaled_item(scaled[q - logd.size()], ch);
            });
        // Failed stabilised problems are redone in the log domain from their previous f.
        for (index_t b : logd) finish_log_sweep(b);
        std::vector<index_t> redo;
        for (std::size_t q = 0; q < scaled.size(); ++q) {
            const index_t b = scaled[q];
            bool ok = true;
            for (index_t ch = 0; ok && ch < nch; ++ch) ok = item_ok[q * nch + ch];
            if (ok) {
                ++kernel_uses[b];
                continue;
            }
            std::copy(f_prev.begin() + b * n, f_prev.begin() + (b + 1) * n, st.f + b * n);
            drop_kernel(b);
            start_log_sweep(b);
            redo.push_back(b);
        }
        if (!redo.empty()) {
            parallel_units(
                index_t(redo.size()) * nch, threads, interrupt,
                [&] { return std::vector<T>(std::size_t(m)); },
                [&](index_t it, std::vector<T>& e) { log_item(redo[it / nch], it % nch, e); });
            for (index_t b : redo) finish_log_sweep(b);
        }
        sweep_columns(act);

        for (index_t b : act) {
            st.n_iter[b] = iter;
            if (relaxed) {
                double d = dg[b];
                for (index_t ch = 0; ch < nch; ++ch) d = std::max(d, dmax[b * nch + ch]);
                st.err[b] = d * inv_eps;
                if (st.err[b] < tol) {
                    st.converged[b] = 1;
                    done[b] = 1;
                }
            }
        }
        std::vector<index_t> still;
        for (index_t b : act)
            if (!done[b]) still.push_back(b);
        act.swap(still);
    }

    // Balanced problems that ran out of iterations: their column violation, from the column
    // LSEs of the last sweep (no update).
    if (!relaxed) {
        for (index_t b : act) {
            const double* L = lse_col.data() + b * m;
            const double* g = st.g + b * m;
            double err = 0.0;
            for (index_t j = 0; j < m; ++j)
                err += std::exp(pb.log_b[b * m + j]) * std::fabs(std::expm1((g[j] + eps * L[j]) * inv_eps));
            if (pb.vcol) {
                const double gv_new = -eps * detail::lse(n, [&](index_t i) { return A(b, i); });
                err += std::exp(pb.log_bv[b]) * std::fabs(std::expm1((st.gv[b] - gv_new) * inv_eps));
            }
            st.err[b] = err;
            st.converged[b] = err < tol;
        }
    }

    if (!write_plan) return;
    // The plans: u_i K_ij v_j in place where the kernel is stored and the scalings are in range,
    // exp((alpha_i + beta_j) - C_ij kappa) otherwise.
    // The plans from the final potentials, exp((alpha_i + beta_j) - C_ij kappa): not u K v,
    // whose entries that underflowed when K was stored would stay 0 where u v lifts them into
    // range (the iterates are protected by the trusted-sum checks; single tiny entries of the
    // plan are not).
    std::vector<double> al(std::size_t(B) * n), bt(std::size_t(B) * m);
    for (index_t b = 0; b < B; ++b) {
        for (index_t i = 0; i < n; ++i) al[b * n + i] = pb.log_a[b * n + i] + st.f[b * n + i] * inv_eps;
        for (index_t j = 0; j < m; ++j) bt[b * m + j] = pb.log_b[b * m + j] + st.g[b * m + j] * inv_eps;
    }
    parallel_units(B * nch, threads, interrupt, [&](index_t it) {
        const index_t b = it / nch, ch = it % nch;
        const index_t r0 = ch * R, r1 = std::min(n, r0 + R);
        for (index_t i = r0; i < r1; ++i)
            detail::plan_row(pb.C + (b * n + i) * m, bt.data() + b * m, m, al[b * n + i], inv_eps,
                             kernel + (b * n + i) * m);
    });
}

}  // namespace partita::sinkhorn

namespace partita::sinkhorn {

// ---- Newton's method on the semi-dual, for few columns (the clustering assignment) -----------
//
// With hard rows, f is a function of g: f_i = -eps Z_i, Z_i = LSE_j(log b_j + (g_j - C_ij) / eps),
// and the plan is P_ij = a_i pi_ij with pi_i = softmax_j(log b_j + (g_j - C_ij) / eps). The
// semi-dual J(g) = <a, f(g)> + sum_hard b_j g_j - sum_relaxed rho b_j (exp(-g_j / rho) - 1) is
// concave with gradient b_j - m_j (hard) or b_j exp(-g_j / rho) - m_j (relaxed), m = P^T 1, and
// Hessian -A, A = (diag(m) - sum_i a_i pi_i pi_i^T) / eps (+ diag(b_j exp(-g_j / rho) / rho)).
// Its maximiser is the fixed point of Sinkhorn's iterations (the same plan), but Newton's steps
// converge quadratically however weakly the kernel couples the columns: well-separated
// clusters, where Sinkhorn needs millions of iterations, take about ten steps. One step costs
// one pass over C (O(n K^2) for A) and a K x K Cholesky solve, so it is meant for K <= ~64.
//
// An optional virtual column (cost 0 to every row, hard, log mass log_bv) is column K - 1 of the
// unknowns. Rows are processed in fixed chunks and their sums reduced in order: the result does
// not depend on the thread count. Stops when err = ||gradient||_1 (the L1 violation of the column
// conditions) < tol, or after max_iter steps.

struct NewtonReport {
    index_t n_iter = 0;
    double err = 0.0;
    bool converged = false;
};

namespace detail {

// Cholesky solve of the SPD K x K matrix M (row-major, overwritten) with right-hand side x
// (overwritten by the solution). False when M is not numerically positive definite.
inline bool cholesky_solve(std::vector<double>& M, std::vector<double>& x, index_t K) {
    for (index_t j = 0; j < K; ++j) {
        double d = M[j * K + j];
        for (index_t p = 0; p < j; ++p) d -= M[j * K + p] * M[j * K + p];
        if (!(d > 0.0)) return false;
        d = std::sqrt(d);
        M[j * K + j] = d;
        for (index_t i = j + 1; i < K; ++i) {
            double s = M[i * K + j];
            for (index_t p = 0; p < j; ++p) s -= M[i * K + p] * M[j * K + p];
            M[i * K + j] = s / d;
        }
    }
    for (index_t i = 0; i < K; ++i) {
        double s = x[i];
        for (index_t p = 0; p < i; ++p) s -= M[i * K + p] * x[p];
        x[i] = s / M[i * K + i];
    }
    for (index_t i = K - 1; i >= 0; --i) {
        double s = x[i];
        for (index_t p = i + 1; p < K; ++p) s -= M[p * K + i] * x[p];
        x[i] = s / M[i * K + i];
    }
    return true;
}

}  // namespace detail

// C: n x k costs (row-major); a: n row weights (>= 0); log_b: k column log-masses (> LOG_ZERO);
// vcol / log_bv: a virtual column; rho: relaxation of the real columns (inf: hard); g: k (+1 for
// the virtual column) potentials, in: start, out: solution. f (n) and, when not null, plan
// (n x k, the real columns) are written for the final g.
//
// Globalisation: a Levenberg-Marquardt step solves (A + lambda D) s = grad with D_j =
// max(A_jj, b_j / eps), the curvature column j has at the optimum (m_j = b_j), so that a column
// with a tiny mass is not over-damped. It is accepted when J rises enough (Armijo), or when J did
// not measurably fall (below the rounding of its terms) and the violation did; lambda then falls
// tenfold. Otherwise lambda rises tenfold and the iteration takes Sinkhorn's g-update instead,
// which never lowers J: gross imbalances (far warm starts, columns without mass, a few rows at a
// tiny eps) are what Sinkhorn's first iterations fix well, and its slow tail is what Newton's
// steps fix. So every iteration costs one or two passes and is never worse than Sinkhorn's. The
// first iterations are Sinkhorn's for as long as each halves the violation.
inline NewtonReport semidual_newton(const double* C, index_t n, index_t k, const double* a,
                                    const double* log_b, bool vcol, double log_bv, double eps,
                                    double rho, double* g, double* f, double* plan,
                                    index_t max_iter, double tol, int n_threads,
                                    InterruptCheck& interrupt) {
    require(eps > 0, "eps must be positive");
    require(k >= 1, "need at least one column");
    const index_t K = k + (vcol ? 1 : 0);
    const bool relaxed = !std::isinf(rho);
    const index_t R = 1024, nch = (n + R - 1) / R;
    const double inv_eps = 1.0 / eps;
    std::vector<double> lb(K);
    for (index_t j = 0; j < k; ++j) lb[j] = log_b[j];
    if (vcol) lb[k] = log_bv;
    double total_a = 0.0;
    for (index_t i = 0; i < n; ++i) total_a += a[i];
    // A relaxed column's optimum has b_j exp(-g_j / rho) = m_j <= sum a: g_j below that bound is
    // never optimal (and a far warm start there overflows the exp), so it is raised to it.
    if (relaxed && total_a > 0)
        for (index_t j = 0; j < k; ++j) g[j] = std::max(g[j], rho * (lb[j] - std::log(total_a)));

    // Per chunk: J part, the sum of |J's terms|, m (K), the upper triangle of sum a pi pi^T.
    const std::size_t stride = 2 + K + std::size_t(K) * K;
    std::vector<double> parts(std::size_t(nch) * stride);
    // Of the last evaluation: J, the size of its terms, m, H, the gradient.
    double J_last = 0.0, J_size = 0.0;
    std::vector<double> m(K), H(std::size_t(K) * K), grad(K);

    // One pass at potentials h: J, m, H (and f, plan when asked); returns ||grad||_1.
    auto evaluate = [&](const double* h, bool want_hessian, double* f_out, double* plan_out) {
        parallel_units(nch, n_threads, interrupt, [&](index_t ch) {
            double* part = parts.data() + ch * stride;
            std::fill(part, part + stride, 0.0);
            std::vector<double> L(K), pi(K);
            const index_t r0 = ch * R, r1 = std::min(n, r0 + R);
            for (index_t i = r0; i < r1; ++i) {
                double mx = -std::numeric_limits<double>::infinity();
                for (index_t j = 0; j < K; ++j) {
                    const double c = j < k ? C[i * k + j] : 0.0;
                    L[j] = lb[j] + (h[j] - c) * inv_eps;
                    mx = std::max(mx, L[j]);
                }
                double s = 0.0;
                for (index_t j = 0; j < K; ++j) s += (pi[j] = std::exp(L[j] - mx));
                const double Z = mx + std::log(s), inv_s = 1.0 / s;
                for (index_t j = 0; j < K; ++j) pi[j] *= inv_s;
                if (f_out) f_out[i] = -eps * Z;
                if (plan_out)
                    for (index_t j = 0; j < k; ++j) plan_out[i * k + j] = a[i] * pi[j];
                const double ai = a[i];
                if (ai == 0.0) continue;
                part[0] += ai * (-eps * Z);
                part[1] += ai * std::fabs(eps * Z);
                for (index_t j = 0; j < K; ++j) part[2 + j] += ai * pi[j];
                if (!want_hessian) continue;
                double* hp = part + 2 + K;
                for (index_t j = 0; j < K; ++j) {
                    const double w = ai * pi[j];
                    for (index_t l = j; l < K; ++l) hp[j * K + l] += w * pi[l];
                }
            }
        });
        std::fill(m.begin(), m.end(), 0.0);
        std::fill(H.begin(), H.end(), 0.0);
        double J = 0.0, size = 0.0;
        for (index_t ch = 0; ch < nch; ++ch) {
            const double* part = parts.data() + ch * stride;
            J += part[0];
            size += part[1];
            for (index_t j = 0; j < K; ++j) m[j] += part[2 + j];
            if (want_hessian)
                for (std::size_t q = 0; q < std::size_t(K) * K; ++q) H[q] += part[2 + K + q];
        }
        // The column terms of J and the gradient.
        double err = 0.0;
        for (index_t j = 0; j < K; ++j) {
            const double bj = std::exp(lb[j]);
            if (relaxed && j < k) {
                const double e = bj * std::exp(-h[j] / rho);
                J -= rho * (e - bj);
                size += rho * (e + bj);
                grad[j] = e - m[j];
            } else {
                J += bj * h[j];
                size += std::fabs(bj * h[j]);
                grad[j] = bj - m[j];
            }
            err += std::fabs(grad[j]);
        }
        J_last = J;
        J_size = size;
        return err;
    };

    NewtonReport rep;
    std::vector<double> trial(K), step(K), M(std::size_t(K) * K), D(K), Md;
    double lambda = 0.0;
    bool sinkhorn_phase = true;
    double err = evaluate(g, true, nullptr, nullptr);
    double J = J_last, size = J_size;
    while (!(err < tol) && rep.n_iter < max_iter) {
        interrupt();
        // A = (diag(m) - H) / eps (+ relaxed diagonal); all-hard columns: + c 11^T removes the
        // null direction (shifting every g_j), which the gradient is orthogonal to.
        double trace = 0.0;
        for (index_t j = 0; j < K; ++j) {
            for (index_t l = j; l < K; ++l) {
                double v = ((j == l ? m[j] : 0.0) - H[j * K + l]) * inv_eps;
                if (j == l && relaxed && j < k) v += std::exp(lb[j] - g[j] / rho) / rho;
                M[j * K + l] = M[l * K + j] = v;
            }
            trace += M[j * K + j];
            D[j] = std::max(M[j * K + j], std::exp(lb[j]) * inv_eps);
        }
        if (!relaxed)
            for (std::size_t q = 0; q < std::size_t(K) * K; ++q) M[q] += trace / (double(K) * K);
        const std::vector<double> m_now = m, grad_now = grad;
        auto try_step = [&](bool armijo_or_flat) {
            double slope = 0.0;
            for (index_t j = 0; j < K; ++j) {
                slope += grad_now[j] * step[j];
                trial[j] = g[j] + step[j];
            }
            const double err_t = evaluate(trial.data(), true, nullptr, nullptr);
            const double noise = 1e-12 * (size + J_size);
            const bool ok = std::isfinite(J_last) && std::isfinite(err_t) &&
                            (armijo_or_flat ? (J_last >= J + 1e-4 * slope ||
                                               (J_last >= J - noise && err_t < err))
                                            : J_last >= J - noise);
            if (ok) {
                std::copy(trial.begin(), trial.end(), g);
                err = err_t;
                J = J_last;
                size = J_size;
            }
            return ok;
        };
        // Sinkhorn's g-update (2. below), from the column masses.
        auto sinkhorn_step = [&] {
            for (index_t j = 0; j < K; ++j) {
                const double ratio = std::min(lb[j] - std::log(m_now[j]), 700.0);
                if (relaxed && j < k) {
                    const double phi = rho / (rho + eps);
                    step[j] = phi * (g[j] + eps * ratio) - g[j];
                } else {
                    step[j] = eps * ratio;
                }
            }
            for (int halving = 0; halving < 30; ++halving) {
                if (try_step(false)) return true;
                for (index_t j = 0; j < K; ++j) step[j] *= 0.5;
            }
            return false;
        };
        // 0. While Sinkhorn's steps at least halve the violation, take them.
        if (sinkhorn_phase) {
            const double before = err;
            if (!sinkhorn_step()) break;
            sinkhorn_phase = err < 0.5 * before;
            ++rep.n_iter;
            continue;
        }
        // 1. The damped Newton step.
        Md = M;
        for (index_t j = 0; j < K; ++j) Md[j * K + j] += (1e-14 + lambda) * D[j];
        step = grad_now;
        if (detail::cholesky_solve(Md, step, K) && try_step(true)) {
            lambda = lambda < 1e-12 ? 0.0 : lambda / 10.0;
            ++rep.n_iter;
            continue;
        }
        lambda = std::min(lambda == 0.0 ? 1e-6 : 10.0 * lambda, 1e20);
        // 2. Rejected: Sinkhorn's g-update instead, an ascent step of J (g maximises the dual
        // for the f of the current g): g_j + eps log(b_j / m_j), times phi = rho / (rho + eps)
        // for a relaxed column. Halved while J falls (rounding, or a column whose mass
        // underflowed: its log ratio is capped).
        if (!sinkhorn_step()) break;  // no progress possible at this precision
        ++rep.n_iter;
    }
    rep.err = evaluate(g, false, f, plan);
    rep.converged = rep.err < tol;
    return rep;
}

}  // namespace partita::sinkhorn
