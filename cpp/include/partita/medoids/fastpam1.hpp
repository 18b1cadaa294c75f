// FastPAM1: PAM's best swap per iteration, each candidate scored in O(n) (docs/algorithms.md,
// "FastPAM1").
#pragma once

#include <vector>

#include "partita/medoids/best_swap.hpp"

namespace partita::medoids {

template <class Src>
Result fastpam1(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
                int n_threads, InterruptCheck& interrupt) {
    using T = typename Src::value_type;
    return best_swap_descent(
        src, std::move(med), w, max_iter, n_threads, interrupt, true,
        [&](const T* row, index_t, const Assignment<T>& a, const std::vector<double>& removal,
            double* ploss) { return score_swap(row, a, w, removal, ploss); });
}

}  // namespace partita::medoids
