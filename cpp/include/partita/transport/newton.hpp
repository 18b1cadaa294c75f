// Newton's method on the semi-dual, for few columns (SinkhornKMeans' assignment step).
// Specification: (docs/algorithms.md, "Newton on the semi-dual").
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
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "partita/common.hpp"
#include "partita/simd.hpp"

namespace partita::transport {

struct NewtonParams {
    double eps = 1.0;
    double rho =
        std::numeric_limits<double>::infinity();  // relaxation of the real columns; inf: hard
    bool virtual_column = false;
    double log_bv = 0.0;  // log mass of the virtual column (when virtual_column)
    index_t max_iter = 100;
    double tol = 1e-9;
    bool want_plan = true;
    int n_threads = 0;  // 0: all cores (the bindings resolve it)
};

struct NewtonResult {
    std::vector<double> f;     // n: the row potentials of the final g
    std::vector<double> plan;  // n x k, the real columns (empty unless want_plan)
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
        // Column j below the diagonal. Each entry is a sequential sum over p; eight rows at a
        // time keep eight independent sums in flight (the same operations in the same order
        // per entry, so the same bits), instead of one chain waiting on each subtraction.
        const double* Mj = &M[j * K];
        index_t i = j + 1;
        for (; i + 8 <= K; i += 8) {
            const double* r = &M[i * K];
            double s[8];
            for (int q = 0; q < 8; ++q) s[q] = r[q * K + j];
            for (index_t p = 0; p < j; ++p) {
                const double mj = Mj[p];
                for (int q = 0; q < 8; ++q) s[q] -= r[q * K + p] * mj;
            }
            for (int q = 0; q < 8; ++q) M[(i + q) * K + j] = s[q] / d;
        }
        for (; i < K; ++i) {
            double s = M[i * K + j];
            for (index_t p = 0; p < j; ++p) s -= M[i * K + p] * Mj[p];
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

// The upper triangle of the Hessian's sum over rows q of W_qj P_ql (W = a_i pi_i, P = pi_i),
// added to H (K x K, row-major). Tiles of 8 x 8 entries above the diagonal stay in registers
// while all the rows stream by (one load and store per entry instead of one per entry and row);
// the tiles on the diagonal and the last K mod 8 columns go entry by entry. Every entry adds its
// terms in the order of q, each term W_qj * P_ql: the same bits as a row-by-row update.
// The tiles are 8 rows by one vector of columns (Bytes: 64 with AVX-512, 32 otherwise, where 8 x 8
// accumulators would not fit in the registers); entries are independent, so no bit changes.
template <int Bytes>
inline __attribute__((always_inline)) void hessian_rows_width(const double* __restrict P,
                                                              const double* __restrict W,
                                                              index_t rows, index_t K,
                                                              double* __restrict H) {
    using V = typename simd::VecN<double, Bytes>::type;
    constexpr index_t LW = simd::VecN<double, Bytes>::lanes;
    for (index_t j0 = 0; j0 < K; j0 += 8) {
        const index_t j1 = std::min(K, j0 + 8);
        for (index_t l0 = j0; l0 < K; l0 += LW) {
            const index_t l1 = std::min(K, l0 + LW);
            if (l0 >= j1 && l1 == l0 + LW && j1 == j0 + 8) {  // a full tile above the diagonal
                V acc[8];
                for (int jj = 0; jj < 8; ++jj) acc[jj] = simd::load<V>(H + (j0 + jj) * K + l0);
                for (index_t q = 0; q < rows; ++q) {
                    const V pl = simd::load<V>(P + q * K + l0);
                    const double* w = W + q * K + j0;
                    for (int jj = 0; jj < 8; ++jj) acc[jj] += w[jj] * pl;
                }
                for (int jj = 0; jj < 8; ++jj) simd::store(H + (j0 + jj) * K + l0, acc[jj]);
                continue;
            }
            for (index_t q = 0; q < rows; ++q)
                for (index_t j = j0; j < j1; ++j) {
                    const double w = W[q * K + j];
                    for (index_t l = std::max(j, l0); l < l1; ++l) H[j * K + l] += w * P[q * K + l];
                }
        }
    }
}
PARTITA_MULTIVERSION static void hessian_rows(const double* __restrict P,
                                              const double* __restrict W, index_t rows, index_t K,
                                              double* __restrict H) {
    if (simd::has_512bit_vectors()) hessian_rows_width<64>(P, W, rows, K, H);
    else hessian_rows_width<32>(P, W, rows, K, H);
}

// The rows [r0, r1) of one pass of SemidualNewton::evaluate into the chunk's sums `part`, with
// scratch L and pi (K each). Compiled per instruction set: the Hessian's updates vectorise over
// the columns, and every sum keeps its order (the same bits in every clone).
PARTITA_MULTIVERSION static void evaluate_rows(const double* C, const double* a, const double* lb,
                                               const double* h, index_t r0, index_t r1, index_t k,
                                               index_t K, double eps, double inv_eps,
                                               bool want_hessian, double* f_out, double* plan_out,
                                               double* __restrict part, double* __restrict L,
                                               double* __restrict pi, double* __restrict P,
                                               double* __restrict W) {
    index_t rows = 0;  // rows kept for the Hessian: their pi in P, their a_i pi in W
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
        for (index_t j = 0; j < K; ++j) P[rows * K + j] = pi[j], W[rows * K + j] = ai * pi[j];
        ++rows;
    }
    if (rows > 0) hessian_rows(P, W, rows, K, part + 2 + K);
}

}  // namespace detail

// C: n x k costs (row-major); a: n row weights (>= 0); log_b: k column log-masses (> LOG_ZERO);
// g: k (+1 for the virtual column) potentials, in: start, out: solution. The result's f (n) and
// plan (n x k, the real columns, when asked) are those of the final g.
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
class SemidualNewton {
public:
    SemidualNewton(const double* C, index_t n, index_t k, const double* a, const double* log_b,
                   const NewtonParams& params, int n_threads, InterruptCheck& interrupt)
        : C_(C),
          a_(a),
          n_(n),
          k_(k),
          K_(k + (params.virtual_column ? 1 : 0)),
          nch_((n + R - 1) / R),
          eps_(params.eps),
          rho_(params.rho),
          inv_eps_(1.0 / params.eps),
          relaxed_(!std::isinf(params.rho)),
          max_iter_(params.max_iter),
          tol_(params.tol),
          n_threads_(n_threads),
          interrupt_(interrupt),
          lb_(K_),
          stride_(2 + K_ + std::size_t(K_) * K_),
          parts_(std::size_t(nch_) * stride_),
          m_(K_),
          H_(std::size_t(K_) * K_),
          grad_(K_),
          trial_(K_),
          step_(K_),
          M_(std::size_t(K_) * K_),
          D_(K_) {
        require(params.eps > 0, "eps must be positive");
        require(k >= 1, "need at least one column");
        for (index_t j = 0; j < k; ++j) lb_[j] = log_b[j];
        if (params.virtual_column) lb_[k] = params.log_bv;
    }

