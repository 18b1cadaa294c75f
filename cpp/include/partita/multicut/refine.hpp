// Local moves (docs/algorithms.md, "Local moves"): single nodes move to another cluster, or to
// a new cluster of their own, while that lowers the objective.
#pragma once

#include <cmath>
#include <memory>
#include <vector>

#include "partita/common.hpp"
#include "partita/multicut/contraction.hpp"
#include "partita/multicut/knn.hpp"
#include "partita/multicut/objective.hpp"

namespace partita::multicut {

namespace detail {

// Weight of node i (1 without weights).
inline double node_weight(const double* w, index_t i) { return w ? w[i] : 1.0; }

// For every node i, the cluster B != labels[i] with the largest g(B) = <f_i, F_B> - a w_i |B|
// (ties to the smallest B), in one blocked pass over the c clusters; cand[i] = -1 when c = 1.
inline std::vector<index_t> best_other_clusters(const std::vector<double>& X, index_t n, index_t d,
                                                double a, const std::vector<index_t>& labels,
                                                const std::vector<double>& F,
                                                const std::vector<double>& size, index_t c,
                                                int n_threads, InterruptCheck& interrupt,
                                                const double* w) {
    // Scores of every node against every cluster; float32 only when both sides allow it.
    bool low = true;
    std::unique_ptr<Rows> Q, C;
    for (int attempt = 0; attempt < 2; ++attempt) {
        Q = std::make_unique<Rows>(X.data(), n, d, false, low);
        C = std::make_unique<Rows>(F.data(), c, d, true, low);
        if (Q->low == C->low) break;
        low = false;
    }
    const double margin = Q->low ? Q->margin : 0.0;
    std::vector<index_t> cand(n, -1);
    std::vector<double> cval(n, 0.0);
    blocked_scores(
        *Q, *C, n_threads, interrupt, [&](index_t i, index_t j0, index_t j1, const auto* sc) {
            const index_t own = labels[i];
            const double wi = node_weight(w, i);
            const double* x = X.data() + std::size_t(i) * d;
            const double mi = margin * Q->norm[i];
            index_t arg = cand[i];
            double best = cval[i];
            for (index_t j = j0; j < j1; ++j) {
                if (j == own) continue;
                double v = double(sc[j - j0]) - a * (wi * size[j]);
                if (arg >= 0 && !(v + (mi * C->norm[j] + 1e-300) > best)) continue;
                if (margin > 0.0)
                    v = detail::dot(x, F.data() + std::size_t(j) * d, d) - a * (wi * size[j]);
                if (arg < 0 || v > best) {
                    best = v;
                    arg = j;
                }
            }
            cand[i] = arg;
            cval[i] = best;
        });
    return cand;
}

// Applies the moves to the candidates cand in node order, each re-checked against the current
// sums F and sizes: the gain of moving i from A to B is g(B) - g(A) + <f_i, f_i> - a w_i^2
// (g(new cluster) = 0), and a move is made only when the gain is positive beyond rounding.
// xx[i] = <f_i, f_i> (rows scaled by the weights w, null: 1); count[C] = nodes in C. Returns
// the number of moves.
inline index_t apply_moves(const std::vector<double>& X, index_t n, index_t d, double a,
                           const std::vector<double>& xx, const std::vector<index_t>& cand,
                           std::vector<index_t>& labels, std::vector<double>& F,
                           std::vector<double>& size, std::vector<index_t>& count,
                           InterruptCheck& interrupt, const double* w) {
    index_t pass_moves = 0;
    for (index_t i = 0; i < n; ++i) {
        interrupt();
        const index_t A = labels[i];
        const double wi = node_weight(w, i);
        const double* x = X.data() + std::size_t(i) * d;
        const double gA = detail::dot(x, F.data() + std::size_t(A) * d, d) - a * (wi * size[A]);
        index_t B = cand[i];
        double gB = 0.0;
        if (B >= 0) gB = detail::dot(x, F.data() + std::size_t(B) * d, d) - a * (wi * size[B]);
        if (B < 0 || !(gB > 0.0)) {  // a new cluster of its own is at least as good
            if (count[A] <= 1) continue;
            B = -1;
            gB = 0.0;
        }
        const double self = a * (wi * wi);
        const double gain = gB - gA + xx[i] - self;
        const double scale = std::abs(gA) + std::abs(gB) + xx[i] + self;
        if (!(gain > 1e-12 * scale)) continue;
        if (B < 0) {
            B = index_t(size.size());
            size.push_back(0.0);
            count.push_back(0);
            F.resize(F.size() + d, 0.0);
        }
        double* fa = F.data() + std::size_t(A) * d;
        double* fb = F.data() + std::size_t(B) * d;
        for (index_t t = 0; t < d; ++t) {
            fa[t] -= x[t];
            fb[t] += x[t];
        }
        size[A] -= wi;
        size[B] += wi;
        --count[A];
        ++count[B];
        labels[i] = B;
        ++pass_moves;
    }
    return pass_moves;
}

}  // namespace detail

// Moves single nodes between clusters (or into a new cluster) while that lowers the objective.
// Each pass finds, for every node, its best other cluster (detail::best_other_clusters), then
// applies the moves in node order (detail::apply_moves). Stops after a pass without moves or
// max_passes. labels: 0..c-1 in, 0..c'-1 out. Returns the number of moves.
inline index_t refine(const std::vector<double>& X, index_t n, index_t d, double a,
                      std::vector<index_t>& labels, index_t max_passes, int n_threads,
                      InterruptCheck& interrupt, const double* w = nullptr) {
    index_t moves = 0;
    std::vector<double> xx(n);
    for (index_t i = 0; i < n; ++i) {
        const double* x = X.data() + std::size_t(i) * d;
        xx[i] = detail::dot(x, x, d);
    }
    for (index_t pass = 0; pass < max_passes; ++pass) {
        index_t c = relabel(labels);
        std::vector<double> F, size;
        cluster_sums(X.data(), n, d, labels.data(), c, F, size, w);
        std::vector<index_t> count(c, 0);
        for (index_t i = 0; i < n; ++i) ++count[labels[i]];
        const std::vector<index_t> cand =
            detail::best_other_clusters(X, n, d, a, labels, F, size, c, n_threads, interrupt, w);
        const index_t pass_moves =
            detail::apply_moves(X, n, d, a, xx, cand, labels, F, size, count, interrupt, w);
        moves += pass_moves;
        if (pass_moves == 0) break;
    }
    relabel(labels);
    return moves;
}

}  // namespace partita::multicut
