// BUILD: k greedy additions, each the point that lowers the loss most (docs/algorithms.md,
// "BUILD").
#pragma once

#include <algorithm>
#include <limits>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/state.hpp"

namespace partita::medoids {

namespace detail {

// BUILD's gain update: G[i] += w_o * (min(0, d(o,i) - new) - min(0, d(o,i) - old)).
template <class T>
inline __attribute__((always_inline)) void build_gain_body(const T* __restrict row, double w,
                                                           double old_d, double new_d,
                                                           index_t begin, index_t end,
                                                           double* __restrict gain) {
    for (index_t i = begin; i < end; ++i) {
        const double d = double(row[i]);
        gain[i] += w * (std::min(0.0, d - new_d) - std::min(0.0, d - old_d));
    }
}
PARTITA_MULTIVERSION static void build_gain(const float* row, double w, double old_d, double new_d,
                                            index_t begin, index_t end, double* gain) {
    build_gain_body<float>(row, w, old_d, new_d, begin, end, gain);
}
PARTITA_MULTIVERSION static void build_gain(const double* row, double w, double old_d, double new_d,
                                            index_t begin, index_t end, double* gain) {
    build_gain_body<double>(row, w, old_d, new_d, begin, end, gain);
}

}  // namespace detail

// BUILD's gain of candidate i summed directly, in the reference's order:
// -w_i near_i + sum over o != i with d(i,o) < near_o of w_o (d(i,o) - near_o).
template <class T>
double exact_build_gain(const T* row, const std::vector<double>& near, const double* w, index_t i) {
    double g = -w[i] * near[i];
    for (index_t o = 0; o < index_t(near.size()); ++o) {
        const double d = double(row[o]);
        if (o != i && d < near[o]) g += w[o] * (d - near[o]);
    }
    return g;
}

// k greedy additions, each the non-medoid that lowers the loss most.
// The gain G[i] = sum_o w_o min(0, d(o,i) - near_d(o)) is kept for every candidate and updated
// only for the points whose nearest distance changed: O(n * changed) per step instead of
// O(n^2), which on clustered data is a small fraction of the matrix after the first steps.
// Each thread owns a fixed slice of the candidates and applies the updates in point order, so
// the result does not depend on the thread count.
template <class Src, class T = typename Src::value_type>
std::vector<index_t> build(const Src& src, index_t k, const double* w, int n_threads,
                           InterruptCheck& interrupt) {
    const index_t n = src.size();
    std::vector<index_t> med;
    med.reserve(k);
    const std::vector<double> sums = detail::weighted_row_sums(src, w, n_threads);
    index_t first = 0;
    for (index_t i = 1; i < n; ++i)
        if (sums[i] < sums[first]) first = i;
    med.push_back(first);
    if (k == 1) return med;

    std::vector<char> is_med(n, 0);
    is_med[first] = 1;
    std::vector<T> buffer;
    std::vector<const T*> rows;
    gather_rows(src, &first, 1, buffer, rows);
    std::vector<double> near(n);
    for (index_t o = 0; o < n; ++o) near[o] = double(rows[0][o]);

    // The first update is a full pass: every point "changed" from an old nearest distance of
    // -inf, for which min(0, d - old) = 0, so G[i] starts as sum_o w_o min(0, d(o,i) - near_o).
    std::vector<double> gain(n, 0.0);
    std::vector<index_t> changed(n);
    std::vector<double> old_near(n, -std::numeric_limits<double>::infinity());
    for (index_t o = 0; o < n; ++o) changed[o] = o;
    std::vector<T> scratch(Src::stored ? 0 : n);

    for (index_t step = 1; step < k; ++step) {
        const index_t n_changed = index_t(changed.size());
        const index_t block = std::max<index_t>(1, std::min(n_changed, row_block<Src>()));
        for (index_t c0 = 0; c0 < n_changed; c0 += block) {
            const index_t count = std::min(block, n_changed - c0);
            gather_rows(src, changed.data() + c0, count, buffer, rows);
#pragma omp parallel num_threads(n_threads) if (count * n > (1 << 16))
            {
                const index_t p = omp_get_thread_num(), parts = omp_get_num_threads();
                const EvenSplit split{n, parts};
                const index_t lo = split.begin(p), hi = split.begin(p + 1);
                for (index_t c = c0; c < c0 + count; ++c) {
                    const index_t o = changed[c];
                    detail::build_gain(rows[c - c0], w[o], old_near[c], near[o], lo, hi,
                                       gain.data());
                }
            }
        }
        // Choose: the most negative gain among non-medoids, ties to the lowest index; if none
        // is negative (duplicates), the lowest-index non-medoid, so k distinct medoids result.
        // The incremental gains carry rounding of their own, so every candidate within a hair
        // of the best is re-scored by a direct sum in the reference's order: exact ties (which
        // symmetric pairs of points produce) are then broken the same way as there.
        double best_gain = 0.0, loss = 0.0;
        for (index_t i = 0; i < n; ++i)
            if (!is_med[i]) best_gain = std::min(best_gain, gain[i]);
        for (index_t o = 0; o < n; ++o) loss += w[o] * near[o];
        const double window = best_gain + 1e-9 * loss;
        index_t best = -1;
        double best_exact = 0.0;
        for (index_t i = 0; i < n; ++i) {
            if (is_med[i] || !(gain[i] <= window) || !(gain[i] < 0.0)) continue;
            const double g = exact_build_gain(src.row(i, scratch.data()), near, w, i);
            if (g < best_exact) {
                best_exact = g;
                best = i;
            }
        }
        if (best < 0)
            for (index_t i = 0; i < n && best < 0; ++i)
                if (!is_med[i]) best = i;
        med.push_back(best);
        is_med[best] = 1;
        if (step + 1 == k) break;
        // Points whose nearest distance shrinks feed the next incremental update.
        changed.clear();
        old_near.clear();
        gather_rows(src, &best, 1, buffer, rows);
        for (index_t o = 0; o < n; ++o) {
            const double d = double(rows[0][o]);
            if (d < near[o]) {
                changed.push_back(o);
                old_near.push_back(near[o]);
                near[o] = d;
            }
        }
        interrupt();
    }
    return med;
}

}  // namespace partita::medoids