    NewtonResult run(double* g, bool want_plan) {
        g_ = g;
        raise_relaxed_potentials();
        NewtonResult res;
        err_ = evaluate(g_, true, nullptr, nullptr);
        J_ = J_last_;
        size_ = J_size_;
        while (!(err_ < tol_) && res.n_iter < max_iter_) {
            interrupt_();
            build_system();
            // 0. While Sinkhorn's steps at least halve the violation, take them.
            if (sinkhorn_phase_) {
                const double before = err_;
                if (!sinkhorn_step()) break;
                sinkhorn_phase_ = err_ < 0.5 * before;
                ++res.n_iter;
                continue;
            }
            // 1. The damped Newton step.
            if (newton_step()) {
                lambda_ = lambda_ < 1e-12 ? 0.0 : lambda_ / 10.0;
                ++res.n_iter;
                continue;
            }
            lambda_ = std::min(lambda_ == 0.0 ? 1e-6 : 10.0 * lambda_, 1e20);
            // 2. Rejected: Sinkhorn's g-update instead, an ascent step of J (g maximises the dual
            // for the f of the current g): g_j + eps log(b_j / m_j), times phi = rho / (rho + eps)
            // for a relaxed column. Halved while J falls (rounding, or a column whose mass
            // underflowed: its log ratio is capped).
            if (!sinkhorn_step()) break;  // no progress possible at this precision
            ++res.n_iter;
        }
        res.f.resize(n_);
        if (want_plan) res.plan.resize(std::size_t(n_) * k_);
        res.err = evaluate(g_, false, res.f.data(), want_plan ? res.plan.data() : nullptr);
        res.converged = res.err < tol_;
        return res;
    }

private:
    static constexpr index_t R = 1024;  // rows per work item

