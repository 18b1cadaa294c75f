// Randomised initialisations: LAB (docs/algorithms.md, "LAB") and k-medoids++ ("k-medoids++").
// The random initialisation draws its indices in Python.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/sources.hpp"

namespace partita::medoids {

// A uniform double in [0, 1) from 53 random bits: the same stream on every platform.
inline double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

// Lowers near[o] to d(best, o) for every point.
template <class Src, class T = typename Src::value_type>
void update_nearest(const Src& src, index_t best, std::vector<double>& near) {
    std::vector<T> buffer;
    std::vector<const T*> rows;
    gather_rows(src, &best, 1, buffer, rows);
    for (index_t o = 0; o < src.size(); ++o) near[o] = std::min(near[o], double(rows[0][o]));
}

// The lowest-index point that is not a medoid (fallback when sampling finds none).
inline index_t first_non_medoid(const std::vector<char>& is_med) {
    for (index_t i = 0; i < index_t(is_med.size()); ++i)
        if (!is_med[i]) return i;
    return -1;
}

// LAB (linear approximative BUILD): each medoid is chosen among a fresh random sample of m
// points (indices drawn by the caller, `samples` is k x m) by the sample-restricted BUILD gain.
template <class Src>
std::vector<index_t> lab(const Src& src, const MatrixView<index_t>& samples, const double* w) {
    const index_t n = src.size(), k = samples.rows, m = samples.cols;
    std::vector<index_t> med;
    std::vector<char> is_med(n, 0);
    std::vector<double> near(n, std::numeric_limits<double>::infinity());
    for (index_t step = 0; step < k; ++step) {
        const index_t* s = samples.row(step);
        index_t best = -1;
        double best_cost = std::numeric_limits<double>::infinity();
        for (index_t a = 0; a < m; ++a) {
            const index_t i = s[a];
            if (is_med[i]) continue;
            double cost = 0.0;
            for (index_t b = 0; b < m; ++b)
                cost += w[s[b]] * std::min(double(src.at(i, s[b])), near[s[b]]);
            if (cost < best_cost) {
                best_cost = cost;
                best = i;
            }
        }
        if (best < 0) best = first_non_medoid(is_med);  // every sampled point is a medoid
        med.push_back(best);
        is_med[best] = 1;
        update_nearest(src, best, near);
    }
    return med;
}

// k-medoids++: first medoid drawn with probability proportional to the weight, each next one
// proportional to w * D(o)^2, with 2 + floor(ln k) trials keeping the one that lowers the loss
// most.
template <class Src, class T = typename Src::value_type>
std::vector<index_t> kmedoids_plusplus(const Src& src, index_t k, const double* w,
                                       std::uint64_t seed, InterruptCheck& interrupt) {
    const index_t n = src.size();
    std::mt19937_64 rng(seed);
    const int trials = 2 + int(std::log(double(k)));
    auto draw = [&](const std::vector<double>& p) {
        // Inverse CDF over the running sum; zero-mass points are never drawn.
        double total = 0.0;
        for (double v : p) total += v;
        if (!(total > 0.0)) return index_t(-1);
        const double u = uniform01(rng) * total;
        double run = 0.0;
        index_t last_positive = -1;
        for (index_t o = 0; o < n; ++o) {
            if (p[o] <= 0.0) continue;
            run += p[o];
            last_positive = o;
            if (u < run) return o;
        }
        return last_positive;
    };
    std::vector<index_t> med;
    std::vector<char> is_med(n, 0);
    std::vector<double> p(w, w + n);
    index_t first = draw(p);
    if (first < 0) first = 0;
    med.push_back(first);
    is_med[first] = 1;
    std::vector<double> near(n, std::numeric_limits<double>::infinity());
    update_nearest(src, first, near);
    std::vector<T> scratch(Src::stored ? 0 : n);
    for (index_t step = 1; step < k; ++step) {
        interrupt();  // on the fly, each step computes several rows
        for (index_t o = 0; o < n; ++o) p[o] = is_med[o] ? 0.0 : w[o] * near[o] * near[o];
        index_t best = -1;
        double best_loss = std::numeric_limits<double>::infinity();
        for (int t = 0; t < trials; ++t) {
            const index_t c = draw(p);
            if (c < 0) break;  // every remaining point coincides with a medoid
            const T* row = src.row(c, scratch.data());
            double loss = 0.0;
            for (index_t o = 0; o < n; ++o) loss += w[o] * std::min(near[o], double(row[o]));
            if (loss < best_loss) {
                best_loss = loss;
                best = c;
            }
        }
        if (best < 0) best = first_non_medoid(is_med);
        med.push_back(best);
        is_med[best] = 1;
        update_nearest(src, best, near);
    }
    return med;
}

}  // namespace partita::medoids
