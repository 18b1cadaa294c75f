// The overrelaxed tail of a balanced Sinkhorn run: where Newton's method does not apply (both
// sides large), Sinkhorn at the target eps with each potential moved omega times its step, omega
// chosen from plain Sinkhorn's observed linear rate. Specification: (docs/algorithms.md,
// "Overrelaxed tail").
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "partita/common.hpp"
#include "partita/transport/problem.hpp"
#include "partita/transport/sinkhorn.hpp"

namespace partita::transport {

struct OverrelaxationParams {
    index_t chunk = 40;       // iterations between two looks at err
    double omega_max = 1.99;  // the largest omega tried (the optimum for theta = 0.99997)
    double omega_min = 1.05;  // below this after halvings: give up (plain Sinkhorn follows)
    index_t patience = 2;     // chunks whose err rose before omega is halved
};

// Runs at most `budget` iterations on every problem of the batch (balanced, no virtual points):
// two plain chunks give the worst problem's rate theta = (err / err_before)^(1 / chunk), then
// omega = 2 / (1 + sqrt(1 - theta)) (the optimum for a linear iteration of rate theta), at most
// omega_max; chunks at that omega follow until every problem's err is below tol. Sinkhorn's
// rate slows as it converges, so after every chunk that lowered err the plain rate is inferred
// again from the observed one and omega raised to its optimum when that is higher. A change of
// omega first raises err (the potentials overshoot); after that first chunk the worst err must
// fall from chunk to chunk: the `patience`-th rise sends the potentials back to those of the
// lowest err so far, halves omega - 1 and caps later raises below the omega that failed.
// used / log_sweeps: every iteration is counted, undone ones included. The caller's plain
// Sinkhorn then measures err and builds the plan.
template <class T>
void overrelaxed_tail(const Problem<T>& pb, Potentials& st, const SinkhornParams& params,
                      index_t budget, const OverrelaxationParams& op, T* kernel, int n_threads,
                      InterruptCheck& interrupt, std::vector<index_t>& used,
                      std::vector<index_t>& log_sweeps) {
    const index_t B = pb.B, n = pb.n, m = pb.m;
    SinkhornParams pp = params;
    pp.write_plan = false;
    index_t done = 0;
    // One chunk at omega; returns the worst err (0 when every problem converged).
    auto chunk = [&](double omega) {
        pp.omega = omega;
        pp.max_iter = std::min(op.chunk, budget - done);
        const SinkhornResult r = solve(pb, st, pp, kernel, n_threads, interrupt);
        done += pp.max_iter;
        double worst = 0.0;
        for (index_t b = 0; b < B; ++b) {
            used[b] += r.n_iter[b];
            log_sweeps[b] += r.n_log_sweeps[b];
            if (!r.converged[b]) worst = std::max(worst, r.err[b]);
        }
        return worst;
    };
    if (budget < 3 * op.chunk) return;
    const double e1 = chunk(1.0);
    if (e1 == 0.0) return;
    const double e2 = chunk(1.0);
    if (e2 == 0.0 || !(e2 < e1)) return;  // converged, or no linear rate to accelerate
    const double theta = std::pow(e2 / e1, 1.0 / double(op.chunk));
    double omega = std::min(op.omega_max, 2.0 / (1.0 + std::sqrt(1.0 - theta)));
    std::vector<double> f(st.f, st.f + B * n), g(st.g, st.g + B * m);
    double kept = e2;   // the worst err of the potentials saved in f, g (the lowest so far)
    double last = 0.0;  // the worst err after the previous chunk at this omega; 0: none yet
    index_t rises = 0;
    double ceiling = 2.0;  // an omega at which err kept rising (2: none yet)
    while (omega >= op.omega_min && budget - done >= op.chunk) {
        const double e = chunk(omega);
        if (e == 0.0) return;
        if (e < kept) {
            kept = e;
            std::copy(st.f, st.f + B * n, f.begin());
            std::copy(st.g, st.g + B * m, g.begin());
        }
        // The first chunk at a new omega may raise err (the potentials overshoot); after it,
        // err must fall from chunk to chunk.
        if (last > 0.0 && !(e < last) && ++rises == op.patience) {
            std::copy(f.begin(), f.end(), st.f);  // diverging at this omega: back to the lowest
            std::copy(g.begin(), g.end(), st.g);  // err, omega - 1 halved, and never again
            ceiling = omega;                      // this high
            omega = 1.0 + 0.5 * (omega - 1.0);
            last = 0.0;
            rises = 0;
            continue;
        }
        if (last > 0.0 && e < last) {
            // The rate lambda at omega tells the plain rate theta (Young's relation for a
            // two-block iteration: (lambda + omega - 1)^2 = lambda omega^2 theta); Sinkhorn's
            // rate slows as it converges, so omega follows it up.
            const double lambda = std::pow(e / last, 1.0 / double(op.chunk));
            const double t = std::min(1.0 - 1e-12, (lambda + omega - 1.0) * (lambda + omega - 1.0) /
                                                       (lambda * omega * omega));
            const double cap = ceiling < 2.0 ? 1.0 + 0.9 * (ceiling - 1.0) : op.omega_max;
            const double better = std::min({op.omega_max, cap, 2.0 / (1.0 + std::sqrt(1.0 - t))});
            if (better > omega + 0.005) {
                omega = better;
                last = 0.0;
                continue;
            }
        }
        last = e;
    }
}

}  // namespace partita::transport
