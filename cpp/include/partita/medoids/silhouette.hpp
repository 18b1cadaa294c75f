// The silhouette of a labelling (exact, O(n^2)) and the medoid silhouette of a set of medoids
// (O(nk)) (docs/algorithms.md, "Silhouette" and "Medoid silhouette"). Sums run in the point
// order of the reference implementation, so unit weights give its values.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/sources.hpp"

namespace partita::medoids {

struct SilhouetteResult {
    double mean = 0.0;            // weighted mean over the points
    bool valid = true;            // every distance read was finite and non-negative
    std::vector<double> samples;  // every point's value (empty unless asked for)
};

// x / y, or 0 unless y > 0.
inline double checked_div(double x, double y) { return y > 0.0 ? x / y : 0.0; }

// Weighted distance sums of points i0 .. i0+3 (rows r[0..3]) to every cluster, each point itself
// left out, each sum sequential in the other point's index. Four rows at once: their sums are
// independent, so additions to one cluster need not wait on each other. kUnit: all weights 1
// (1 * x == x, the same sums without reading w).
template <class T, bool kUnit>
PARTITA_MULTIVERSION void cluster_sums4(const T* const* r, const std::int32_t* __restrict lab,
                                        const double* __restrict w, index_t n, index_t i0,
                                        index_t c, double* __restrict acc, bool& valid) {
    const T* __restrict r0 = r[0], * __restrict r1 = r[1], * __restrict r2 = r[2];
    const T* __restrict r3 = r[3];
    double *a0 = acc, *a1 = acc + c, *a2 = acc + 2 * c, *a3 = acc + 3 * c;
    bool ok = true;  // no negative or NaN distance (an infinite one makes a sum infinite)
    auto all = [&](index_t j) {
        const std::int32_t l = lab[j];
        const double wj = kUnit ? 1.0 : w[j];
        const double x0 = r0[j], x1 = r1[j], x2 = r2[j], x3 = r3[j];
        ok &= (x0 >= 0.0) & (x1 >= 0.0) & (x2 >= 0.0) & (x3 >= 0.0);
        a0[l] += wj * x0;
        a1[l] += wj * x1;
        a2[l] += wj * x2;
        a3[l] += wj * x3;
    };
    for (index_t j = 0; j < i0; ++j) all(j);
    for (index_t j = i0; j < i0 + 4; ++j) {  // the four points themselves: each skips its own
        const std::int32_t l = lab[j];
        const double wj = kUnit ? 1.0 : w[j];
        const double x0 = r0[j], x1 = r1[j], x2 = r2[j], x3 = r3[j];
        if (j != i0) ok &= x0 >= 0.0, a0[l] += wj * x0;
        if (j != i0 + 1) ok &= x1 >= 0.0, a1[l] += wj * x1;
        if (j != i0 + 2) ok &= x2 >= 0.0, a2[l] += wj * x2;
        if (j != i0 + 3) ok &= x3 >= 0.0, a3[l] += wj * x3;
    }
    for (index_t j = i0 + 4; j < n; ++j) all(j);
    valid = ok;
}

// The same for one point i.
template <class T>
void cluster_sums(const T* __restrict row, const std::int32_t* __restrict lab,
                  const double* __restrict w, index_t n, index_t i, double* __restrict acc,
                  bool& valid) {
    bool ok = true;
    for (index_t j = 0; j < n; ++j) {
        if (j == i) continue;
        ok &= double(row[j]) >= 0.0;
        acc[lab[j]] += w[j] * double(row[j]);
    }
    valid = ok;
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
    std::vector<double> acc(std::size_t(n_threads) * 4 * c);
    bool unit = true;
    for (index_t j = 0; j < n; ++j) unit &= w[j] == 1.0;
    // (b - a) / max(a, b) of point i from its cluster sums.
    std::vector<char> row_valid(n, 1);
    auto finish = [&](index_t i, const double* a_c) {
        for (index_t m = 0; m < c; ++m) row_valid[i] &= std::isfinite(a_c[m]) ? 1 : 0;
        const std::int32_t own = labels[i];
        const double own_weight = weight[own] - w[i];
        if (!(own_weight > 0.0)) return;  // alone in its cluster: 0
        const double a = checked_div(a_c[own], own_weight);
        double b = 0.0;
        bool first = true;
        for (index_t m = 0; m < c; ++m) {
            if (m == own || !(weight[m] > 0.0)) continue;
            const double mean = checked_div(a_c[m], weight[m]);
            if (first || mean < b) b = mean, first = false;
        }
        value[i] = checked_div(b - a, a > b ? a : b);
    };
    for (index_t i0 = 0; i0 < n; i0 += block) {
        const index_t count = std::min(block, n - i0);
        js.resize(count);
        for (index_t q = 0; q < count; ++q) js[q] = i0 + q;
        gather_rows(src, js.data(), count, buffer, rows);
        const index_t groups = (count + 3) / 4;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 2) if (count * n > (1 << 16))
        for (index_t g = 0; g < groups; ++g) {
            const index_t q0 = 4 * g, r = std::min<index_t>(4, count - q0);
            double* a_c = &acc[std::size_t(omp_get_thread_num()) * 4 * c];
            std::fill(a_c, a_c + 4 * c, 0.0);
            bool ok = true;
            if (r == 4) {
                if (unit) cluster_sums4<T, true>(&rows[q0], labels, w, n, i0 + q0, c, a_c, ok);
                else cluster_sums4<T, false>(&rows[q0], labels, w, n, i0 + q0, c, a_c, ok);
            } else {
                for (index_t q = 0; q < r; ++q) {
                    bool one = true;
                    cluster_sums(rows[q0 + q], labels, w, n, i0 + q0 + q, a_c + q * c, one);
                    ok &= one;
                }
            }
            if (!ok) row_valid[i0 + q0] = 0;
            for (index_t q = 0; q < r; ++q) finish(i0 + q0 + q, a_c + q * c);
        }
        interrupt();
    }
    SilhouetteResult r;
    double sum = 0.0, total = 0.0;
    for (index_t i = 0; i < n; ++i) sum += w[i] * value[i], total += w[i];
    r.mean = sum / total;
    for (index_t i = 0; i < n; ++i) r.valid &= row_valid[i] != 0;
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
