// Dense multicut kernels on the GPU: host interface (plain C++, no CUDA types).
// docs/algorithms.md, "Dense multicut on a GPU".
#pragma once

#include <cstdint>
#include <vector>

#include "partita/cuda/arrays.hpp"

namespace partita::cuda::multicut {

// Exact kNN with positive costs, as the CPU's knn_positive (docs/algorithms.md, "Lazy kNN
// rounds"): for every row r of F (m x d float64, row-major; sizes s), the at most k other rows
// j with the largest positive cost <F_r, F_j> - a (s_r s_j), ordered by cost, ties to the
// smaller j; nbr (m x k) is -1 (cost 0) past the last one. Every cost is the CPU's float64 sum
// over the features in order, without fused multiply-adds, so the lists equal the CPU's.
// Ctrl-C is checked between launches.
void knn_positive(const std::vector<double>& F, const std::vector<double>& s, std::int64_t m,
                  std::int64_t d, double a, std::int64_t k, std::vector<std::int64_t>& nbr,
                  std::vector<double>& cost, const InterruptPoll& interrupted = {});

// The multicut objective of labels (0..c-1) of the rows X (n x d float64, the features f_i),
// with node weights w (empty: every weight 1; the rows are then scaled by w on the device), by
// the CPU's operations in the CPU's order: the same float64 value (docs/algorithms.md,
// "Multicut objective").
double objective(const std::vector<double>& X, std::int64_t n, std::int64_t d,
                 const std::vector<std::int64_t>& labels, std::int64_t c, double a,
                 const std::vector<double>& w);

}  // namespace partita::cuda::multicut
