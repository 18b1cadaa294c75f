// Greedy additive edge contraction of the complete graph in its exact greedy order
// (docs/algorithms.md, "GAEC"). Every active cluster keeps its best partner (an exact maximum
// inner product search over the active clusters) in a max-heap; a popped entry whose partner
// is gone is re-queried. Ties: the largest cost first, then the smallest pair (lo, hi) of
// cluster representatives (a cluster's representative is its smallest node index).
#pragma once

#include <algorithm>
#include <limits>
#include <queue>
#include <vector>

#include "partita/common.hpp"
#include "partita/multicut/contraction.hpp"
#include "partita/multicut/knn.hpp"
#include "partita/multicut/tiles.hpp"

namespace partita::multicut {

namespace detail {

// The best partner of `self`, valid while both clusters keep the versions vs and vp.
struct GaecEntry {
    double cost;
    index_t self, partner, vs, vp;
};

// Max-heap on cost, then on the smallest pair (lo, hi) of representatives (slots are reps).
struct GaecOrder {
    bool operator()(const GaecEntry& x, const GaecEntry& y) const {
        if (x.cost != y.cost) return x.cost < y.cost;
        const index_t xl = std::min(x.self, x.partner), yl = std::min(y.self, y.partner);
        if (xl != yl) return xl > yl;
        return std::max(x.self, x.partner) > std::max(y.self, y.partner);
    }
};

// Packed feature-major copy of the active clusters, in increasing slot order. Columns of
// clusters merged away stay until the next repack (the searches skip them).
struct ActiveColumns {
    index_t m = 0;              // columns
    std::vector<double> FT;     // d x m
    std::vector<index_t> slot;  // column -> slot
    std::vector<index_t> pos;   // slot -> column
    std::vector<double> size;   // column -> cluster size

    ActiveColumns(const std::vector<double>& F, const std::vector<double>& sizes, index_t n,
                  index_t d)
        : m(n), FT(transpose(F.data(), n, d)), slot(n), pos(n), size(sizes) {
        for (index_t i = 0; i < n; ++i) slot[i] = pos[i] = i;
    }

    // The column of slot `keep` after a merge.
    void update(index_t keep, const double* fk, double size_keep, index_t d) {
        const index_t pk = pos[keep];
        size[pk] = size_keep;
        for (index_t t = 0; t < d; ++t) FT[std::size_t(t) * m + pk] = fk[t];
    }

