// Batched log-domain Sinkhorn scaling: balanced, KL-relaxed (unbalanced / semi-relaxed) and
// partial (virtual points). Specification: (docs/algorithms.md, "Log-domain Sinkhorn"),
// (docs/algorithms.md, "Stabilised scaling"), (docs/algorithms.md, "Stopping") and
// (docs/algorithms.md, "Relaxed and partial transport").
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
// m only; column sums are reduced over the chunks in order; the row and column kernels
// (sweeps.hpp) sum in a fixed order, so the result does not depend on the thread count or the
// instruction set.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "partita/common.hpp"
#include "partita/transport/problem.hpp"
#include "partita/transport/sweeps.hpp"

namespace partita::transport {

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
// Stabilised scaling (Method::sinkhorn_stabilized; Schmitzer's absorption): c_i e_ij is the
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
class SinkhornSolver : detail::SinkhornState<T> {
public:
    SinkhornSolver(const Problem<T>& pb, Potentials& st, const SinkhornParams& params, T* kernel,
                   int n_threads, InterruptCheck& interrupt)
        : detail::SinkhornState<T>(pb, st, params, kernel, n_threads, interrupt) {}

    SinkhornResult run() {
        start();
        for (index_t iter = 1; iter <= max_iter && !act.empty(); ++iter) {
            interrupt();
            update_columns(iter);
            drop_stopped();
            if (act.empty()) break;
            sweep_rows();
            sweep_columns(act);
            check_relaxed(iter);
            drop_stopped();
        }
        if (!relaxed) report_unconverged();
        if (write_plan) write_plans();
        return std::move(rep);
    }

private:
    // The state's members by their own names (a dependent base's members are not found
    // otherwise).
    using State = detail::SinkhornState<T>;
    using State::pb, State::st, State::kernel, State::interrupt, State::B, State::n, State::m,
        State::R, State::nch, State::eps, State::inv_eps, State::kappa, State::phi_a, State::phi_b,
        State::relaxed, State::threads, State::max_iter, State::tol, State::absorb,
        State::write_plan, State::rep, State::act, State::alpha, State::beta, State::cshift,
        State::partial, State::lse_col, State::dmax, State::cmax, State::item_bad,
        State::item_kernel_bad, State::done, State::bad, State::dg, State::gnew, State::kA,
        State::kB, State::has_kernel, State::can_absorb, State::store_now, State::vscale,
        State::vmax, State::f_prev, State::kernel_c, State::hold, State::backoff,
        State::kernel_uses, State::omega;
    static constexpr double LOG_TAU = detail::Stabilised<T>::log_tau;

    double A(index_t b, index_t i) const { return pb.log_a[b * n + i] + st.f[b * n + i] * inv_eps; }
    double vrow_term(index_t b) const { return pb.log_av[b] + st.fv[b] * inv_eps; }
    static double logaddexp(double x, double y) {
        const double mx = std::max(x, y);
        if (!(mx > LOG_ZERO / 2)) return mx;
        return mx + std::log(std::exp(x - mx) + std::exp(y - mx));
    }

    // Every problem active, its alpha from the warm-start f, and the column LSEs of that f.
    void start() {
        act.clear();
        for (index_t b = 0; b < B; ++b) {
            act.push_back(b);
            rep.n_iter[b] = 0;
            rep.err[b] = std::numeric_limits<double>::infinity();
            rep.converged[b] = 0;
            bool positive = true;
            for (index_t i = 0; i < n; ++i) {
                alpha[b * n + i] = T(A(b, i));
                positive = positive && pb.log_a[b * n + i] > LOG_ZERO / 2;
            }
            for (index_t j = 0; j < m; ++j)
                positive = positive && pb.log_b[b * m + j] > LOG_ZERO / 2;
            can_absorb[b] = absorb && positive;
            rep.n_log_sweeps[b] = 0;
        }
        exact_columns(act);
    }

    void drop_stopped() {
        std::vector<index_t> still;
        for (index_t b : act)
            if (!done[b]) still.push_back(b);
        act.swap(still);
    }

    // A kernel that served fewer than two sweeps: the next log sweeps store none (backoff).
    void drop_kernel(index_t b) {
        if (kernel_uses[b] < 2) {
            backoff[b] = std::min<index_t>(2 * backoff[b] + 1, 31);
            hold[b] = backoff[b];
        } else {
            backoff[b] = 0;
        }
        has_kernel[b] = 0;
    }
    // Exact column LSEs of alpha_i - C_ij kappa (+ the virtual row) for the listed problems:
    // column maxima, then shifted sums.
    void exact_columns(const std::vector<index_t>& list) {
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
    }

