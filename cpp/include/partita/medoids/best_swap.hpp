// PAM's schedule: every candidate scored against the same state, then the single best swap
// applied (docs/algorithms.md, "PAM"). FastPAM1 and PAM differ only in how a candidate is scored.
#pragma once

#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/state.hpp"

namespace partita::medoids {

// Scores every candidate (each point that is not a medoid) in parallel, in units of 16 with
// Ctrl-C polled between units: change[j] and slot[j] of its best swap (+inf for medoids).
// `score(row, j, ploss)` returns (change, slot).
template <class Src, class Score, class T = typename Src::value_type>
void score_all_candidates(const Src& src, const std::vector<index_t>& med, const Assignment<T>& a,
                          index_t k, std::vector<double>& change, std::vector<std::int32_t>& slot,
                          int n_threads, InterruptCheck& interrupt, Score&& score) {
    const index_t n = src.size();
    constexpr index_t unit = 16;
    struct Scratch {
        std::vector<double> ploss;
        std::vector<T> row;
    };
    parallel_units(
        (n + unit - 1) / unit, n > 512 ? n_threads : 1, interrupt,
        [&] { return Scratch{std::vector<double>(k), std::vector<T>(Src::stored ? 0 : n)}; },
        [&](index_t u, Scratch& s) {
            for (index_t j = u * unit; j < std::min(n, (u + 1) * unit); ++j) {
                change[j] = std::numeric_limits<double>::infinity();
                if (med[a.near_i[j]] == j) continue;
                std::tie(change[j], slot[j]) = score(src.row(j, s.row.data()), j, s.ploss.data());
            }
        });
}

// The best swap of a full evaluation: smallest change (strictly negative), ties to the
// smallest candidate; -1 when none improves.
inline index_t best_candidate(const std::vector<double>& change) {
    index_t best = -1;
    double best_change = 0.0;
    for (index_t j = 0; j < index_t(change.size()); ++j)
        if (change[j] < best_change) {
            best_change = change[j];
            best = j;
        }
    return best;
}

// PAM's outer loop with a given candidate scorer: the best swap per iteration.
template <class Src, class Score, class T = typename Src::value_type>
Result best_swap_descent(const Src& src, std::vector<index_t> med, const double* w,
                         index_t max_iter, int n_threads, InterruptCheck& interrupt,
                         bool with_removal, Score&& score) {
    const index_t n = src.size(), k = index_t(med.size());
    if (k == 1) return single_medoid(src, med[0], w, max_iter, n_threads);
    Assignment<T> a = assign(src, med, n_threads, &interrupt);
    double loss = total_deviation(a, w);
    std::vector<double> removal(k), change(n);
    std::vector<std::int32_t> slot(n);
    std::vector<T> scratch;
    index_t n_swaps = 0, iter = 0;
    bool converged = false;
    std::vector<double> pass_loss;
    std::vector<index_t> pass_swaps;
    while (iter < max_iter) {
        ++iter;
        if (with_removal) removal_loss(a, w, removal);
        score_all_candidates(src, med, a, k, change, slot, n_threads, interrupt,
                             [&](const T* row, index_t j, double* ploss) {
                                 return score(row, j, a, removal, ploss);
                             });
        const index_t best = best_candidate(change);
        if (best < 0) {  // this scan was the converging one, even when it was the last allowed
            converged = true;
            pass_loss.push_back(loss);
            pass_swaps.push_back(0);
            break;
        }
        ++n_swaps;
        std::vector<const T*> rows;
        gather_rows(src, &best, 1, scratch, rows);
        // A swap that does not lower the recomputed loss (rounding) ends the search; the loss
        // reported is always that of the medoids returned.
        const double new_loss = apply_swap(src, med, a, w, slot[best], best, rows[0], n_threads);
        const bool stalled = new_loss >= loss;
        loss = new_loss;
        pass_loss.push_back(loss);
        pass_swaps.push_back(1);
        if (stalled) {
            converged = true;
            break;
        }
        interrupt();
    }
    return finish(src, std::move(med), a, loss, iter, n_swaps, n_threads, converged,
                  std::move(pass_loss), std::move(pass_swaps));
}

}  // namespace partita::medoids
