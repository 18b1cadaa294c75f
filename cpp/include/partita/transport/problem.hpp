// The batched transport problem as the Sinkhorn solver (sinkhorn.hpp) and the bindings see it:
// costs and log-marginals, parameters, potentials, and the per-problem result; and the
// solver's working state.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "partita/common.hpp"

namespace partita::transport {

// How an iteration is computed; both run the same iterates up to rounding.
enum class Method {
    sinkhorn_log,         // an exp per entry and iteration
    sinkhorn_stabilized,  // a stored Gibbs kernel with the potentials absorbed (SinkhornSolver)
};

struct SinkhornParams {
    double eps = 1.0;
    double phi_a = 1.0, phi_b = 1.0;  // real rows / real columns; virtual points are hard
    index_t max_iter = 1000;          // >= 1
    double tol = 1e-9;
    Method method = Method::sinkhorn_log;
    bool write_plan = false;  // the plans into the kernel buffer at the end
    int n_threads = 0;        // 0: all cores (the bindings resolve it)
    // Overrelaxation: each potential moves omega times its Sinkhorn step (1: plain Sinkhorn;
    // in [1, 2); balanced problems without virtual points only).
    double omega = 1.0;
};

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
};

// Potentials, in: warm start, out: solution.
struct Potentials {
    double* f = nullptr;   // B x n
    double* g = nullptr;   // B x m
    double* fv = nullptr;  // B (virtual row potential; used when vrow)
    double* gv = nullptr;  // B (virtual column potential; used when vcol)
};

// Per problem.
struct SinkhornResult {
    std::vector<std::int64_t> n_iter;
    std::vector<double> err;
    std::vector<std::uint8_t> converged;
    std::vector<std::int64_t> n_log_sweeps;  // sweeps that evaluated exp per entry
};

namespace detail {

// The solver's constants and working arrays, one set per batch (SinkhornSolver's steps use them).
template <class T>
struct SinkhornState {
    SinkhornState(const Problem<T>& pb, Potentials& st, const SinkhornParams& params, T* kernel,
                  int n_threads, InterruptCheck& interrupt)
        : pb(pb),
          st(st),
          kernel(kernel),
          interrupt(interrupt),
          B(pb.B),
          n(pb.n),
          m(pb.m),
          R(rows_per_chunk(m)),
          nch((n + R - 1) / R),
          eps(params.eps),
          inv_eps(1.0 / eps),
          kappa(T(inv_eps)),
          phi_a(params.phi_a),
          phi_b(params.phi_b),
          omega(params.omega),
          relaxed(phi_a < 1.0 || phi_b < 1.0),
          threads(std::max(1, n_threads)),
          max_iter(params.max_iter),
          tol(params.tol),
          absorb(params.method == Method::sinkhorn_stabilized),
          write_plan(params.write_plan) {
        require(max_iter >= 1, "max_iter must be >= 1");
        require(eps > 0, "eps must be positive");
        require(omega >= 1.0 && omega < 2.0, "omega must be in [1, 2)");
        require(omega == 1.0 || !(relaxed || pb.vrow || pb.vcol),
                "overrelaxation is for balanced problems without virtual points");
        require(kernel != nullptr || (!absorb && !write_plan), "absorb / write_plan need a buffer");
        alpha.resize(std::size_t(B) * n);
        beta.resize(std::size_t(B) * m);
        cshift.resize(std::size_t(B) * m);
        partial.resize(std::size_t(B) * nch * m);
        lse_col.resize(std::size_t(B) * m);
        dmax.assign(std::size_t(B) * nch, 0.0);
        cmax.assign(std::size_t(B) * nch, 0.0);
        item_bad.assign(std::size_t(B) * nch, 0);
        item_kernel_bad.assign(std::size_t(B) * nch, 0);
        done.assign(B, 0);
        bad.assign(B, 0);
        dg.assign(B, 0.0);
        gnew.resize(std::size_t(B) * m);
        kA.resize(std::size_t(B) * n);
        kB.resize(std::size_t(B) * m);
        has_kernel.assign(B, 0);
        can_absorb.assign(B, 0);
        store_now.assign(B, 0);
        vscale.resize(absorb ? std::size_t(B) * m : 0);
        vmax.assign(B, 0.0);
        f_prev.resize(absorb ? std::size_t(B) * n : 0);
        kernel_c.assign(B, 1.0);
        hold.assign(B, 0);
        backoff.assign(B, 0);
        kernel_uses.assign(B, 0);
        rep.n_iter.resize(B);
        rep.err.resize(B);
        rep.converged.resize(B);
        rep.n_log_sweeps.resize(B);
    }

    const Problem<T>& pb;
    Potentials& st;
    T* const kernel;  // the stored kernels (stabilised) and the plans (write_plan); may be null
    InterruptCheck& interrupt;
    const index_t B, n, m;
    const index_t R, nch;  // rows per work item, work items per problem
    const double eps, inv_eps;
    const T kappa;
    const double phi_a, phi_b;
    const double omega;
    const bool relaxed;
    const int threads;
    const index_t max_iter;
    const double tol;
    const bool absorb, write_plan;

    SinkhornResult rep;
    std::vector<index_t> act;  // the problems still running
    // Of the sweep: alpha_i = log a_i + f_i / eps, beta_j = log b_j + g_j / eps (in T), the
    // column shifts of an exact pass, the column sums per work item and the column LSEs.
    std::vector<T> alpha, beta, cshift;
    std::vector<double> partial, lse_col;
    // Per work item: the largest change of f, the largest row weight c_i, whether a sum was out
    // of range, whether its stored kernel rows are usable.
    std::vector<double> dmax, cmax;
    std::vector<std::uint8_t> item_bad, item_kernel_bad;
    // Per problem: stopped, column sums not trusted, the largest change of g, the new g.
    std::vector<std::uint8_t> done, bad;
    std::vector<double> dg, gnew;
    // kB: beta of the last log sweep (the column sums' reference); kA: its alpha. Stabilised
    // scaling state: has_kernel (K of the problem is current), can_absorb, the scalings v.
    std::vector<double> kA, kB;
    std::vector<std::uint8_t> has_kernel, can_absorb, store_now;
    std::vector<T> vscale;
    std::vector<double> vmax, f_prev;
    std::vector<double> kernel_c;  // max(1, max_i c_i) of the stored kernel
    // Backoff: log sweeps left without a store, current backoff, sweeps served by the kernel.
    std::vector<index_t> hold, backoff, kernel_uses;
};

}  // namespace detail

}  // namespace partita::transport