    // Column LSEs from the sums of the sweep (log sum - kB); problems where they are not
    // trustworthy are recomputed exactly.
    void sweep_columns(const std::vector<index_t>& list) {
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
    }

    // Log sweep of rows [r0, r1) of problem b: f-update of every row (one exp per entry, kept in
    // L1; in the stored kernel when the problem absorbs), then the row's share of the next
    // column sums.
    void log_sweep_rows(index_t b, index_t ch, std::vector<T>& e) {
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
            const double fs = -phi_a * eps * (double(shift) + std::log(s));  // Sinkhorn's f
            d = std::max(d, std::fabs(fs - fi));
            const double fn = omega == 1.0 ? fs : fi + omega * (fs - fi);
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
    }

    // Stabilised sweep of rows [r0, r1) of problem b from its stored kernel; false when a row
    // sum or a scaling left its range (the problem is then redone by a log sweep).
    bool stabilised_sweep_rows(index_t b, index_t ch) {
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
            const double total =
                pb.vcol ? s + std::exp(std::min(vcol_term + kA[b * n + i], 700.0)) : s;
            if (!detail::trusted<T>(total, vmax[b] * kernel_c[b])) return false;
            if (pb.vcol) lse = logaddexp(lse, vcol_term);
            const double fs = -phi_a * eps * lse;  // Sinkhorn's f
            double& fi = st.f[b * n + i];
            d = std::max(d, std::fabs(fs - fi));
            const double fn = omega == 1.0 ? fs : fi + omega * (fs - fi);
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
    }

    // Before a log sweep of problem b: whether it stores a kernel.
    void start_log_sweep(index_t b) {
        store_now[b] = can_absorb[b] && hold[b] == 0;
        if (hold[b] > 0) --hold[b];
        ++rep.n_log_sweeps[b];
    }
    // After it: kB is its beta, and its kernel is current where stored.
    void finish_log_sweep(index_t b) {
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
    }

