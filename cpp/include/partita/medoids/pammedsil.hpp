// PAMMEDSIL: the best medoid silhouette swap, every (candidate, slot) pair summed directly
// (docs/algorithms.md, "PAMMEDSIL"). O(k n^2) per swap: for reference and small data.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/fastermsc.hpp"

namespace partita::medoids {

// The change of the loss (> 0 improves) for the best slot m given to candidate j (row `row`),
// each slot's change summed from j's own ratio, then every other point in order.
template <class T>
std::pair<double, std::int32_t> pammedsil_score(const T* row, const ThreeNearest<T>& s,
                                                const double* w, index_t j, index_t k) {
    const index_t n = index_t(s.near_d.size());
    const bool two = k == 2;
    std::pair<double, std::int32_t> best{0.0, -1};
    for (std::int32_t m = 0; m < std::int32_t(k); ++m) {
        double acc = w[j] * msc_ratio(s.near_d[j], s.seco_d[j]);  // j becomes a medoid
        for (index_t o = 0; o < n; ++o) {
            if (o == j) continue;
            const T x = row[o], dn = s.near_d[o], ds = s.seco_d[o], dt = s.third_d[o];
            const double ns = msc_ratio(dn, ds);
            if (s.near_i[o] == m) {  // its nearest is replaced
                if (x < ds) acc += w[o] * (ns - msc_ratio(x, ds));
                else if (two || x < dt) acc += w[o] * (ns - msc_ratio(ds, x));
                else acc += w[o] * (ns - msc_ratio(ds, dt));
            } else if (s.seco_i[o] == m) {  // its second is replaced
                if (x < dn) acc += w[o] * (ns - msc_ratio(x, dn));
                else if (two || x < dt) acc += w[o] * (ns - msc_ratio(dn, x));
                else acc += w[o] * (ns - msc_ratio(dn, dt));
            } else if (x < dn) {
                acc += w[o] * (ns - msc_ratio(x, dn));
            } else if (x < ds) {
                acc += w[o] * (ns - msc_ratio(dn, x));
            }
        }
        if (acc > best.first) best = {acc, m};
    }
    return best;
}

template <class Src, class T = typename Src::value_type>
Result pammedsil(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
                 int n_threads, InterruptCheck& interrupt) {
    const index_t n = src.size(), k = index_t(med.size());
    if (k == 1) return msc_single(src, med[0], w, max_iter, n_threads);
    ThreeNearest<T> s(n);
    double loss = msc_assign(src, med, w, s, n_threads);
    std::vector<std::pair<double, std::int32_t>> scored;
    std::vector<char> valid;
    std::vector<T> buffer;
    std::vector<const T*> row;
    PassLog log;
    while (log.n_iter < max_iter) {
        ++log.n_iter;
        score_all(
            src, n_threads, interrupt, [&](index_t j) { return med[s.near_i[j]] == j; },
            [&](const T* r, index_t j, index_t) { return pammedsil_score(r, s, w, j, k); }, scored,
            valid);
        index_t best = -1;
        double gain = 0.0;
        for (index_t j = 0; j < n; ++j)
            if (valid[j] && scored[j].first > gain) best = j, gain = scored[j].first;
        if (best < 0) {
            log.converged = true;
            break;
        }
        ++log.n_swaps;
        gather_rows(src, &best, 1, buffer, row);
        const double next = msc_apply(src, med, s, w, scored[best].second, best, row[0], n_threads);
        log.pass_loss.push_back(next);
        log.pass_swaps.push_back(1);
        if (!(next < loss)) {  // numerically stuck: stop, keeping the previous loss
            log.converged = true;
            break;
        }
        loss = next;
    }
    return msc_result(std::move(med), s.near_i, loss, weight_total(w, n), std::move(log));
}

}  // namespace partita::medoids