    // A relaxed column's optimum has b_j exp(-g_j / rho) = m_j <= sum a: g_j below that bound is
    // never optimal (and a far warm start there overflows the exp), so it is raised to it.
    void raise_relaxed_potentials() {
        double total_a = 0.0;
        for (index_t i = 0; i < n_; ++i) total_a += a_[i];
        if (relaxed_ && total_a > 0)
            for (index_t j = 0; j < k_; ++j)
                g_[j] = std::max(g_[j], rho_ * (lb_[j] - std::log(total_a)));
    }

    // One pass at potentials h: J, m, H (and f, plan when asked); returns ||grad||_1.
    double evaluate(const double* h, bool want_hessian, double* f_out, double* plan_out) {
        const index_t n = n_, k = k_, K = K_;
        const double eps = eps_, inv_eps = inv_eps_;
        const double* C = C_;
        const double* a = a_;
        const std::vector<double>& lb = lb_;
        const std::size_t stride = stride_;
        parallel_units(nch_, n_threads_, interrupt_, [&](index_t ch) {
            double* part = parts_.data() + ch * stride;
            std::fill(part, part + stride, 0.0);
            std::vector<double> L(K), pi(K);
            const index_t r0 = ch * R, r1 = std::min(n, r0 + R);
            std::vector<double> P(want_hessian ? std::size_t(r1 - r0) * K : 0);
            std::vector<double> W(P.size());
            detail::evaluate_rows(C, a, lb.data(), h, r0, r1, k, K, eps, inv_eps, want_hessian,
                                  f_out, plan_out, part, L.data(), pi.data(), P.data(), W.data());
        });
        return reduce_chunks(h, want_hessian);
    }

    // The chunks' sums in order, then the column terms of J and the gradient; returns
    // ||grad||_1.
    double reduce_chunks(const double* h, bool want_hessian) {
        const index_t k = k_, K = K_;
        std::fill(m_.begin(), m_.end(), 0.0);
        std::fill(H_.begin(), H_.end(), 0.0);
        double J = 0.0, size = 0.0;
        for (index_t ch = 0; ch < nch_; ++ch) {
            const double* part = parts_.data() + ch * stride_;
            J += part[0];
            size += part[1];
            for (index_t j = 0; j < K; ++j) m_[j] += part[2 + j];
            if (want_hessian)
                for (std::size_t q = 0; q < std::size_t(K) * K; ++q) H_[q] += part[2 + K + q];
        }
        double err = 0.0;
        for (index_t j = 0; j < K; ++j) {
            const double bj = std::exp(lb_[j]);
            if (relaxed_ && j < k) {
                const double e = bj * std::exp(-h[j] / rho_);
                J -= rho_ * (e - bj);
                size += rho_ * (e + bj);
                grad_[j] = e - m_[j];
            } else {
                J += bj * h[j];
                size += std::fabs(bj * h[j]);
                grad_[j] = bj - m_[j];
            }
            err += std::fabs(grad_[j]);
        }
        J_last_ = J;
        J_size_ = size;
        return err;
    }

    // A = (diag(m) - H) / eps (+ relaxed diagonal) into M, the damping D; all-hard columns:
    // + c 11^T removes the null direction (shifting every g_j), which the gradient is orthogonal
    // to. Keeps the column masses and the gradient of the current g.
    void build_system() {
        const index_t k = k_, K = K_;
        double trace = 0.0;
        for (index_t j = 0; j < K; ++j) {
            for (index_t l = j; l < K; ++l) {
                double v = ((j == l ? m_[j] : 0.0) - H_[j * K + l]) * inv_eps_;
                if (j == l && relaxed_ && j < k) v += std::exp(lb_[j] - g_[j] / rho_) / rho_;
                M_[j * K + l] = M_[l * K + j] = v;
            }
            trace += M_[j * K + j];
            D_[j] = std::max(M_[j * K + j], std::exp(lb_[j]) * inv_eps_);
        }
        if (!relaxed_)
            for (std::size_t q = 0; q < std::size_t(K) * K; ++q) M_[q] += trace / (double(K) * K);
        m_now_ = m_;
        grad_now_ = grad_;
    }

