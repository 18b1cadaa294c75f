// Sinkhorn for hard problems: optionally a probe (plain Sinkhorn, kept when it converges soon),
// then epsilon-scaling stages, then a Newton tail and / or an overrelaxed tail, then Sinkhorn at
// the target eps, the potentials carried from each part to the next. Specification:
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
#include "partita/transport/overrelaxation.hpp"
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
    index_t probe_max_iter = 0;      // plain Sinkhorn first, at most this long; 0: no probe
    index_t probe_chunk = 10;        // iterations between the probe's rate estimates
    // The overrelaxed tail (balanced problems without virtual points): 0 never, 1 where no
    // problem of the batch takes Newton's tail, 2 always (after any Newton tail).
    int overrelax = 0;
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

// Whether plain Sinkhorn at the target eps, from the given potentials, converges within
// `budget` iterations: runs it in chunks and stops as soon as every problem has converged (true:
// the potentials are the converged ones) or the worst problem's linear rate over the last chunk
// predicts more than the budget (false: the potentials are restored). used / log_sweeps: every
// probe iteration is counted either way.
template <class T>
bool probe_converges(const Problem<T>& pb, Potentials& st, const SinkhornParams& params,
                     index_t budget, index_t chunk, T* kernel, int n_threads,
                     InterruptCheck& interrupt, std::vector<index_t>& used,
                     std::vector<index_t>& log_sweeps) {
    const index_t B = pb.B;
    const std::vector<double> f(st.f, st.f + B * pb.n), g(st.g, st.g + B * pb.m);
    const std::vector<double> fv(st.fv, st.fv + B), gv(st.gv, st.gv + B);
    SinkhornParams pp = params;
    pp.write_plan = false;
    std::vector<double> before(B, std::numeric_limits<double>::infinity());
    index_t done = 0;
    while (done < budget) {
        pp.max_iter = std::min(chunk, budget - done);
        const SinkhornResult r = solve(pb, st, pp, kernel, n_threads, interrupt);
        bool all = true;
        double worst = 0.0;  // the most iterations a problem still needs at its current rate
        for (index_t b = 0; b < B; ++b) {
            used[b] += r.n_iter[b];
            log_sweeps[b] += r.n_log_sweeps[b];
            if (r.converged[b]) continue;
            all = false;
            const double rate = std::pow(r.err[b] / before[b], 1.0 / double(pp.max_iter));
            const double need = rate < 1.0 ? std::log(params.tol / r.err[b]) / std::log(rate)
                                           : std::numeric_limits<double>::infinity();
            worst = std::max(worst, need);
            before[b] = r.err[b];
        }
        done += pp.max_iter;
        if (all) return true;
        if (done > chunk && !(double(done) + worst <= double(budget))) break;
    }
    std::copy(f.begin(), f.end(), st.f);
    std::copy(g.begin(), g.end(), st.g);
    std::copy(fv.begin(), fv.end(), st.fv);
    std::copy(gv.begin(), gv.end(), st.gv);
    return false;
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

    // 0. The probe: where some problem would take Newton's steps, plain Sinkhorn first, for at
    // most the work of a few Newton steps; if it converges, the stages and Newton are skipped.
    bool any_newton = false;
    for (index_t b = 0; b < B && acc.newton_max_columns > 0; ++b)
        any_newton |= newton_side(pb, b, tp) != NewtonSide::none;
    const index_t probe = std::min(acc.probe_max_iter, params.max_iter - 1);
    const bool probed =
        any_newton && probe > 0 &&
        detail::probe_converges(pb, st, params, probe, std::max<index_t>(acc.probe_chunk, 1),
                                kernel, n_threads, interrupt, used, log_sweeps);

    // 1. Stages, leaving at least one iteration for the end: Newton's when every problem
    // qualifies, otherwise Sinkhorn's (at most stage_max_iter iterations each).
    const double factor = all_newton ? acc.newton_factor : acc.factor;
    const std::vector<double> schedule =
        probed ? std::vector<double>() : detail::stage_schedule(acc.eps_start, factor, params.eps);
    for (const double e : schedule) {
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
    if (acc.newton_max_columns > 0 && !probed) newton_all(params.eps, params.tol);

    // 2b. The overrelaxed tail, for balanced problems (where Newton's does not apply, "auto").
    const bool balanced = std::isinf(acc.rho_a) && std::isinf(acc.rho_b) && !pb.vrow && !pb.vcol;
    if (!probed && balanced && (acc.overrelax == 2 || (acc.overrelax == 1 && !any_newton)))
        overrelaxed_tail(pb, st, params, params.max_iter - 1 - most_used(), OverrelaxationParams(),
                         kernel, n_threads, interrupt, used, log_sweeps);

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
