// The state a multicut solver keeps about a partition, shared by gaec(), lazy() and refine():
// the Result, union-find over merged clusters, canonical labels and cluster sums.
#pragma once

#include <algorithm>
#include <vector>

#include "partita/common.hpp"

namespace partita::multicut {

struct Result {
    std::vector<index_t> labels;  // 0..c-1 in the order of each cluster's smallest node
    index_t n_clusters = 0;
    index_t n_merges = 0;   // contractions
    index_t n_rounds = 0;   // kNN graphs built (lazy rounds)
    index_t n_queries = 0;  // exact best-partner searches (gaec)
    index_t n_moves = 0;    // node moves of refine
    double objective = 0.0;
    bool converged = true;  // false: the alternation of moves and contraction was cut short
    int n_threads = 0;      // OpenMP threads used
};

inline index_t find_root(std::vector<index_t>& parent, index_t i) {
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

// Labels 0..c-1 numbered in the order of each cluster's smallest node; returns c.
inline index_t relabel(std::vector<index_t>& labels) {
    const index_t n = index_t(labels.size());
    index_t top = 0;
    for (index_t i = 0; i < n; ++i) top = std::max(top, labels[i] + 1);
    std::vector<index_t> map(top, -1);
    index_t c = 0;
    for (index_t i = 0; i < n; ++i) {
        index_t& m = map[labels[i]];
        if (m < 0) m = c++;
        labels[i] = m;
    }
    return c;
}

// Sums F_C (c x d, in node order) and sizes of the clusters of labels (0..c-1); a node counts
// w[i] in its cluster's size (1 when w is null; X then holds the rows already scaled by w).
inline void cluster_sums(const double* X, index_t n, index_t d, const index_t* labels, index_t c,
                         std::vector<double>& F, std::vector<double>& size,
                         const double* w = nullptr) {
    F.assign(std::size_t(c) * d, 0.0);
    size.assign(c, 0.0);
    for (index_t i = 0; i < n; ++i) {
        double* f = F.data() + std::size_t(labels[i]) * d;
        const double* x = X + std::size_t(i) * d;
        for (index_t t = 0; t < d; ++t) f[t] += x[t];
        size[labels[i]] += w ? w[i] : 1.0;
    }
}

// Contraction of cluster `gone` into cluster `keep`: F_keep += F_gone.
inline void add_features(double* fk, const double* fg, index_t d) {
    for (index_t t = 0; t < d; ++t) fk[t] += fg[t];
}

}  // namespace partita::multicut