    // g + step, kept when J rose enough or (armijo_or_flat) the violation fell without J
    // measurably falling.
    bool try_step(bool armijo_or_flat) {
        const index_t K = K_;
        double slope = 0.0;
        for (index_t j = 0; j < K; ++j) {
            slope += grad_now_[j] * step_[j];
            trial_[j] = g_[j] + step_[j];
        }
        const double err_t = evaluate(trial_.data(), true, nullptr, nullptr);
        const double noise = 1e-12 * (size_ + J_size_);
        const bool ok = std::isfinite(J_last_) && std::isfinite(err_t) &&
                        (armijo_or_flat ? (J_last_ >= J_ + 1e-4 * slope ||
                                           (J_last_ >= J_ - noise && err_t < err_))
                                        : J_last_ >= J_ - noise);
        if (ok) {
            std::copy(trial_.begin(), trial_.end(), g_);
            err_ = err_t;
            J_ = J_last_;
            size_ = J_size_;
        }
        return ok;
    }

    // The damped Newton step (A + lambda D) s = grad; false when rejected.
    bool newton_step() {
        const index_t K = K_;
        Md_ = M_;
        for (index_t j = 0; j < K; ++j) Md_[j * K + j] += (1e-14 + lambda_) * D_[j];
        step_ = grad_now_;
        return detail::cholesky_solve(Md_, step_, K) && try_step(true);
    }

    // Sinkhorn's g-update from the column masses, halved until J does not fall.
    bool sinkhorn_step() {
        const index_t k = k_, K = K_;
        const double eps = eps_, rho = rho_;
        for (index_t j = 0; j < K; ++j) {
            const double ratio = std::min(lb_[j] - std::log(m_now_[j]), 700.0);
            if (relaxed_ && j < k) {
                const double phi = rho / (rho + eps);
                step_[j] = phi * (g_[j] + eps * ratio) - g_[j];
            } else {
                step_[j] = eps * ratio;
            }
        }
        for (int halving = 0; halving < 30; ++halving) {
            if (try_step(false)) return true;
            for (index_t j = 0; j < K; ++j) step_[j] *= 0.5;
        }
        return false;
    }

    const double* C_;
    const double* a_;
    const index_t n_, k_, K_, nch_;
    const double eps_, rho_, inv_eps_;
    const bool relaxed_;
    const index_t max_iter_;
    const double tol_;
    const int n_threads_;
    InterruptCheck& interrupt_;
    std::vector<double> lb_;  // log masses of the K columns
    // Per chunk: J part, the sum of |J's terms|, m (K), the upper triangle of sum a pi pi^T.
    const std::size_t stride_;
    std::vector<double> parts_;
    // Of the last evaluation: J, the size of its terms, m, H, the gradient.
    double J_last_ = 0.0, J_size_ = 0.0;
    std::vector<double> m_, H_, grad_;
    // Of the current g: its violation, J and the size of J's terms; the masses and gradient the
    // steps are built from.
    double* g_ = nullptr;
    double err_ = 0.0, J_ = 0.0, size_ = 0.0;
    std::vector<double> m_now_, grad_now_;
    std::vector<double> trial_, step_, M_, D_, Md_;
    double lambda_ = 0.0;
    bool sinkhorn_phase_ = true;
};

inline NewtonResult semidual_newton(const double* C, index_t n, index_t k, const double* a,
                                    const double* log_b, double* g, const NewtonParams& params,
                                    int n_threads, InterruptCheck& interrupt) {
    return SemidualNewton(C, n, k, a, log_b, params, n_threads, interrupt).run(g, params.want_plan);
}

}  // namespace partita::transport
