// The weighted loss of a range of points summed in fixed blocks of global indices
// (docs/algorithms.md, "Chunked loss"), so that a loss split over chunks of any size adds up,
// bit for bit, to the loss of all points at once.
#pragma once

#include <algorithm>
#include <vector>

#include "partita/common.hpp"

namespace partita::medoids {

// The pieces of points [first, first + n) cut at the multiples of `block`: the terms before
// the first cut (head), one sum per whole block, the terms after the last cut (tail). A range
// inside one block is all head.
struct BlockedLoss {
    std::vector<double> head, sums, tail;
};

// Sequential sum, from 0.0, in index order: the one way every piece is added.
inline double ordered_sum(const double* v, index_t n) {
    double s = 0.0;
    for (index_t i = 0; i < n; ++i) s += v[i];
    return s;
}

// term(o) = w[o] * near[o] (in double) for o in [0, n), point o being global index first + o.
template <class T>
BlockedLoss blocked_loss(const T* near, const double* w, index_t n, index_t first, index_t block) {
    BlockedLoss r;
    auto term = [&](index_t o) { return w[o] * double(near[o]); };
    const index_t end = first + n;
    const index_t a = std::min(end, (first + block - 1) / block * block);  // first cut
    const index_t b = std::max(a, end / block * block);                    // last cut
    for (index_t g = first; g < a; ++g) r.head.push_back(term(g - first));
    for (index_t g0 = a; g0 < b; g0 += block) {
        double s = 0.0;
        for (index_t g = g0; g < g0 + block; ++g) s += term(g - first);
        r.sums.push_back(s);
    }
    for (index_t g = b; g < end; ++g) r.tail.push_back(term(g - first));
    return r;
}

}  // namespace partita::medoids
