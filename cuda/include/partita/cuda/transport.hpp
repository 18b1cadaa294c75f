// Optimal-transport kernels on the GPU: host interface (plain C++, no CUDA types).
#pragma once

#include <vector>

#include "partita/cuda/arrays.hpp"

namespace partita::cuda::transport {

// The row sweep of log-domain Sinkhorn (docs/algorithms.md, "Log-domain Sinkhorn") for a batch
// of B problems:
//     f[b, i] = eps * (log_a[b, i] - LSE_j(log_b[b, j] + (g[b, j] - C[b, i, j]) / eps))
// accumulated in float64 whatever C's dtype. C: (B, n, m) float32 or float64, rows contiguous,
// host or device memory. log_a (B * n) and log_b (B * m) may be empty (taken as 0); g has B * m
// entries. Returns f (B * n). Ctrl-C is checked between the problems' launches.
std::vector<double> row_sweep(const ArrayRef& C, const std::vector<double>& log_a,
                              const std::vector<double>& log_b, const std::vector<double>& g,
                              double eps, const InterruptPoll& interrupted = {});

}  // namespace partita::cuda::transport

namespace partita::cuda::transport {

// Batched Sinkhorn on the device (docs/algorithms.md, "Sinkhorn on the GPU"): the iterations,
// stopping rules and virtual points of the CPU solver (docs/algorithms.md, "Log-domain
// Sinkhorn", "Stopping", "Relaxed and partial transport"), every LSE computed exactly (running
// maximum) and accumulated in float64.
struct SinkhornParams {
    double eps = 1.0;
    double phi_a = 1.0, phi_b = 1.0;  // rho / (rho + eps), 1 for a hard side
    long long max_iter = 1000;        // >= 1
    double tol = 1e-9;
};

// The problem: a stored cost C (B, n, m), or (points) X (B, n, d) and Y (B, m, d) with
// C_ij = ||x_i - y_j||^2 recomputed when needed. Log-marginals B * n and B * m (-1e30 for log 0);
// log_av / log_bv (B entries each) give a virtual row / column, or are empty.
struct SinkhornProblem {
    ArrayRef C, X, Y;
    bool points = false;
    std::vector<double> log_a, log_b, log_av, log_bv;
};

// Potentials (in: warm start, out: solution) and the per-problem report.
struct SinkhornState {
    std::vector<double> f, g, fv, gv;  // B * n, B * m, B, B
    std::vector<long long> n_iter;
    std::vector<double> err;
    std::vector<unsigned char> converged;
};

// Runs the solver; with `plan` (a (B, n, m) C-contiguous array of the cost's dtype, host or
// device memory) writes P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps) there at the end. Ctrl-C
// is checked between iterations.
void sinkhorn(const SinkhornProblem& pb, const SinkhornParams& params, SinkhornState& st,
              const ArrayRef* plan, const InterruptPoll& interrupted = {});

}  // namespace partita::cuda::transport
