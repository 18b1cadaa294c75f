// CLARANS: randomised swaps from random starts (docs/algorithms.md, "CLARANS").
#pragma once

#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "partita/medoids/seeding.hpp"
#include "partita/medoids/state.hpp"

namespace partita::medoids {

// FasterCLARANS: n_local restarts from random medoids; each step draws a random non-medoid and
// scores all k swaps for it at once; the best is applied when it lowers the loss; a restart ends
// after max_neighbors consecutive rejected candidates. The best restart is kept.
template <class Src, class T = typename Src::value_type>
Result clarans(const Src& src, index_t k, const double* w, index_t n_local, index_t max_neighbors,
               std::uint64_t seed, int n_threads, InterruptCheck& interrupt) {
    const index_t n = src.size();
    std::mt19937_64 rng(seed);
    auto uniform_index = [&](index_t bound) { return index_t(uniform01(rng) * double(bound)); };
    if (k == 1)  // no second nearest medoid to swap against: the exact single medoid
        return single_medoid(src, uniform_index(n), w, 1, n_threads);
    Result best;
    best.loss = std::numeric_limits<double>::infinity();
    std::vector<T> scratch(Src::stored ? 0 : n);
    std::vector<double> removal(k), ploss(k);
    for (index_t restart = 0; restart < n_local; ++restart) {
        // k distinct random medoids (partial Fisher-Yates over a lazily built permutation).
        std::vector<index_t> perm(n);
        for (index_t i = 0; i < n; ++i) perm[i] = i;
        std::vector<index_t> med(k);
        for (index_t s = 0; s < k; ++s) {
            const index_t r = s + uniform_index(n - s);
            std::swap(perm[s], perm[r]);
            med[s] = perm[s];
        }
        Assignment<T> a = assign(src, med, n_threads, &interrupt);
        double loss = total_deviation(a, w);
        removal_loss(a, w, removal);
        index_t rejected = 0, steps = 0, n_swaps = 0;
        while (rejected < max_neighbors && n > k) {
            index_t j;
            do j = uniform_index(n);
            while (med[a.near_i[j]] == j);
            const T* row = src.row(j, scratch.data());
            const auto [change, b] = score_swap(row, a, w, removal, ploss.data());
            ++steps;
            if (change < 0.0) {
                loss = apply_swap(src, med, a, w, b, j, row, n_threads);
                removal_loss(a, w, removal);
                ++n_swaps;
                rejected = 0;
            } else {
                ++rejected;
            }
            if ((steps & 63) == 0) interrupt();
        }
        if (loss < best.loss)  // a restart always ends on its own rule (max_neighbors rejections)
            best = finish(src, std::move(med), a, loss, steps, n_swaps, n_threads, true);
    }
    return best;
}

}  // namespace partita::medoids
