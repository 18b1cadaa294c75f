// Sinkhorn for hard problems: epsilon-scaling stages, then a Newton tail, then Sinkhorn at the
// target eps, the potentials carried from each part to the next. Specification:
// (docs/algorithms.md, "Epsilon-scaling") and (docs/algorithms.md, "Newton tail").
//
// Every part is an existing solver: Sinkhorn stages and the final part are SinkhornSolver runs
// (sinkhorn.hpp) at their own eps, Newton stages and the tail are newton_tail (newton_tail.hpp)
// per problem. When every problem of the batch qualifies for Newton, the stages are Newton's
// too (with a larger eps ratio: a damped Newton step absorbs a tenfold change of eps). The
// iterations of every part are counted in the result (a Newton step as one iteration), and their
// sum never exceeds max_iter. The final part measures err and decides convergence exactly as a
// plain run does, so err and converged mean the same thing with or without the acceleration.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "partita/common.hpp"
#include "partita/transport/newton_tail.hpp"
#include "partita/transport/problem.hpp"
#include "partita/transport/sinkhorn.hpp"

namespace partita::transport {

struct AccelerationParams {
    double rho_a = std::numeric_limits<double>::infinity();  // the sides' KL penalties
    double rho_b = std::numeric_limits<double>::infinity();  // (phi of every stage's eps)
    double eps_start = 0.0;          // the first stage's eps; <= the target eps: no stages
    double factor = 0.25;            // Sinkhorn stages: eps of the next = factor * eps
    double newton_factor = 0.1;      // Newton stages (every problem qualifies for Newton)
    double stage_tol = 1e-2;         // a stage stops at err < stage_tol ...
    index_t stage_max_iter = 20;     // ... or (Sinkhorn stages) after this many iterations
    index_t newton_max_columns = 0;  // Newton up to this many unknowns; 0: none
    double newton_max_work = 1e300;  // ... and this (other side) x unknowns^2
};

namespace detail {

inline double phi_of(double rho, double eps) { return std::isinf(rho) ? 1.0 : rho / (rho + eps); }

// The eps of the stages, from eps_start down (each factor times the previous), above `eps`.
inline std::vector<double> stage_schedule(double eps_start, double factor, double eps) {
    std::vector<double> out;
    require(factor > 0.0 && factor < 1.0, "factor must be in (0, 1)");
    for (double e = eps_start; e > eps && out.size() < 2000; e *= factor) out.push_back(e);
    return out;
}

}  // namespace detail

// params: the target run (eps, max_iter for all parts together, tol, method, write_plan).
template <class T>
SinkhornResult solve_accelerated(const Problem<T>& pb, Potentials& st, const SinkhornParams& params,
                                 const AccelerationParams& acc, T* kernel, int n_threads,
                                 InterruptCheck& interrupt) {
    require(params.max_iter >= 1, "max_iter must be >= 1");
    const index_t B = pb.B;
    std::vector<index_t> used(B, 0), log_sweeps(B, 0);
    auto most_used = [&] { return *std::max_element(used.begin(), used.end()); };
    NewtonTailParams tp;
    tp.rho_a = acc.rho_a;
    tp.rho_b = acc.rho_b;
    tp.max_columns = acc.newton_max_columns;
    tp.max_work = acc.newton_max_work;
    bool all_newton = acc.newton_max_columns > 0;
    for (index_t b = 0; b < B && all_newton; ++b)
        all_newton = newton_side(pb, b, tp) != NewtonSide::none;
    // Newton on every problem (a step may use up the budget left for all but the final part).
    auto newton_all = [&](double eps, double tol) {
        tp.eps = eps;
        tp.tol = tol;
        tp.max_iter = params.max_iter - 1 - most_used();
        for (index_t b = 0; b < B; ++b) {
            interrupt();
            used[b] += newton_tail(pb, b, st, tp, n_threads, interrupt).n_iter;
        }
    };

    // 1. Stages, leaving at least one iteration for the end: Newton's when every problem
    // qualifies, otherwise Sinkhorn's (at most stage_max_iter iterations each).
    const double factor = all_newton ? acc.newton_factor : acc.factor;
    for (const double e : detail::stage_schedule(acc.eps_start, factor, params.eps)) {
        const index_t left = params.max_iter - 1 - most_used();
        if (left < 1) break;
        const double tol = std::max(acc.stage_tol, params.tol);
        if (all_newton) {
            newton_all(e, tol);
            continue;
        }
        SinkhornParams sp = params;
        sp.eps = e;
        sp.phi_a = detail::phi_of(acc.rho_a, e);
        sp.phi_b = detail::phi_of(acc.rho_b, e);
        sp.tol = tol;
        sp.max_iter = std::min(acc.stage_max_iter, left);
        sp.write_plan = false;
        const SinkhornResult r = solve(pb, st, sp, kernel, n_threads, interrupt);
        for (index_t b = 0; b < B; ++b) {
            used[b] += r.n_iter[b];
            log_sweeps[b] += r.n_log_sweeps[b];
        }
    }

    // 2. The Newton tail at the target eps, for the problems that qualify.
    if (acc.newton_max_columns > 0) newton_all(params.eps, params.tol);

    // 3. Sinkhorn at the target eps: the remaining iterations, err and the plan.
    SinkhornParams fp = params;
    fp.max_iter = params.max_iter - most_used();
    SinkhornResult rep = solve(pb, st, fp, kernel, n_threads, interrupt);
    for (index_t b = 0; b < B; ++b) {
        rep.n_iter[b] += used[b];
        rep.n_log_sweeps[b] += log_sweeps[b];
    }
    return rep;
}

}  // namespace partita::transport
