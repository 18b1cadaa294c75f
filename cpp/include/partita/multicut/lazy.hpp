// Contraction on exact kNN graphs of the active clusters, rebuilt in rounds until a rebuild
// finds no positive edge, which certifies that no two final clusters have a positive merge
// cost (docs/algorithms.md, "Lazy kNN rounds").
#pragma once

#include <algorithm>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

#include "partita/common.hpp"
#include "partita/multicut/contraction.hpp"
#include "partita/multicut/knn.hpp"
#include "partita/multicut/objective.hpp"

namespace partita::multicut {

// A kNN search of the active clusters with knn_positive()'s contract (the GPU path passes its
// device search, which returns the same lists).
using KnnSearch =
    std::function<void(const double* F, const double* s, index_t m, index_t d, double a, index_t k,
                       std::vector<index_t>& nbr, std::vector<double>& cost)>;

namespace detail {

// The best neighbour v of u, valid while both clusters keep the versions vu and vv.
struct LazyEdge {
    double cost;
    index_t lo, hi;  // representatives, for the tie order
    index_t u, v, vu, vv;
};

// Max-heap on cost, then on the smallest pair (lo, hi) of representatives.
struct LazyOrder {
    bool operator()(const LazyEdge& x, const LazyEdge& y) const {
        if (x.cost != y.cost) return x.cost < y.cost;
        if (x.lo != y.lo) return x.lo > y.lo;
        return x.hi > y.hi;
    }
};

// The active clusters of one round as local arrays 0..m-1, in increasing representative order.
struct RoundClusters {
    std::vector<double> F;  // m x d sums of features
    std::vector<double> size;
    std::vector<index_t> rep;  // smallest node
};

inline RoundClusters gather_round(const std::vector<double>& F, const std::vector<double>& size,
                                  const std::vector<index_t>& rep, const std::vector<index_t>& ids,
                                  index_t d) {
    const index_t m = index_t(ids.size());
    RoundClusters L;
    L.F.resize(std::size_t(m) * d);
    L.size.resize(m);
    L.rep.resize(m);
    for (index_t u = 0; u < m; ++u) {
        std::copy(F.begin() + std::size_t(ids[u]) * d, F.begin() + std::size_t(ids[u] + 1) * d,
                  L.F.begin() + std::size_t(u) * d);
        L.size[u] = size[ids[u]];
        L.rep[u] = rep[ids[u]];
    }
    return L;
}

// The symmetrised kNN graph of the lists nbr (m x k); false when it has no edge.
inline bool knn_graph(const std::vector<index_t>& nbr, index_t m, index_t k,
                      std::vector<std::vector<index_t>>& adj) {
    adj.assign(m, std::vector<index_t>());
    bool any = false;
    for (index_t u = 0; u < m; ++u)
        for (index_t p = 0; p < k; ++p) {
            const index_t v = nbr[u * k + p];
            if (v < 0) break;
            adj[u].push_back(v);
            adj[v].push_back(u);
            any = true;
        }
    return any;
}

// Greedy contraction of the clusters L on the graph adj (from the kNN lists nbr, cost). Every
// cluster keeps its best neighbour in a max-heap (as in gaec(), restricted to the graph): a
// popped entry whose partner changed is re-evaluated over the cluster's current neighbours. A
// merged cluster's neighbours are the union of the two lists, each cost recomputed exactly
// from the summed features. Returns the union-find parents over 0..m-1.
inline std::vector<index_t> contract_graph(RoundClusters& L, std::vector<std::vector<index_t>>& adj,
                                           const std::vector<index_t>& nbr,
                                           const std::vector<double>& cost, index_t k, index_t d,
                                           double a, InterruptCheck& interrupt, index_t& n_merges) {
    const index_t m = index_t(L.size.size());
    std::vector<double>& Fl = L.F;
    std::vector<double>& sl = L.size;
    const std::vector<index_t>& repl = L.rep;
    std::priority_queue<LazyEdge, std::vector<LazyEdge>, LazyOrder> heap;
    std::vector<index_t> parent(m), version(m, 0), mark(m, -1);
    for (index_t u = 0; u < m; ++u) parent[u] = u;
    std::vector<char> alive(m, 1);
    index_t stamp = 0;
    std::vector<index_t> list;
    // Resolves u's neighbours through the merges (unique, without u), stores them as its
    // new list and pushes its best neighbour when that cost is positive.
    auto push_best = [&](index_t u) {
        ++stamp;
        mark[u] = stamp;
        list.clear();
        for (index_t w : adj[u]) {
            w = find_root(parent, w);
            if (mark[w] == stamp) continue;
            mark[w] = stamp;
            list.push_back(w);
        }
        adj[u].assign(list.begin(), list.end());
        const double* fu = Fl.data() + std::size_t(u) * d;
        double best = 0.0;
        index_t arg = -1;
        for (index_t w : list) {
            const double cw = pair_cost(fu, Fl.data() + std::size_t(w) * d, d, a, sl[u], sl[w]);
            if (cw > best || (cw == best && arg >= 0 && repl[w] < repl[arg])) {
                best = cw;
                arg = w;
            }
        }
        if (arg >= 0)
            heap.push(LazyEdge{best, std::min(repl[u], repl[arg]), std::max(repl[u], repl[arg]), u,
                               arg, version[u], version[arg]});
    };
    for (index_t u = 0; u < m; ++u)
        if (nbr[u * k] >= 0)  // the best out-neighbour is first; in-edges come from others
            heap.push(LazyEdge{cost[u * k], std::min(repl[u], repl[nbr[u * k]]),
                               std::max(repl[u], repl[nbr[u * k]]), u, nbr[u * k], 0, 0});
    while (!heap.empty()) {
        interrupt();
        const LazyEdge e = heap.top();
        heap.pop();
        if (!(e.cost > 0.0)) break;
        if (!alive[e.u] || version[e.u] != e.vu) continue;  // superseded entry
        if (!alive[e.v] || version[e.v] != e.vv) {          // the partner changed
            push_best(e.u);
            continue;
        }
        const index_t keep = repl[e.u] < repl[e.v] ? e.u : e.v;
        const index_t gone = keep == e.u ? e.v : e.u;
        add_features(Fl.data() + std::size_t(keep) * d, Fl.data() + std::size_t(gone) * d, d);
        sl[keep] += sl[gone];
        alive[gone] = 0;
        parent[gone] = keep;
        ++version[keep];
        ++n_merges;
        adj[keep].insert(adj[keep].end(), adj[gone].begin(), adj[gone].end());
        std::vector<index_t>().swap(adj[gone]);
        push_best(keep);
    }
    return parent;
}

}  // namespace detail

// Contraction from the partition `labels` (0..c-1) on exact kNN graphs of the active clusters
// (k = n_neighbors), rebuilt in rounds until a rebuild finds no positive edge. Returns the
// labels (0..c'-1), merges and rounds. `search` (null: knn_positive) replaces the kNN search.
inline Result lazy(const std::vector<double>& X, index_t n, index_t d, double a,
                   std::vector<index_t> labels, index_t n_neighbors, int n_threads,
                   InterruptCheck& interrupt, const double* w = nullptr,
                   const KnnSearch* search = nullptr) {
    Result res;
    index_t c = relabel(labels);
    std::vector<double> F, size;
    cluster_sums(X.data(), n, d, labels.data(), c, F, size, w);
    // Representative of a cluster: its smallest node.
    std::vector<index_t> rep(c, -1);
    for (index_t i = n - 1; i >= 0; --i) rep[labels[i]] = i;

    // `cl_parent` maps every original cluster (labels) to its current cluster through merges.
    std::vector<index_t> cl_parent(c);
    for (index_t i = 0; i < c; ++i) cl_parent[i] = i;
    std::vector<index_t> ids(c);  // active original cluster ids, in increasing rep order
    for (index_t i = 0; i < c; ++i) ids[i] = i;

    while (ids.size() >= 2) {
        interrupt();
        const index_t m = index_t(ids.size());
        detail::RoundClusters L = detail::gather_round(F, size, rep, ids, d);
        const index_t k = std::min(n_neighbors, m - 1);
        std::vector<index_t> nbr;
        std::vector<double> cost;
        if (search) (*search)(L.F.data(), L.size.data(), m, d, a, k, nbr, cost);
        else knn_positive(L.F.data(), L.size.data(), m, d, a, k, n_threads, interrupt, nbr, cost);
        ++res.n_rounds;

        std::vector<std::vector<index_t>> adj;
        if (!detail::knn_graph(nbr, m, k, adj))
            break;  // certificate: no positive edge between active clusters
        std::vector<index_t> parent =
            detail::contract_graph(L, adj, nbr, cost, k, d, a, interrupt, res.n_merges);

        // Back to the original cluster ids.
        std::vector<index_t> next;
        for (index_t u = 0; u < m; ++u) {
            const index_t root = find_root(parent, u);
            cl_parent[ids[u]] = ids[root];
            if (root == u) {
                next.push_back(ids[u]);
                std::copy(L.F.begin() + std::size_t(u) * d, L.F.begin() + std::size_t(u + 1) * d,
                          F.begin() + std::size_t(ids[u]) * d);
                size[ids[u]] = L.size[u];
            }
        }
        ids = std::move(next);
    }

    res.labels.resize(n);
    for (index_t i = 0; i < n; ++i) res.labels[i] = find_root(cl_parent, labels[i]);
    res.n_clusters = relabel(res.labels);
    return res;
}

}  // namespace partita::multicut
