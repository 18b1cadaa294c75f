// Kernel k-means: Lloyd's iterations in the feature space of a kernel, on any Gram source of
// gram.hpp (docs/algorithms.md, "Kernel k-means objective", "Incremental updates",
// "Empty clusters").
//
// With weights w, labels L and s_c = sum_{j in c} w_j, the distance of point i to cluster c is
//     d(i, c) = K_ii - 2 E_ic / s_c + F_c / s_c^2,   E = K Z,   F_c = sum_{j in c} w_j E_jc,
// Z the weighted one-hot n x k matrix. E is kept cluster-major (k x n, double) and built by
// adding the rows of K: E[L_j][:] += w_j K[j][:] (K is symmetric, so row j is column j). That
// is one streaming pass over K, vectorised over the points, with no scatter; between iterations
// only the rows of the points that changed cluster are added and subtracted.
//
// Work is split over the points in fixed chunks of columns (CHUNK points, independent of the
// thread count) and every E entry is a sum over j in increasing order, so the result does not
// depend on the number of threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "partita/common.hpp"
#include "partita/kernel_kmeans/gram.hpp"
#include "partita/kernel_kmeans/symmetric_pass.hpp"

namespace partita::kernel_kmeans {

struct LloydParams {
    index_t max_iter = 300;
    double tol = 1e-4;
    int n_threads = 0;  // <= 0: what OpenMP would use
};

struct Result {
    std::vector<std::int32_t> labels;     // nearest centre of every point (ties: lowest cluster)
    std::vector<std::int32_t> centres;    // the partition whose means are the final centres
    std::vector<double> distances;        // d(i, labels_i)
    std::vector<double> cluster_weights;  // s_c of the centre partition
    std::vector<double> centre_norms;     // F_c / s_c^2: squared norm of each centre
    double inertia = 0.0;  // the objective of labels: sum_i w_i d(i, mean of labels' cluster)
    index_t n_iter = 0;
    index_t n_reseeded = 0;
    bool converged = false;    // stopped because no point changed cluster
    bool tol_reached = false;  // stopped because the inertia fell by at most tol
};

// Called after every iteration with (iteration, points that changed cluster, inertia).
using Progress = std::function<void(index_t, index_t, double)>;

// Moves points into the empty clusters (s_c = 0) of the partition L: the positive-weight points
// farthest from their centre (dist, ties to the lowest index), taken only from clusters that keep
// another positive-weight point. Empty clusters are filled in increasing order. Returns the
// number of points moved.
inline index_t reseed_empty(std::vector<std::int32_t>& L, const std::vector<double>& dist,
                            const double* w, index_t k) {
    const index_t n = index_t(L.size());
    std::vector<index_t> members(k, 0);
    for (index_t i = 0; i < n; ++i)
        if (w[i] > 0) ++members[L[i]];
    std::vector<index_t> empty;
    for (index_t c = 0; c < k; ++c)
        if (members[c] == 0) empty.push_back(c);
    if (empty.empty()) return 0;
    std::vector<index_t> order(n);
    std::iota(order.begin(), order.end(), index_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](index_t a, index_t b) { return dist[a] > dist[b]; });
    index_t moved = 0, pos = 0;
    for (index_t c : empty) {
        for (; pos < n; ++pos) {
            const index_t i = order[pos];
            if (w[i] > 0 && members[L[i]] >= 2) {
                --members[L[i]];
                L[i] = std::int32_t(c);
                members[c] = 1;
                ++moved;
                ++pos;
                break;
            }
        }
    }
    return moved;
}

// The first assignment, to the feature-space images of the seeds j: d(i, {j}) = K_ii - 2 K_ij +
// K_jj. Fills res.labels, res.distances and res.inertia.
template <class Src>
void assign_to_seeds(const Src& src, const std::vector<index_t>& seeds, const double* w,
                     int n_threads, InterruptCheck& interrupt, Result& res) {
    using T = typename Src::value_type;
    const index_t n = src.size(), k = index_t(seeds.size());
    std::vector<double> G(std::size_t(k) * n);
    chunked_pass<T>(n, n_threads, interrupt, [&](index_t b, index_t e, std::vector<T>& scratch) {
        src.rows(seeds.data(), k, b, e, scratch, [&](index_t r, const T* seg) {
            for (index_t i = b; i < e; ++i) G[r * n + i] = double(seg[i - b]);
        });
    });
    for (index_t i = 0; i < n; ++i) {
        const double kii = double(src.diag(i));
        double best = 0.0;
        std::int32_t arg = 0;
        for (index_t c = 0; c < k; ++c) {
            double d = kii - 2.0 * G[c * n + i] + double(src.diag(seeds[c]));
            d = d < 0.0 ? 0.0 : d;
            if (c == 0 || d < best) {
                best = d;
                arg = std::int32_t(c);
            }
        }
        res.labels[i] = arg;
        res.distances[i] = best;
    }
    for (index_t i = 0; i < n; ++i) res.inertia += w[i] * res.distances[i];
}

