// FasterMSC: eager swaps that maximise the medoid silhouette (docs/algorithms.md, "FasterMSC").
#pragma once

#include <cstdint>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/msc_passes.hpp"
#include "partita/medoids/msc_state.hpp"

namespace partita::medoids {

// Fills a Result from a finished search; `loss` is the weighted ratio sum.
inline Result msc_result(std::vector<index_t> med, std::vector<std::int32_t> labels, double loss,
                         double total_weight, PassLog log) {
    Result r;
    r.medoids = std::move(med);
    r.labels = std::move(labels);
    r.loss = msc_value(loss, total_weight);
    r.n_iter = log.n_iter;
    r.n_swaps = log.n_swaps;
    r.converged = log.converged;
    for (double& l : log.pass_loss) l = msc_value(l, total_weight);
    r.pass_loss = std::move(log.pass_loss);
    r.pass_swaps = std::move(log.pass_swaps);
    return r;
}

inline double weight_total(const double* w, index_t n) {
    double t = 0.0;
    for (index_t o = 0; o < n; ++o) t += w[o];
    return t;
}

// k = 2 (no third medoid): the loss of both possible swaps computed directly.
template <class Src, class T = typename Src::value_type>
Result fastermsc_two(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
                     int n_threads, InterruptCheck& interrupt) {
    TwoMedoids<T> s(src.size());
    double loss = msc2_assign(src, med, w, s);
    std::vector<double> scratch(std::size_t(n_threads) * 2 * src.size());
    PassLog log = eager_passes(
        src, loss, max_iter, n_threads, interrupt, [&](index_t j) { return med[s.label[j]] == j; },
        [&](const T* row, index_t t) {
            return msc2_score(row, s, w, &scratch[t * 2 * src.size()]);
        },
        [&](const T* const* rows, index_t m, std::pair<double, std::int32_t>* out) {
            for (index_t c = 0; c < m; ++c) out[c] = msc2_score(rows[c], s, w, scratch.data());
        },
        [&](double value) { return value < loss; },
        [&](std::int32_t b, index_t j, const T* row) { return msc2_apply(med, s, w, b, j, row); },
        eager_block<Src>(n_threads));
    return msc_result(std::move(med), s.label, loss, weight_total(w, src.size()), std::move(log));
}

// Eager passes over a k >= 3 state; `removal` is kept up to date.
template <class Src, class T = typename Src::value_type>
PassLog fastermsc_passes(const Src& src, std::vector<index_t>& med, ThreeNearest<T>& s,
                         std::vector<double>& removal, const double* w, double& loss,
                         index_t max_iter, int n_threads, InterruptCheck& interrupt) {
    const index_t k = index_t(med.size());
    msc_removal(s, w, removal);
    const index_t block = eager_block<Src>(n_threads);
    const index_t scratch = msc_scratch(src.size(), k);
    std::vector<double> ploss(std::size_t(n_threads) * scratch);
    std::vector<double> many(std::size_t(msc_score_ways) * scratch);
    return eager_passes(
        src, loss, max_iter, n_threads, interrupt, [&](index_t j) { return med[s.near_i[j]] == j; },
        [&](const T* row, index_t c) { return msc_score(row, s, w, removal, &ploss[c * scratch]); },
        [&](const T* const* rows, index_t m, std::pair<double, std::int32_t>* out) {
            msc_score_many(rows, m, s, w, removal, many.data(), out);
        },
        [](double gain) { return gain > 0.0; },
        [&](std::int32_t b, index_t j, const T* row) {
            const double l = msc_apply(src, med, s, w, b, j, row, n_threads);
            msc_removal(s, w, removal);
            return l;
        },
        block);
}

// k = 1: the medoid silhouette is undefined (reported as 0); the medoid is the point of the
// smallest total distance, as the reference chooses it.
template <class Src>
Result msc_single(const Src& src, index_t incumbent, const double* w, index_t max_iter,
                  int n_threads) {
    Result r = single_medoid(src, incumbent, w, max_iter, n_threads);
    r.loss = 0.0;
    for (double& l : r.pass_loss) l = 0.0;
    return r;
}

// Runs FasterMSC from `med` to convergence or max_iter passes; loss = the weighted average
// medoid silhouette.
template <class Src, class T = typename Src::value_type>
Result fastermsc(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
                 int n_threads, InterruptCheck& interrupt) {
    const index_t k = index_t(med.size());
    if (k == 1) return msc_single(src, med[0], w, max_iter, n_threads);
    if (k == 2) return fastermsc_two(src, std::move(med), w, max_iter, n_threads, interrupt);
    ThreeNearest<T> s(src.size());
    double loss = msc_assign(src, med, w, s, n_threads);
    std::vector<double> removal(k);
    PassLog log = fastermsc_passes(src, med, s, removal, w, loss, max_iter, n_threads, interrupt);
    return msc_result(std::move(med), s.near_i, loss, weight_total(w, src.size()), std::move(log));
}

}  // namespace partita::medoids
