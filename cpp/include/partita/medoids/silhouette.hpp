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
#include "partita/simd.hpp"

namespace partita::medoids {

struct SilhouetteResult {
    double mean = 0.0;            // weighted mean over the points
    bool valid = true;            // every distance read was finite and non-negative
    std::vector<double> samples;  // every point's value (empty unless asked for)
};

// x / y, or 0 unless y > 0.
inline double checked_div(double x, double y) { return y > 0.0 ? x / y : 0.0; }

// An 8 x 8 tile transposed in registers: t[m] = (v[0][m], ..., v[7][m]). Three rounds of
// two-vector shuffles (pairs of lanes, pairs of pairs, halves).
template <class V, class I>
inline __attribute__((always_inline)) void transpose8(const V* v, V* t) {
    const I lo1 = {0, 8, 2, 10, 4, 12, 6, 14}, hi1 = {1, 9, 3, 11, 5, 13, 7, 15};
    const I lo2 = {0, 1, 8, 9, 4, 5, 12, 13}, hi2 = {2, 3, 10, 11, 6, 7, 14, 15};
    const I lo4 = {0, 1, 2, 3, 8, 9, 10, 11}, hi4 = {4, 5, 6, 7, 12, 13, 14, 15};
    V a[8], b[8];
    for (int p = 0; p < 8; p += 2) {
        a[p] = __builtin_shuffle(v[p], v[p + 1], lo1);      // columns 0, 2, 4, 6 of rows p, p+1
        a[p + 1] = __builtin_shuffle(v[p], v[p + 1], hi1);  // columns 1, 3, 5, 7
    }
    for (int p = 0; p < 8; p += 4) {
        b[p] = __builtin_shuffle(a[p], a[p + 2], lo2);          // columns 0, 4 of rows p..p+3
        b[p + 1] = __builtin_shuffle(a[p], a[p + 2], hi2);      // columns 2, 6
        b[p + 2] = __builtin_shuffle(a[p + 1], a[p + 3], lo2);  // columns 1, 5
        b[p + 3] = __builtin_shuffle(a[p + 1], a[p + 3], hi2);  // columns 3, 7
    }
    t[0] = __builtin_shuffle(b[0], b[4], lo4), t[4] = __builtin_shuffle(b[0], b[4], hi4);
    t[2] = __builtin_shuffle(b[1], b[5], lo4), t[6] = __builtin_shuffle(b[1], b[5], hi4);
    t[1] = __builtin_shuffle(b[2], b[6], lo4), t[5] = __builtin_shuffle(b[2], b[6], hi4);
    t[3] = __builtin_shuffle(b[3], b[7], lo4), t[7] = __builtin_shuffle(b[3], b[7], hi4);
}

// Weighted distance sums of points i0 .. i0+7 (rows r[0..7]) to every cluster, each point itself
// left out, each sum sequential in the other point's index: acc[l * 8 + q] is row q's sum over
// cluster l. Eight rows at once: an 8 x 8 tile of the rows is transposed, so that one vector
// addition adds a column's entries to the eight sums of the column's cluster (the additions of
// the one-row loop, lane by lane: the same bits). i0 is a multiple of 8. kUnit: all weights 1
// (1 * x == x, the same sums without reading w).
template <class T, bool kUnit>
PARTITA_MULTIVERSION void cluster_sums8(const T* const* r, const std::int32_t* __restrict lab,
                                        const double* __restrict w, index_t n, index_t i0,
                                        double* __restrict acc, bool& valid) {
    using V = simd::Vec<double>::type;
    using I = simd::Vec<double>::itype;
    typedef T TV __attribute__((vector_size(8 * sizeof(T))));
    // The sign bits of every tile entry, or-ed: a negative distance sets one (NaN and inf make a
    // sum non-finite, which the caller sees). A set bit may also be a -0.0, a valid distance,
    // so then the rows are checked entry by entry at the end. (Bit operations, because GCC turns
    // a comparison of these vectors into lane-by-lane scalar code.)
    I signs = {};
    auto add = [&](index_t j, const V& x) {
        double* a = acc + std::size_t(lab[j]) * 8;
        V s = simd::load<V>(a);
        if constexpr (kUnit) s += x;
        else s += w[j] * x;
        simd::store(a, s);
    };
    bool scalar_ok = true;
    auto one = [&](index_t j, int q) {  // entry (q, j) alone, in its place in row q's order
        const double x = double(r[q][j]);
        scalar_ok &= x >= 0.0;
        acc[std::size_t(lab[j]) * 8 + q] += (kUnit ? 1.0 : w[j]) * x;
    };
    const index_t full = n - n % 8;
    for (index_t j0 = 0; j0 < full; j0 += 8) {
        if (j0 == i0) {  // the diagonal tile: each row skips its own point
            for (index_t j = j0; j < j0 + 8; ++j)
                for (int q = 0; q < 8; ++q)
                    if (j != i0 + q) one(j, q);
            continue;
        }
        V v[8], t[8];
        for (int q = 0; q < 8; ++q) {
            v[q] = __builtin_convertvector(simd::load<TV>(r[q] + j0), V);
            signs |= simd::bits<I>(v[q]);
        }
        transpose8<V, I>(v, t);
        for (int m = 0; m < 8; ++m) add(j0 + m, t[m]);
    }
    for (index_t j = full; j < n; ++j)  // the last n % 8 points (the diagonal among them)
        for (int q = 0; q < 8; ++q)
            if (j != i0 + q) one(j, q);
    std::int64_t any_sign = 0;
    for (int q = 0; q < 8; ++q) any_sign |= signs[q];
    if (any_sign < 0)  // a sign bit was set: a negative entry, or only -0.0 entries
        for (int q = 0; q < 8; ++q)
            for (index_t j = 0; j < n; ++j) scalar_ok &= j == i0 + q || double(r[q][j]) >= 0.0;
    valid = scalar_ok;
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
    std::vector<double> acc(std::size_t(n_threads) * 9 * c);
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
        const index_t groups = (count + 7) / 8;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (count * n > (1 << 16))
        for (index_t g = 0; g < groups; ++g) {
            const index_t q0 = 8 * g, r = std::min<index_t>(8, count - q0);
            double* a_c = &acc[std::size_t(omp_get_thread_num()) * 9 * c];
            bool ok = true;
            if (r == 8) {
                double* tile = a_c + c;  // [cluster][row]
                std::fill(tile, tile + 8 * c, 0.0);
                if (unit) cluster_sums8<T, true>(&rows[q0], labels, w, n, i0 + q0, tile, ok);
                else cluster_sums8<T, false>(&rows[q0], labels, w, n, i0 + q0, tile, ok);
                if (!ok) row_valid[i0 + q0] = 0;
                for (index_t q = 0; q < 8; ++q) {
                    for (index_t m = 0; m < c; ++m) a_c[m] = tile[m * 8 + q];
                    finish(i0 + q0 + q, a_c);
                }
            } else {
                for (index_t q = 0; q < r; ++q) {
                    std::fill(a_c, a_c + c, 0.0);
                    cluster_sums(rows[q0 + q], labels, w, n, i0 + q0 + q, a_c, ok);
                    if (!ok) row_valid[i0 + q0 + q] = 0;
                    finish(i0 + q0 + q, a_c);
                }
            }
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
