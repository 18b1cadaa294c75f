// Dense multicut (correlation clustering) on the complete graph whose edge costs are inner
// products of node features (docs/algorithms.md, "Multicut objective"; objective.hpp):
//  - gaec():   greedy additive edge contraction in the exact greedy order (gaec.hpp);
//  - lazy():   contraction on exact kNN graphs of the active clusters, in rounds (lazy.hpp);
//  - refine(): single-node moves that lower the objective (refine.hpp).
// solve() runs one contraction, then alternates local moves and contraction.
#pragma once

#include <utility>
#include <vector>

#include "partita/common.hpp"
#include "partita/multicut/contraction.hpp"
#include "partita/multicut/gaec.hpp"
#include "partita/multicut/lazy.hpp"
#include "partita/multicut/objective.hpp"
#include "partita/multicut/refine.hpp"

namespace partita::multicut {

enum class Algorithm : int { gaec = 0, lazy = 1 };

struct Params {
    double offset = 0.0;          // a >= 0
    Metric metric = Metric::dot;  // applied when the features are converted
    Algorithm algorithm = Algorithm::lazy;
    index_t n_neighbors = 10;  // k of the kNN graphs (lazy, and after refine)
    bool refine = true;
    index_t max_passes = 20;  // passes of moves per refinement
    index_t max_rounds = 10;  // alternations of moves and contraction
    int n_threads = 0;        // 0: OpenMP's default
};

// Contraction (gaec or lazy), then, with refine, alternating local moves and lazy contraction
// from the refined partition until neither changes anything (at most max_rounds alternations),
// so that the final clusters have no positive merge left between them (converged; false when
// max_rounds ran out first). X: n x d doubles, already converted for p.metric and scaled by the
// node weights w (null: every weight 1); p.n_threads resolved. `search` (null: the CPU's
// knn_positive) is the kNN search of every lazy round.
inline Result solve(const std::vector<double>& X, index_t n, index_t d, const Params& p,
                    InterruptCheck& interrupt, const double* w = nullptr,
                    const KnnSearch* search = nullptr) {
    const double a = p.offset;
    const index_t n_neighbors = p.n_neighbors, max_passes = p.max_passes;
    const int n_threads = p.n_threads;
    Result res;
    if (n == 0) return res;
    if (p.algorithm == Algorithm::gaec) {
        res = gaec(X, n, d, a, n_threads, interrupt, w);
    } else {
        std::vector<index_t> singletons(n);
        for (index_t i = 0; i < n; ++i) singletons[i] = i;
        res = lazy(X, n, d, a, std::move(singletons), n_neighbors, n_threads, interrupt, w, search);
    }
    if (p.refine) {
        res.converged = false;
        for (index_t round = 0; round < p.max_rounds; ++round) {
            const index_t moved =
                refine(X, n, d, a, res.labels, max_passes, n_threads, interrupt, w);
            res.n_moves += moved;
            if (moved == 0) {
                res.converged = true;
                break;
            }
            Result again =
                lazy(X, n, d, a, res.labels, n_neighbors, n_threads, interrupt, w, search);
            res.labels = std::move(again.labels);
            res.n_merges += again.n_merges;
            res.n_rounds += again.n_rounds;
            if (again.n_merges == 0) {
                res.converged = true;
                break;
            }
        }
    }
    res.n_clusters = relabel(res.labels);
    res.objective = objective(X.data(), n, d, res.labels.data(), res.n_clusters, a, w);
    res.n_threads = n_threads;
    return res;
}

}  // namespace partita::multicut
