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