// Nearest cluster of every point for the given E, s and F (F_c / s_c^2 in `norms`); clusters
// with s_c = 0 are never chosen. Fills labels and dist; returns the weighted inertia.
template <class Src>
double assign(const Src& src, const std::vector<double>& E, const std::vector<double>& s,
              const std::vector<double>& norms, const double* w, index_t k, int n_threads,
              std::vector<std::int32_t>& labels, std::vector<double>& dist) {
    const index_t n = src.size();
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (index_t i = 0; i < n; ++i) {
        const double kii = double(src.diag(i));
        double best = std::numeric_limits<double>::infinity();
        std::int32_t arg = 0;
        bool found = false;
        for (index_t c = 0; c < k; ++c) {
            if (!(s[c] > 0)) continue;
            double d = kii - 2.0 * E[c * n + i] / s[c] + norms[c];
            d = d < 0.0 ? 0.0 : d;
            if (!found || d < best) {
                best = d;
                arg = std::int32_t(c);
                found = true;
            }
        }
        labels[i] = arg;
        dist[i] = best;
    }
    double inertia = 0.0;  // in index order: the same on any thread count
    for (index_t i = 0; i < n; ++i) inertia += w[i] * dist[i];
    return inertia;
}

// The centres of a partition: E = K Z (k x n), the cluster weights s and the squared centre
// norms F_c / s_c^2 (docs/algorithms.md, "Incremental updates").
class CentreSums {
public:
    std::vector<double> E, s, F, norms;
    std::vector<std::int32_t> centres;  // the partition; -1 before the first move_to

    CentreSums(index_t n, index_t k)
        : E(std::size_t(k) * n, 0.0),
          s(k, 0.0),
          F(k, 0.0),
          norms(k, 0.0),
          centres(n, -1),
          n_(n),
          k_(k) {}

    // Makes `next` the centre partition. E gets the rows of every positive-weight point the
    // first time or when more than half of them moved, else only the rows of those that moved
    // (subtracted from their old cluster, added to the new one).
    template <class Src>
    void move_to(const Src& src, const std::vector<std::int32_t>& next, const double* w,
                 int n_threads, InterruptCheck& interrupt) {
        using T = typename Src::value_type;
        const index_t n = n_;
        js_.clear();
        from_.clear();
        to_.clear();
        index_t n_moved = 0;
        if (!first_)
            for (index_t j = 0; j < n; ++j) n_moved += (next[j] != centres[j] && w[j] != 0);
        const bool full = first_ || 2 * n_moved > n;
        if (full) std::fill(E.begin(), E.end(), 0.0);
        for (index_t j = 0; j < n; ++j) {
            if (w[j] == 0) continue;
            if (full) {
                js_.push_back(j);
                from_.push_back(-1);
                to_.push_back(next[j]);
            } else if (next[j] != centres[j]) {
                js_.push_back(j);
                from_.push_back(centres[j]);
                to_.push_back(next[j]);
            }
        }
        if constexpr (std::is_same_v<Src, BlockedGram<T>>) {
            if (full) {  // each Gram entry computed once for both halves, same bits
                add_all_rows_symmetric(*src.X, next.data(), w, E.data(), n_threads, interrupt);
                finish(next, w);
                return;
            }
        }
        chunked_pass<T>(
            n, n_threads, interrupt, [&](index_t b, index_t e, std::vector<T>& scratch) {
                src.rows(js_.data(), index_t(js_.size()), b, e, scratch,
                         [&](index_t r, const T* seg) {
                             const double wj = w[js_[r]];
                             if (from_[r] >= 0)
                                 detail::axpy(-wj, seg, e - b, E.data() + from_[r] * n + b);
                             detail::axpy(wj, seg, e - b, E.data() + to_[r] * n + b);
                         });
            });
        finish(next, w);
    }

private:
    void finish(const std::vector<std::int32_t>& next, const double* w) {
        centres = next;
        first_ = false;
        weigh(w);
    }

