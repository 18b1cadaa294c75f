// FastMSC: the best medoid silhouette swap per iteration (docs/algorithms.md, "FastMSC").
#pragma once

#include <cstdint>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/fastermsc.hpp"

namespace partita::medoids {

// Runs FastMSC from `med`: every iteration scores every non-medoid and applies the
// best swap (the first on ties), for at most max_iter iterations.
template <class Src, class T = typename Src::value_type>
Result fastmsc(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
               int n_threads, InterruptCheck& interrupt) {
    const index_t n = src.size(), k = index_t(med.size());
    if (k == 1) return msc_single(src, med[0], w, max_iter, n_threads);
    const bool two = k == 2;
    ThreeNearest<T> s(two ? 0 : n);
    TwoMedoids<T> s2(two ? n : 0);
    double loss = two ? msc2_assign(src, med, w, s2) : msc_assign(src, med, w, s, n_threads);
    const index_t scratch = two ? 2 * n : msc_scratch(n, k);
    std::vector<double> removal(k), ploss(std::size_t(n_threads) * scratch);
    std::vector<std::pair<double, std::int32_t>> scored;
    std::vector<char> valid;
    std::vector<T> buffer;
    std::vector<const T*> row;
    PassLog log;
    auto is_medoid = [&](index_t j) { return two ? med[s2.label[j]] == j : med[s.near_i[j]] == j; };
    while (log.n_iter < max_iter) {
        ++log.n_iter;
        if (!two) msc_removal(s, w, removal);
        score_all(
            src, n_threads, interrupt, is_medoid,
            [&](const T* r, index_t, index_t t) {
                return two ? msc2_score(r, s2, w, &ploss[t * scratch])
                           : msc_score(r, s, w, removal, &ploss[t * scratch]);
            },
            scored, valid);
        // Best: the largest gain (k >= 3) or the lowest loss (k = 2), the first on ties.
        index_t best = -1;
        double value = 0.0;
        for (index_t j = 0; j < n; ++j) {
            if (!valid[j]) continue;
            if (two ? (best < 0 || scored[j].first < value) : scored[j].first > value)
                best = j, value = scored[j].first;
        }
        const bool improves = two ? (best >= 0 && value < loss) : value > 0.0;
        if (!improves) {
            log.converged = true;
            break;
        }
        ++log.n_swaps;
        const std::int32_t b = scored[best].second;
        gather_rows(src, &best, 1, buffer, row);
        const double next = two ? msc2_apply(med, s2, w, b, best, row[0])
                                : msc_apply(src, med, s, w, b, best, row[0], n_threads);
        log.pass_loss.push_back(next);
        log.pass_swaps.push_back(1);
        if (!(next < loss)) {  // numerically stuck: the reference stops, keeping its old loss
            log.converged = true;
            break;
        }
        loss = next;
    }
    std::vector<std::int32_t> labels = two ? s2.label : s.near_i;
    const double total = weight_total(w, n);
    return msc_result(std::move(med), std::move(labels), loss, total, std::move(log));
}

}  // namespace partita::medoids