    // g-update (O(m) per problem from the column LSEs), the balanced stopping check, the virtual
    // points, and the scalings v of a stored kernel (absorbed when out of range).
    void update_columns(index_t iter) {
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
                    err += std::exp(pb.log_b[b * m + j]) *
                           std::fabs(std::expm1((g[j] - gn[j]) * inv_eps));
                if (pb.vcol)
                    err += std::exp(pb.log_bv[b]) *
                           std::fabs(std::expm1((st.gv[b] - gv_new) * inv_eps));
                rep.err[b] = err;
                if (err < tol) {
                    rep.converged[b] = 1;
                    rep.n_iter[b] = iter - 1;
                    done[b] = 1;
                    continue;
                }
            }
            double d = 0.0;
            for (index_t j = 0; j < m; ++j) d = std::max(d, std::fabs(gn[j] - g[j]));
            if (omega != 1.0)
                for (index_t j = 0; j < m; ++j) gn[j] = g[j] + omega * (gn[j] - g[j]);
            std::copy(gn, gn + m, g);
            if (pb.vcol) {
                d = std::max(d, std::fabs(gv_new - st.gv[b]));
                st.gv[b] = gv_new;
            }
            if (pb.vrow) {
                const double fv_new = -eps * detail::lse(m, [&](index_t j) {
                    return pb.log_b[b * m + j] + g[j] * inv_eps;
                });
                d = std::max(d, std::fabs(fv_new - st.fv[b]));
                st.fv[b] = fv_new;
            }
            dg[b] = d;
            for (index_t j = 0; j < m; ++j)
                beta[b * m + j] = T(pb.log_b[b * m + j] + g[j] * inv_eps);
            if (has_kernel[b]) absorb_if_drifted(b);
        }
    }

    // The scalings v_j = exp(beta_j - kB_j) of problem b's stored kernel; when one leaves
    // [1/tau, tau] the kernel is dropped, so that this sweep is a log sweep (absorption).
    void absorb_if_drifted(index_t b) {
        double vm = 0.0;
        bool ok = true;
        for (index_t j = 0; j < m && ok; ++j) {
            const double lv = double(beta[b * m + j]) - kB[b * m + j];
            ok = std::fabs(lv) <= LOG_TAU;
            vscale[b * m + j] = T(std::exp(lv));
            vm = std::max(vm, double(vscale[b * m + j]));
        }
        vmax[b] = vm;
        if (!ok) drop_kernel(b);
    }

    // The sweep: stabilised problems from their kernels, the others in the log domain; failed
    // stabilised problems are redone in the log domain from their previous f.
    void sweep_rows() {
        std::vector<index_t> scaled, logd;
        for (index_t b : act) (has_kernel[b] ? scaled : logd).push_back(b);
        for (index_t b : scaled)
            std::copy(st.f + b * n, st.f + (b + 1) * n, f_prev.begin() + b * n);
        for (index_t b : logd) start_log_sweep(b);
        std::vector<std::uint8_t> item_ok(scaled.size() * nch, 1);
        parallel_units(
            index_t(logd.size() + scaled.size()) * nch, threads, interrupt,
            [&] { return std::vector<T>(std::size_t(m)); },
            [&](index_t it, std::vector<T>& e) {
                const index_t q = it / nch, ch = it % nch;
                if (q < index_t(logd.size())) log_sweep_rows(logd[q], ch, e);
                else
                    item_ok[(q - logd.size()) * nch + ch] =
                        stabilised_sweep_rows(scaled[q - logd.size()], ch);
            });
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
                [&](index_t it, std::vector<T>& e) {
                    log_sweep_rows(redo[it / nch], it % nch, e);
                });
            for (index_t b : redo) finish_log_sweep(b);
        }
    }

    // After the sweep: the iteration count and, relaxed, err = the largest change of a potential.
    void check_relaxed(index_t iter) {
        for (index_t b : act) {
            rep.n_iter[b] = iter;
            if (relaxed) {
                double d = dg[b];
                for (index_t ch = 0; ch < nch; ++ch) d = std::max(d, dmax[b * nch + ch]);
                rep.err[b] = d * inv_eps;
                if (rep.err[b] < tol) {
                    rep.converged[b] = 1;
                    done[b] = 1;
                }
            }
        }
    }

    // Balanced problems that ran out of iterations: their column violation, from the column
    // LSEs of the last sweep (no update).
    void report_unconverged() {
        for (index_t b : act) {
            const double* L = lse_col.data() + b * m;
            const double* g = st.g + b * m;
            double err = 0.0;
            for (index_t j = 0; j < m; ++j)
                err += std::exp(pb.log_b[b * m + j]) *
                       std::fabs(std::expm1((g[j] + eps * L[j]) * inv_eps));
            if (pb.vcol) {
                const double gv_new = -eps * detail::lse(n, [&](index_t i) { return A(b, i); });
                err +=
                    std::exp(pb.log_bv[b]) * std::fabs(std::expm1((st.gv[b] - gv_new) * inv_eps));
            }
            rep.err[b] = err;
            rep.converged[b] = err < tol;
        }
    }

    // The plans from the final potentials, exp((alpha_i + beta_j) - C_ij kappa): not u K v,
    // whose entries that underflowed when K was stored would stay 0 where u v lifts them into
    // range (the iterates are protected by the trusted-sum checks; single tiny entries of the
    // plan are not).
    void write_plans() {
        std::vector<double> al(std::size_t(B) * n), bt(std::size_t(B) * m);
        for (index_t b = 0; b < B; ++b) {
            for (index_t i = 0; i < n; ++i)
                al[b * n + i] = pb.log_a[b * n + i] + st.f[b * n + i] * inv_eps;
            for (index_t j = 0; j < m; ++j)
                bt[b * m + j] = pb.log_b[b * m + j] + st.g[b * m + j] * inv_eps;
        }
        parallel_units(B * nch, threads, interrupt, [&](index_t it) {
            const index_t b = it / nch, ch = it % nch;
            const index_t r0 = ch * R, r1 = std::min(n, r0 + R);
            for (index_t i = r0; i < r1; ++i)
                detail::plan_row(pb.C + (b * n + i) * m, bt.data() + b * m, m, al[b * n + i],
                                 inv_eps, kernel + (b * n + i) * m);
        });
    }
};

template <class T>
SinkhornResult solve(const Problem<T>& pb, Potentials& st, const SinkhornParams& params, T* kernel,
                     int n_threads, InterruptCheck& interrupt) {
    return SinkhornSolver<T>(pb, st, params, kernel, n_threads, interrupt).run();
}

}  // namespace partita::transport