    // s, F (summed in increasing point order) and the norms of the centre partition.
    void weigh(const double* w) {
        std::fill(s.begin(), s.end(), 0.0);
        std::fill(F.begin(), F.end(), 0.0);
        for (index_t j = 0; j < n_; ++j) {
            s[centres[j]] += w[j];
            F[centres[j]] += w[j] * E[centres[j] * n_ + j];
        }
        for (index_t c = 0; c < k_; ++c) norms[c] = s[c] > 0 ? F[c] / (s[c] * s[c]) : 0.0;
    }

    index_t n_, k_;
    bool first_ = true;
    std::vector<index_t> js_;              // rows the next pass adds to E
    std::vector<std::int32_t> from_, to_;  // their old (-1: none) and new clusters
};

// sum_i w_i d(i, L_i) for the partition L that `sums` holds (clusters with s_c = 0 hold only
// points of weight 0, which add nothing), summed in point order.
template <class Src>
double labels_objective(const Src& src, const CentreSums& sums, const std::vector<std::int32_t>& L,
                        const double* w) {
    const index_t n = src.size();
    double total = 0.0;
    for (index_t i = 0; i < n; ++i) {
        const index_t c = L[i];
        if (!(w[i] != 0) || !(sums.s[c] > 0)) continue;
        double d = double(src.diag(i)) - 2.0 * sums.E[c * n + i] / sums.s[c] + sums.norms[c];
        total += w[i] * (d < 0.0 ? 0.0 : d);
    }
    return total;
}

// Lloyd's iterations from the feature-space images of the points `seeds`
// (docs/algorithms.md, "Kernel k-means objective").
//
// Iteration: re-seed the empty clusters of the current partition, make it the centres (E, s, F),
// assign every point to its nearest centre. Stops when no point changes cluster (converged),
// when the inertia decreased by at most tol times its previous value, or after max_iter
// iterations. `labels` are always the nearest centres of the returned `centres` partition, and
// `inertia` is the objective of `labels` (equal to that of the last assignment on convergence).
template <class Src>
Result lloyd(const Src& src, const std::vector<index_t>& seeds, const double* w,
             const LloydParams& params, InterruptCheck& interrupt, const Progress& progress) {
    const index_t n = src.size(), k = index_t(seeds.size());
    require(k >= 1 && k <= n, "need 1 <= k <= n seeds");
    for (index_t s : seeds) require(s >= 0 && s < n, "seed index out of range");
    const int n_threads = resolve_threads(params.n_threads);
    Result res;
    res.labels.assign(n, 0);
    res.distances.assign(n, 0.0);
    assign_to_seeds(src, seeds, w, n_threads, interrupt, res);

    CentreSums sums(n, k);
    std::vector<std::int32_t> next(n), new_labels(n);
    std::vector<double> new_dist(n);
    while (res.n_iter < params.max_iter) {
        interrupt();
        // The partition that defines the centres: the labels, with empty clusters re-seeded.
        next = res.labels;
        res.n_reseeded += reseed_empty(next, res.distances, w, k);
        sums.move_to(src, next, w, n_threads, interrupt);

        const double inertia =
            assign(src, sums.E, sums.s, sums.norms, w, k, n_threads, new_labels, new_dist);
        index_t changed = 0;
        for (index_t i = 0; i < n; ++i) changed += new_labels[i] != sums.centres[i];
        ++res.n_iter;
        if (progress) progress(res.n_iter, changed, inertia);
        const double previous = res.inertia;
        res.labels.swap(new_labels);
        res.distances.swap(new_dist);
        res.inertia = inertia;
        if (changed == 0) {
            res.converged = true;
            break;
        }
        if (previous - inertia <= params.tol * previous) {
            res.tol_reached = true;
            break;
        }
    }
    if (res.n_iter == 0) {  // max_iter = 0 is refused by the estimator; keep the seeds' labels
        sums.centres = res.labels;
        std::fill(sums.s.begin(), sums.s.end(), 0.0);
        for (index_t j = 0; j < n; ++j) sums.s[sums.centres[j]] += w[j];
    }
    res.centres = sums.centres;
    res.cluster_weights = sums.s;
    res.centre_norms = sums.norms;
    // Not converged: labels differ from the centre partition, so the inertia of the last
    // assignment is not their objective; the means of labels' own clusters give it.
    if (!res.converged && res.n_iter > 0) {
        sums.move_to(src, res.labels, w, n_threads, interrupt);
        res.inertia = labels_objective(src, sums, res.labels, w);
    }
    return res;
}

}  // namespace partita::kernel_kmeans
