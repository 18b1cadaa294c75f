// The silhouette of a labelling (exact, O(n^2)) and the medoid silhouette of a set of medoids
// (O(nk)) (docs/algorithms.md, "Silhouette" and "Medoid silhouette"). Sums run in the point
// order of the reference implementation, so unit weights give its values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/sources.hpp"

namespace partita::medoids {

struct SilhouetteResult {
    double mean = 0.0;            // weighted mean over the points
    std::vector<double> samples;  // every point's value (empty unless asked for)
};

// x / y, or 0 unless y > 0.
inline double checked_div(double x, double y) { return y > 0.0 ? x / y : 0.0; }

// Weighted distance sums of point i to every cluster, i itself left out, each sum sequential
// in the other point's index.
template <class T>
PARTITA_MULTIVERSION void cluster_sums(const T* __restrict row, const std::int32_t* __restrict lab,
                                       const double* __restrict w, index_t n, index_t i,
                                       double* __restrict acc) {
    for (index_t j = 0; j < i; ++j) acc[lab[j]] += w[j] * double(row[j]);
    for (index_t j = i + 1; j < n; ++j) acc[lab[j]] += w[j] * double(row[j]);
}

// Silhouette of every point: (b - a) / max(a, b) with a the mean distance to its own cluster
// and b the smallest mean distance to another cluster (clusters of zero weight skipped); 0 for
// a point alone in its cluster. labels in [0, n_clusters).
template <class Src, class T = typename Src::value_type>
SilhouetteResult silhouette(const Src& src, const std::int32_t* labels, index_t n_clusters,
                            const double* w, bool samples, int n_threads,
                            InterruptCheck& interrupt) {
    const index_t n = src.size(), c = n_clusters;
    std::vector<double> weight(c, 0.0), value(n, 0.0);
    for (index_t j = 0; j < n; ++j) weight[labels[j]] += w[j];
    const index_t block = std::min(n, Src::stored ? index_t(4096) : row_block<Src>());
    std::vector<T> buffer;
    std::vector<const T*> rows;
    std::vector<index_t> js;
    std::vector<double> acc(std::size_t(n_threads) * c);
    for (index_t i0 = 0; i0 < n; i0 += block) {
        const index_t count = std::min(block, n - i0);
        js.resize(count);
        for (index_t q = 0; q < count; ++q) js[q] = i0 + q;
        gather_rows(src, js.data(), count, buffer, rows);
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 8) if (count * n > (1 << 16))
        for (index_t q = 0; q < count; ++q) {
            const index_t i = i0 + q;
            double* a_c = &acc[std::size_t(omp_get_thread_num()) * c];
            std::fill(a_c, a_c + c, 0.0);
            cluster_sums(rows[q], labels, w, n, i, a_c);
            const std::int32_t own = labels[i];
            const double own_weight = weight[own] - w[i];
            if (!(own_weight > 0.0)) continue;  // alone in its cluster: 0
            const double a = checked_div(a_c[own], own_weight);
            double b = 0.0;
            bool first = true;
            for (index_t m = 0; m < c; ++m) {
                if (m == own || !(weight[m] > 0.0)) continue;
                const double mean = checked_div(a_c[m], weight[m]);
                if (first || mean < b) b = mean, first = false;
            }
            value[i] = checked_div(b - a, a > b ? a : b);
        }
        interrupt();
    }
    SilhouetteResult r;
    double sum = 0.0, total = 0.0;
    for (index_t i = 0; i < n; ++i) sum += w[i] * value[i], total += w[i];
    r.mean = sum / total;
    if (samples) r.samples = std::move(value);
    return r;
}

// Medoid silhouette: 1 - near / second for every point, over the given k >= 2 medoids (a point
// at distance 0 from its nearest medoid scores 1).
template <class Src, class T = typename Src::value_type>
SilhouetteResult medoid_silhouette(const Src& src, const std::vector<index_t>& med, const double* w,
                                   bool samples, int n_threads) {
    const index_t n = src.size(), k = index_t(med.size());
    std::vector<T> buffer;
    std::vector<const T*> rows;
    gather_rows(src, med.data(), k, buffer, rows);
    std::vector<double> ratio(n, 0.0);
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n * k > (1 << 16))
    for (index_t i = 0; i < n; ++i) {
        const T d1 = rows[0][i], d2 = rows[1][i];
        T near = d1 < d2 ? d1 : d2, seco = d1 < d2 ? d2 : d1;
        for (index_t m = 2; m < k; ++m) {
            const T d = rows[m][i];
            if (d < near) {
                seco = near, near = d;
            } else if (d < seco) {
                seco = d;
            }
        }
        if (near != T(0)) ratio[i] = double(near) / double(seco);
    }
    SilhouetteResult r;
    double loss = 0.0, total = 0.0;
    for (index_t i = 0; i < n; ++i) loss += w[i] * ratio[i], total += w[i];
    r.mean = 1.0 - loss / total;
    if (samples) {
        r.samples.resize(n);
        for (index_t i = 0; i < n; ++i) r.samples[i] = 1.0 - ratio[i];
    }
    return r;
}

}  // namespace partita::medoids
