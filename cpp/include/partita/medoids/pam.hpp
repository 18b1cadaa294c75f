// PAM: the classic SWAP, each (slot, candidate) pair scored in O(n) (docs/algorithms.md, "PAM").
#pragma once

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "partita/medoids/best_swap.hpp"

namespace partita::medoids {

template <class Src>
Result pam(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
           int n_threads, InterruptCheck& interrupt) {
    using T = typename Src::value_type;
    const index_t n = src.size(), k = index_t(med.size());
    return best_swap_descent(
        src, std::move(med), w, max_iter, n_threads, interrupt, false,
        [&](const T* row, index_t j, const Assignment<T>& a, const std::vector<double>&, double*) {
            double best = 0.0;
            std::int32_t best_slot = -1;
            for (std::int32_t m = 0; m < std::int32_t(k); ++m) {
                double acc = -w[j] * double(a.near_d[j]);  // j becomes a medoid
                for (index_t o = 0; o < n; ++o) {
                    if (o == j) continue;
                    const double d = double(row[o]), nd = double(a.near_d[o]);
                    if (a.near_i[o] == m)
                        acc += w[o] * ((row[o] < a.seco_d[o] ? d : double(a.seco_d[o])) - nd);
                    else if (row[o] < a.near_d[o]) acc += w[o] * (d - nd);
                }
                if (acc < best) {
                    best = acc;
                    best_slot = m;
                }
            }
            return std::pair<double, std::int32_t>(
                best_slot >= 0 ? best : std::numeric_limits<double>::infinity(), best_slot);
        });
}

}  // namespace partita::medoids