    // Drops the columns of the clusters merged away.
    void repack(const std::vector<double>& F, const std::vector<double>& sizes,
                const std::vector<char>& active, index_t d) {
        index_t mm = 0;
        for (index_t j = 0; j < m; ++j)
            if (active[slot[j]]) slot[mm++] = slot[j];
        m = mm;
        FT.assign(std::size_t(m) * d, 0.0);
        size.assign(m, 0.0);
        for (index_t j = 0; j < m; ++j) {
            const index_t s = slot[j];
            pos[s] = j;
            size[j] = sizes[s];
            for (index_t t = 0; t < d; ++t) FT[std::size_t(t) * m + j] = F[std::size_t(s) * d + t];
        }
    }
};

// Best partner of slot q (features fq, size sq) among the active clusters: the largest cost,
// ties to the smallest slot. Fixed parts combined in order: the same answer on any thread count.
inline void best_partner(const ActiveColumns& cols, const std::vector<char>& active,
                         const double* fq, double sq, index_t q, index_t d, double a, int n_threads,
                         std::vector<double>& buf, double& best_cost, index_t& best_slot) {
    constexpr index_t PART = 32768;  // a parallel region per query pays off only on long scans
    const index_t m = cols.m;
    const index_t parts = std::max<index_t>(1, std::min<index_t>(n_threads, m / PART));
    std::vector<double> pbest(parts, -std::numeric_limits<double>::infinity());
    std::vector<index_t> parg(parts, -1);
    auto run_part = [&](index_t p, double* scratch) {
        const EvenSplit split{m, parts};
        const index_t b = split.begin(p), e = split.begin(p + 1);
        double best = -std::numeric_limits<double>::infinity();
        index_t arg = -1;
        for (index_t j0 = b; j0 < e; j0 += detail::COL_CHUNK) {
            const index_t j1 = std::min(e, j0 + detail::COL_CHUNK);
            double* out[1] = {scratch};
            const double* qq[1] = {fq};
            detail::score_rows(qq, 1, cols.FT.data(), m, d, j0, j1, out);
            for (index_t j = j0; j < j1; ++j) {
                const index_t s = cols.slot[j];
                if (!active[s] || s == q) continue;
                const double v = scratch[j - j0] - a * (sq * cols.size[j]);
                if (v > best) {
                    best = v;
                    arg = s;
                }
            }
        }
        pbest[p] = best;
        parg[p] = arg;
    };
    if (parts == 1) {
        buf.resize(detail::COL_CHUNK);
        run_part(0, buf.data());
    } else {
#pragma omp parallel num_threads(int(parts))
        {
            std::vector<double> scratch(detail::COL_CHUNK);
#pragma omp for schedule(static, 1)
            for (index_t p = 0; p < parts; ++p) run_part(p, scratch.data());
        }
    }
    best_cost = -std::numeric_limits<double>::infinity();
    best_slot = -1;
    for (index_t p = 0; p < parts; ++p)
        if (parg[p] >= 0 && pbest[p] > best_cost) {
            best_cost = pbest[p];
            best_slot = parg[p];
        }
}

}  // namespace detail

// Greedy additive edge contraction of the complete graph from singletons, in the exact greedy
// order (ties to the smallest pair of representatives). X: n x d doubles (rows scaled by the
// node weights w, null: 1). Memory O(n d).
inline Result gaec(const std::vector<double>& X, index_t n, index_t d, double a, int n_threads,
                   InterruptCheck& interrupt, const double* w = nullptr) {
    using detail::GaecEntry;
    std::priority_queue<GaecEntry, std::vector<GaecEntry>, detail::GaecOrder> heap;

    std::vector<double> F = X;  // slot = representative = smallest node
    std::vector<double> size(n, 1.0);
    if (w) size.assign(w, w + n);
    std::vector<char> active(n, 1);
    std::vector<index_t> version(n, 0), parent(n);
    for (index_t i = 0; i < n; ++i) parent[i] = i;
    Result res;

    // Initial best partners: top-1 of the exact kNN search.
    {
        std::vector<index_t> nbr;
        std::vector<double> cost;
        knn_positive(F.data(), size.data(), n, d, a, 1, n_threads, interrupt, nbr, cost);
        for (index_t i = 0; i < n; ++i)
            if (nbr[i] >= 0) heap.push(GaecEntry{cost[i], i, nbr[i], 0, 0});
    }

    detail::ActiveColumns cols(F, size, n, d);
    index_t n_active = n;
    std::vector<double> buf;
    auto push_best = [&](index_t q) {
        double c;
        index_t s;
        detail::best_partner(cols, active, F.data() + std::size_t(q) * d, size[q], q, d, a,
                             n_threads, buf, c, s);
        ++res.n_queries;
        if (s >= 0 && c > 0.0) heap.push(GaecEntry{c, q, s, version[q], version[s]});
    };

    while (!heap.empty()) {
        interrupt();
        const GaecEntry e = heap.top();
        heap.pop();
        if (!(e.cost > 0.0)) break;
        if (!active[e.self] || version[e.self] != e.vs) continue;  // superseded entry
        if (!active[e.partner] || version[e.partner] != e.vp) {    // the partner changed
            push_best(e.self);
            continue;
        }
        const index_t keep = std::min(e.self, e.partner), gone = std::max(e.self, e.partner);
        double* fk = F.data() + std::size_t(keep) * d;
        add_features(fk, F.data() + std::size_t(gone) * d, d);
        size[keep] += size[gone];
        active[gone] = 0;
        ++version[keep];
        parent[gone] = keep;
        --n_active;
        ++res.n_merges;
        cols.update(keep, fk, size[keep], d);
        if (n_active * 2 < cols.m && cols.m > 256) cols.repack(F, size, active, d);
        push_best(keep);
    }

    res.labels.resize(n);
    for (index_t i = 0; i < n; ++i) res.labels[i] = find_root(parent, i);
    res.n_clusters = relabel(res.labels);
    return res;
}

}  // namespace partita::multicut
