// k-medoids kernels: BUILD, LAB and k-medoids++ initialisation; FasterPAM, FastPAM1, PAM and
// alternate (Voronoi) optimisation. Specification: shared/ALGORITHMS.md section 1.
//
// Distances come from a "source": a stored symmetric n x n matrix with a zero diagonal, read by
// rows (row j holds d(j, o) = d(o, j) for every o, so every scan streams memory), or features
// whose distance rows are computed on demand (no n x n memory; distances.hpp). Every kernel is
// written once against the source; the on-the-fly distances equal the stored ones bit for bit,
// so both give the same medoids. With unit weights the sums
// are formed in the same order as the reference implementation (the `kmedoids` package), which
// makes medoids, labels, loss and swap counts agree exactly with it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <tuple>
#include <type_traits>
#include <vector>

#include "partita/common.hpp"
#include "partita/distances.hpp"

#if defined(__x86_64__) && !defined(__CUDACC__)
#include <immintrin.h>
#endif

namespace partita::medoids {

// Nearest and second-nearest medoid slot of every point, kept as separate arrays so that the
// candidate scan streams only the distances it compares against.
template <class T>
struct Assignment {
    std::vector<std::int32_t> near_i, seco_i;
    std::vector<T> near_d, seco_d;
    explicit Assignment(index_t n) : near_i(n, 0), seco_i(n, -1), near_d(n, T(0)), seco_d(n, T(0)) {}
};

struct Result {
    std::vector<index_t> medoids;       // point index of every slot
    std::vector<std::int32_t> labels;   // slot of every point
    double loss = 0.0;                  // weighted total deviation
    index_t n_iter = 0;
    index_t n_swaps = 0;
};

// ---- where distances come from -----------------------------------------------------------------

// A stored matrix: rows are read in place.
template <class T>
struct StoredDistances {
    using value_type = T;
    static constexpr bool stored = true;
    MatrixView<T> D;
    index_t size() const { return D.rows; }
    T at(index_t i, index_t j) const { return D(i, j); }
    // Row j; `scratch` (n entries) is not needed. Safe to call from several threads.
    const T* row(index_t j, T* /*scratch*/) const { return D.row(j); }
};

// Features: rows are computed when asked for.
template <class T>
struct OnTheFlyDistances {
    using value_type = T;
    static constexpr bool stored = false;
    const distances::FeatureSpace<T>* X;
    int n_threads;
    index_t size() const { return X->size(); }
    T at(index_t i, index_t j) const { return X->pair(i, j); }
    // Row j computed into `scratch` by the calling thread alone.
    const T* row(index_t j, T* scratch) const {
        X->rows(&j, 1, 0, X->size(), scratch);
        return scratch;
    }
    // Rows js[0..count) into out (count x n), the points split over the threads.
    void rows(const index_t* js, index_t count, T* out) const {
        distances::fill_rows(*X, js, count, out, n_threads);
    }
};

// Pointers to the rows js[0..count): in place for a matrix, else computed (in parallel) into
// `buffer`, which is resized as needed.
template <class Src, class T = typename Src::value_type>
void gather_rows(const Src& src, const index_t* js, index_t count, std::vector<T>& buffer,
                 std::vector<const T*>& rows) {
    rows.resize(count);
    if constexpr (Src::stored) {
        for (index_t c = 0; c < count; ++c) rows[c] = src.D.row(js[c]);
    } else {
        const index_t n = src.size();
        buffer.resize(std::size_t(count) * n);
        src.rows(js, count, buffer.data());
        for (index_t c = 0; c < count; ++c) rows[c] = buffer.data() + c * n;
    }
}

// Rows computed per block when they are not stored: enough to amortise a pass over the features.
template <class Src>
constexpr index_t row_block() {
    return Src::stored ? index_t(1) << 30 : 32;
}

namespace detail {

// ---- the candidate scan: the hot loop of FasterPAM and FastPAM1 ------------------------------
//
// For candidate j with distance row `row`, adds to `ploss[slot]` the loss change of removing each
// slot, and returns the shared gain `acc` of making j a medoid (ALGORITHMS.md, "Scoring").
// Only points with d(o, j) < second-nearest distance contribute, a few percent of them, so the
// scan compares a vector of distances at once and visits only the lanes of its bit mask, lowest
// first: the additions happen in the same order as in the plain loop, so the result is bit for
// bit the plain loop's (and the reference's), whatever the vector width.
template <class T>
struct CandidateScan {
    const T* __restrict row;
    const T* __restrict near_d;
    const T* __restrict seco_d;
    const std::int32_t* __restrict near_i;
    const double* __restrict w;
    double* __restrict ploss;
    double acc = 0.0;

    inline __attribute__((always_inline)) void visit(index_t o) {
        const T d = row[o];
        if (!(d < seco_d[o])) return;
        const double dd = double(d), nd = double(near_d[o]), sd = double(seco_d[o]);
        if (d < near_d[o]) {
            acc += w[o] * (dd - nd);
            ploss[near_i[o]] += w[o] * (nd - sd);
        } else {
            ploss[near_i[o]] += w[o] * (dd - sd);
        }
    }
    inline __attribute__((always_inline)) void visit_mask(index_t o0, unsigned mask) {
        while (mask) {
            visit(o0 + __builtin_ctz(mask));
            mask &= mask - 1;
        }
    }
};

template <class T>
using ScanFn = double (*)(CandidateScan<T>&, index_t);

template <class T>
double scan_plain(CandidateScan<T>& s, index_t n) {
    for (index_t o = 0; o < n; ++o) s.visit(o);
    return s.acc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
// One version per instruction set, picked at run time (scan_function below): one wheel runs on
// any x86-64 and uses AVX-512 or AVX2 where the machine has them.
__attribute__((target("avx512f"))) inline double scan_avx512(CandidateScan<double>& s, index_t n) {
    index_t o = 0;
    for (; o + 8 <= n; o += 8) {
        const unsigned m = _mm512_cmp_pd_mask(_mm512_loadu_pd(s.row + o),
                                              _mm512_loadu_pd(s.seco_d + o), _CMP_LT_OQ);
        if (m) s.visit_mask(o, m);
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
__attribute__((target("avx512f"))) inline double scan_avx512(CandidateScan<float>& s, index_t n) {
    index_t o = 0;
    for (; o + 16 <= n; o += 16) {
        const unsigned m = _mm512_cmp_ps_mask(_mm512_loadu_ps(s.row + o),
                                              _mm512_loadu_ps(s.seco_d + o), _CMP_LT_OQ);
        if (m) s.visit_mask(o, m);
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
__attribute__((target("avx2"))) inline double scan_avx2(CandidateScan<double>& s, index_t n) {
    index_t o = 0;
    for (; o + 8 <= n; o += 8) {
        const unsigned lo = unsigned(_mm256_movemask_pd(_mm256_cmp_pd(
            _mm256_loadu_pd(s.row + o), _mm256_loadu_pd(s.seco_d + o), _CMP_LT_OQ)));
        const unsigned hi = unsigned(_mm256_movemask_pd(_mm256_cmp_pd(
            _mm256_loadu_pd(s.row + o + 4), _mm256_loadu_pd(s.seco_d + o + 4), _CMP_LT_OQ)));
        if (lo | hi) s.visit_mask(o, lo | (hi << 4));
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
__attribute__((target("avx2"))) inline double scan_avx2(CandidateScan<float>& s, index_t n) {
    index_t o = 0;
    for (; o + 8 <= n; o += 8) {
        const unsigned m = unsigned(_mm256_movemask_ps(_mm256_cmp_ps(
            _mm256_loadu_ps(s.row + o), _mm256_loadu_ps(s.seco_d + o), _CMP_LT_OQ)));
        if (m) s.visit_mask(o, m);
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
inline double scan_sse2(CandidateScan<double>& s, index_t n) {
    index_t o = 0;
    for (; o + 4 <= n; o += 4) {
        const unsigned lo = unsigned(
            _mm_movemask_pd(_mm_cmplt_pd(_mm_loadu_pd(s.row + o), _mm_loadu_pd(s.seco_d + o))));
        const unsigned hi = unsigned(_mm_movemask_pd(
            _mm_cmplt_pd(_mm_loadu_pd(s.row + o + 2), _mm_loadu_pd(s.seco_d + o + 2))));
        if (lo | hi) s.visit_mask(o, lo | (hi << 2));
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
inline double scan_sse2(CandidateScan<float>& s, index_t n) {
    index_t o = 0;
    for (; o + 4 <= n; o += 4) {
        const unsigned m = unsigned(
            _mm_movemask_ps(_mm_cmplt_ps(_mm_loadu_ps(s.row + o), _mm_loadu_ps(s.seco_d + o))));
        if (m) s.visit_mask(o, m);
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
template <class T>
ScanFn<T> scan_function() {
    if (__builtin_cpu_supports("avx512f")) return static_cast<ScanFn<T>>(scan_avx512);
    if (__builtin_cpu_supports("avx2")) return static_cast<ScanFn<T>>(scan_avx2);
    return static_cast<ScanFn<T>>(scan_sse2);
}
#else
template <class T>
ScanFn<T> scan_function() {
    return scan_plain<T>;
}
#endif

// ---- BUILD's gain update: G[i] += w_o * (min(0, d(o,i) - new) - min(0, d(o,i) - old)) --------
template <class T>
inline __attribute__((always_inline)) void build_gain_body(const T* __restrict row, double w,
                                                           double old_d, double new_d,
                                                           index_t begin, index_t end,
                                                           double* __restrict gain) {
    for (index_t i = begin; i < end; ++i) {
        const double d = double(row[i]);
        gain[i] += w * (std::min(0.0, d - new_d) - std::min(0.0, d - old_d));
    }
}
PARTITA_MULTIVERSION static void build_gain(const float* row, double w, double old_d, double new_d,
                                            index_t begin, index_t end, double* gain) {
    build_gain_body<float>(row, w, old_d, new_d, begin, end, gain);
}
PARTITA_MULTIVERSION static void build_gain(const double* row, double w, double old_d,
                                            double new_d, index_t begin, index_t end,
                                            double* gain) {
    build_gain_body<double>(row, w, old_d, new_d, begin, end, gain);
}

// Weighted row sums s[i] = sum_{o != i} w_o d(i, o), each formed sequentially in o.
template <class Src, class T = typename Src::value_type>
std::vector<double> weighted_row_sums(const Src& src, const double* w, int n_threads) {
    const index_t n = src.size();
    std::vector<double> sums(n);
    std::vector<index_t> js;
    std::vector<T> buffer;
    std::vector<const T*> rows;
    const index_t block = std::min(n, row_block<Src>());
    for (index_t j0 = 0; j0 < n; j0 += block) {
        const index_t count = std::min(block, n - j0);
        js.resize(count);
        for (index_t c = 0; c < count; ++c) js[c] = j0 + c;
        gather_rows(src, js.data(), count, buffer, rows);
#pragma omp parallel for num_threads(n_threads) schedule(static) if (count * n > (1 << 16))
        for (index_t c = 0; c < count; ++c) {
            const T* row = rows[c];
            const index_t i = j0 + c;
            double s = 0.0;
            for (index_t o = 0; o < n; ++o)
                if (o != i) s += w[o] * double(row[o]);
            sums[i] = s;
        }
    }
    return sums;
}

// First index of the smallest value (strict <), the reference's tie rule.
inline std::int32_t first_min(const double* v, index_t k) {
    std::int32_t b = 0;
    for (index_t i = 1; i < k; ++i)
        if (v[i] < v[b]) b = std::int32_t(i);
    return b;
}

}  // namespace detail

// ---- assignment and losses ---------------------------------------------------------------------

// Nearest / second-nearest slots for the given medoids (ALGORITHMS.md "Per-point state"):
// slots scanned 0..k-1 with strict <, except that a medoid is always its own nearest.
template <class Src, class T = typename Src::value_type>
Assignment<T> assign(const Src& src, const std::vector<index_t>& med, int n_threads) {
    const index_t n = src.size(), k = index_t(med.size());
    Assignment<T> a(n);
    std::vector<T> buffer;
    std::vector<const T*> rows;
    const index_t block = std::min(k, row_block<Src>());
    for (index_t m0 = 0; m0 < k; m0 += block) {
        const index_t count = std::min(block, k - m0);
        gather_rows(src, med.data() + m0, count, buffer, rows);
#pragma omp parallel num_threads(n_threads) if (n * count > (1 << 16))
        {
            // Each thread owns a fixed range of points and walks the medoid rows in slot order.
            const index_t p = omp_get_thread_num(), parts = omp_get_num_threads();
            const EvenSplit split{n, parts};
            const index_t lo = split.begin(p), hi = split.begin(p + 1);
            for (index_t m = m0; m < m0 + count; ++m) {
                const T* row = rows[m - m0];
                if (m == 0) {
                    for (index_t o = lo; o < hi; ++o) a.near_d[o] = row[o];
                    continue;
                }
                for (index_t o = lo; o < hi; ++o) {
                    const T d = row[o];
                    if (d < a.near_d[o] || o == med[m]) {
                        a.seco_i[o] = a.near_i[o];
                        a.seco_d[o] = a.near_d[o];
                        a.near_i[o] = std::int32_t(m);
                        a.near_d[o] = d;
                    } else if (a.seco_i[o] < 0 || d < a.seco_d[o]) {
                        a.seco_i[o] = std::int32_t(m);
                        a.seco_d[o] = d;
                    }
                }
            }
        }
    }
    return a;
}

template <class T>
double total_deviation(const Assignment<T>& a, const double* w) {
    double loss = 0.0;  // sequential: the same order as the reference's fold
    for (std::size_t o = 0; o < a.near_d.size(); ++o) loss += w[o] * double(a.near_d[o]);
    return loss;
}

// removal[i] = sum over points o of slot i of w_o (seco_d(o) - near_d(o)).
template <class T>
void removal_loss(const Assignment<T>& a, const double* w, std::vector<double>& removal) {
    std::fill(removal.begin(), removal.end(), 0.0);
    for (std::size_t o = 0; o < a.near_d.size(); ++o)
        removal[a.near_i[o]] += w[o] * (double(a.seco_d[o]) - double(a.near_d[o]));
}

// Best slot to swap out for the candidate whose distance row is `row`, and the resulting loss
// change (ALGORITHMS.md "Scoring").
template <class T>
std::pair<double, std::int32_t> score_swap(const T* row, const Assignment<T>& a, const double* w,
                                           const std::vector<double>& removal, double* ploss) {
    const index_t k = index_t(removal.size());
    static const detail::ScanFn<T> scan = detail::scan_function<T>();
    std::copy(removal.begin(), removal.end(), ploss);
    detail::CandidateScan<T> s{row, a.near_d.data(), a.seco_d.data(), a.near_i.data(), w, ploss};
    const double acc = scan(s, index_t(a.near_d.size()));
    const std::int32_t b = detail::first_min(ploss, k);
    return {ploss[b] + acc, b};
}

// Second-nearest slot of point o, excluding its nearest slot `near` and seeded with (b, d_b).
template <class Src, class T = typename Src::value_type>
inline void rescan_second(const Src& src, const std::vector<index_t>& med, index_t o,
                          std::int32_t near, std::int32_t b, T d_b, std::int32_t& seco_i,
                          T& seco_d) {
    seco_i = b;
    seco_d = d_b;
    for (std::int32_t i = 0; i < std::int32_t(med.size()); ++i) {
        if (i == near || i == b) continue;
        const T d = src.at(o, med[i]);
        if (d < seco_d) {
            seco_i = i;
            seco_d = d;
        }
    }
}

// Replaces the medoid of slot b by point j, whose distance row is `row`, and updates every
// point's state (ALGORITHMS.md "Applying a swap"). Returns the new loss.
template <class Src, class T = typename Src::value_type>
double apply_swap(const Src& src, std::vector<index_t>& med, Assignment<T>& a, const double* w,
                  std::int32_t b, index_t j, const T* row, int n_threads) {
    med[b] = j;
    const index_t n = src.size();
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n > 4096)
    for (index_t o = 0; o < n; ++o) {
        if (o == j) {
            if (a.near_i[o] != b) {
                a.seco_i[o] = a.near_i[o];
                a.seco_d[o] = a.near_d[o];
            }
            a.near_i[o] = b;
            a.near_d[o] = T(0);
            continue;
        }
        const T d = row[o];
        if (a.near_i[o] == b) {  // the nearest medoid was replaced
            if (d < a.seco_d[o]) {
                a.near_d[o] = d;
            } else {
                a.near_i[o] = a.seco_i[o];
                a.near_d[o] = a.seco_d[o];
                rescan_second(src, med, o, a.near_i[o], b, d, a.seco_i[o], a.seco_d[o]);
            }
        } else if (d < a.near_d[o]) {
            a.seco_i[o] = a.near_i[o];
            a.seco_d[o] = a.near_d[o];
            a.near_i[o] = b;
            a.near_d[o] = d;
        } else if (d < a.seco_d[o]) {
            a.seco_i[o] = b;
            a.seco_d[o] = d;
        } else if (a.seco_i[o] == b) {  // the second nearest was replaced
            rescan_second(src, med, o, a.near_i[o], b, d, a.seco_i[o], a.seco_d[o]);
        }
    }
    return total_deviation(a, w);
}

// k = 1: the point with the smallest weighted distance sum; the incumbent wins ties.
template <class Src>
Result single_medoid(const Src& src, index_t incumbent, const double* w, index_t max_iter,
                     int n_threads) {
    const index_t n = src.size();
    Result r;
    r.labels.assign(n, 0);
    const std::vector<double> sums = detail::weighted_row_sums(src, w, n_threads);
    index_t best = incumbent;
    if (max_iter > 0) {
        for (index_t j = 0; j < n; ++j)
            if (j != incumbent && sums[j] < sums[best]) best = j;
        r.n_iter = 1;
        r.n_swaps = best != incumbent;
    }
    r.medoids = {best};
    r.loss = sums[best];
    return r;
}

template <class T>
Result finish(std::vector<index_t> med, const Assignment<T>& a, double loss, index_t n_iter,
              index_t n_swaps) {
    Result r;
    r.medoids = std::move(med);
    r.labels = a.near_i;
    r.loss = loss;
    r.n_iter = n_iter;
    r.n_swaps = n_swaps;
    return r;
}

// ---- FasterPAM ---------------------------------------------------------------------------------
//
// Eager swaps in candidate index order. The schedule is always exactly the sequential one, so
// the thread count never changes the result:
//  - stored matrix: a block of upcoming candidates is scored at once against the same state and
//    the first improving one (in index order) is applied, the others discarded. The block grows
//    while no swap is found (late passes) and shrinks back after a swap (the first pass).
//  - on the fly: the distance rows of a block of upcoming points are computed together (the
//    expensive part, in parallel), then scored one by one; a row does not depend on the state,
//    so rows computed before a swap stay valid after it.
template <class Src, class T = typename Src::value_type>
Result fasterpam(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
                 int n_threads, InterruptCheck& interrupt) {
    const index_t n = src.size(), k = index_t(med.size());
    if (k == 1) return single_medoid(src, med[0], w, max_iter, n_threads);
    Assignment<T> a = assign(src, med, n_threads);
    double loss = total_deviation(a, w);
    std::vector<double> removal(k);
    removal_loss(a, w, removal);
    index_t last_swap = n, n_swaps = 0, iter = 0;
    auto is_medoid = [&](index_t j) { return med[a.near_i[j]] == j; };

    if constexpr (!Src::stored) {
        const index_t block = row_block<Src>();
        std::vector<T> buffer;
        std::vector<const T*> rows;
        std::vector<index_t> js;
        std::vector<double> ploss(k);
        while (iter < max_iter) {
            ++iter;
            const index_t swaps_before = n_swaps;
            const double loss_before = loss;
            index_t j0 = 0;
            while (j0 < n && j0 != last_swap) {
                // Rows of the next points, up to the end or to the last swap (where the pass
                // stops); a swap inside the block moves the stop behind us.
                const index_t stop = last_swap > j0 ? std::min(n, last_swap) : n;
                const index_t count = std::min(block, stop - j0);
                js.resize(count);
                for (index_t c = 0; c < count; ++c) js[c] = j0 + c;
                gather_rows(src, js.data(), count, buffer, rows);
                for (index_t c = 0; c < count; ++c) {
                    const index_t j = j0 + c;
                    if (is_medoid(j)) continue;
                    const auto [change, b] = score_swap(rows[c], a, w, removal, ploss.data());
                    if (!(change < 0.0)) continue;
                    ++n_swaps;
                    last_swap = j;
                    loss = apply_swap(src, med, a, w, b, j, rows[c], n_threads);
                    removal_loss(a, w, removal);
                }
                j0 += count;
                interrupt();
            }
            if (n_swaps == swaps_before || loss >= loss_before) break;
        }
        return finish(std::move(med), a, loss, iter, n_swaps);
    } else {
        constexpr index_t kParallelScanMin = 4096;
        const index_t max_block = 16 * index_t(n_threads);
        std::vector<double> ploss(std::size_t(max_block) * k);
        std::vector<index_t> cand(max_block);
        std::vector<double> change(max_block);
        std::vector<std::int32_t> slot(max_block);
        // Below a few thousand points a scan takes microseconds, less than waking threads.
        const bool speculate = n_threads > 1 && n >= kParallelScanMin;
        index_t block = speculate ? n_threads : 1;
        while (iter < max_iter) {
            ++iter;
            const index_t swaps_before = n_swaps;
            const double loss_before = loss;
            index_t j = 0;
            while (j < n && j != last_swap) {
                // The next `block` non-medoid candidates, stopping at the last swap (a full
                // cycle without improvement ends the pass).
                index_t m = 0;
                for (; m < block && j < n && j != last_swap; ++j)
                    if (!is_medoid(j)) cand[m++] = j;
                if (m == 0) break;
                if (m == 1) {
                    std::tie(change[0], slot[0]) =
                        score_swap(src.D.row(cand[0]), a, w, removal, ploss.data());
                } else {
#pragma omp parallel for num_threads(n_threads) schedule(static, 1)
                    for (index_t c = 0; c < m; ++c)
                        std::tie(change[c], slot[c]) =
                            score_swap(src.D.row(cand[c]), a, w, removal, ploss.data() + c * k);
                }
                index_t hit = -1;
                for (index_t c = 0; c < m && hit < 0; ++c)
                    if (change[c] < 0.0) hit = c;
                if (hit >= 0) {
                    ++n_swaps;
                    last_swap = cand[hit];
                    loss = apply_swap(src, med, a, w, slot[hit], cand[hit], src.D.row(cand[hit]),
                                      n_threads);
                    removal_loss(a, w, removal);
                    j = cand[hit] + 1;
                    block = speculate ? n_threads : 1;
                } else if (speculate) {
                    block = std::min(block * 2, max_block);
                }
                interrupt();
            }
            if (n_swaps == swaps_before || loss >= loss_before) break;
        }
        return finish(std::move(med), a, loss, iter, n_swaps);
    }
}

// Scores every candidate (each point that is not a medoid) in parallel: change[j] and slot[j]
// of its best swap (+inf for medoids). `score(row, j, ploss)` returns (change, slot).
template <class Src, class Score, class T = typename Src::value_type>
void score_all_candidates(const Src& src, const std::vector<index_t>& med, const Assignment<T>& a,
                          index_t k, std::vector<double>& change, std::vector<std::int32_t>& slot,
                          int n_threads, Score&& score) {
    const index_t n = src.size();
#pragma omp parallel num_threads(n_threads) if (n > 512)
    {
        std::vector<double> ploss(k);
        std::vector<T> scratch(Src::stored ? 0 : n);
#pragma omp for schedule(dynamic, 16)
        for (index_t j = 0; j < n; ++j) {
            change[j] = std::numeric_limits<double>::infinity();
            if (med[a.near_i[j]] == j) continue;
            std::tie(change[j], slot[j]) = score(src.row(j, scratch.data()), j, ploss.data());
        }
    }
}

// The best swap of a full evaluation: smallest change (strictly negative), ties to the
// smallest candidate; -1 when none improves.
inline index_t best_candidate(const std::vector<double>& change) {
    index_t best = -1;
    double best_change = 0.0;
    for (index_t j = 0; j < index_t(change.size()); ++j)
        if (change[j] < best_change) {
            best_change = change[j];
            best = j;
        }
    return best;
}

// PAM's outer loop with a given candidate scorer: the best swap per iteration.
template <class Src, class Score, class T = typename Src::value_type>
Result best_swap_descent(const Src& src, std::vector<index_t> med, const double* w,
                         index_t max_iter, int n_threads, InterruptCheck& interrupt,
                         bool with_removal, Score&& score) {
    const index_t n = src.size(), k = index_t(med.size());
    if (k == 1) return single_medoid(src, med[0], w, max_iter, n_threads);
    Assignment<T> a = assign(src, med, n_threads);
    double loss = total_deviation(a, w);
    std::vector<double> removal(k), change(n);
    std::vector<std::int32_t> slot(n);
    std::vector<T> scratch;
    index_t n_swaps = 0, iter = 0;
    while (iter < max_iter) {
        ++iter;
        if (with_removal) removal_loss(a, w, removal);
        score_all_candidates(src, med, a, k, change, slot, n_threads,
                             [&](const T* row, index_t j, double* ploss) {
                                 return score(row, j, a, removal, ploss);
                             });
        const index_t best = best_candidate(change);
        if (best < 0) break;
        ++n_swaps;
        std::vector<const T*> rows;
        gather_rows(src, &best, 1, scratch, rows);
        // A swap that does not lower the recomputed loss (rounding) ends the search; the loss
        // reported is always that of the medoids returned.
        const double new_loss = apply_swap(src, med, a, w, slot[best], best, rows[0], n_threads);
        const bool stalled = new_loss >= loss;
        loss = new_loss;
        if (stalled) break;
        interrupt();
    }
    return finish(std::move(med), a, loss, iter, n_swaps);
}

// ---- FastPAM1: PAM's best swap per iteration, each candidate scored in O(n) -------------------
template <class Src>
Result fastpam1(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
                int n_threads, InterruptCheck& interrupt) {
    using T = typename Src::value_type;
    return best_swap_descent(
        src, std::move(med), w, max_iter, n_threads, interrupt, true,
        [&](const T* row, index_t, const Assignment<T>& a, const std::vector<double>& removal,
            double* ploss) { return score_swap(row, a, w, removal, ploss); });
}

// ---- PAM: the classic SWAP, O(n) per (slot, candidate) pair ------------------------------------
template <class Src>
Result pam(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
           int n_threads, InterruptCheck& interrupt) {
    using T = typename Src::value_type;
    const index_t n = src.size(), k = index_t(med.size());
    return best_swap_descent(
        src, std::move(med), w, max_iter, n_threads, interrupt, false,
        [&](const T* row, index_t j, const Assignment<T>& a, const std::vector<double>&,
            double*) {
            double best = 0.0;
            std::int32_t best_slot = -1;
            for (std::int32_t m = 0; m < std::int32_t(k); ++m) {
                double acc = -w[j] * double(a.near_d[j]);  // j becomes a medoid
                for (index_t o = 0; o < n; ++o) {
                    if (o == j) continue;
                    const double d = double(row[o]), nd = double(a.near_d[o]);
                    if (a.near_i[o] == m)
                        acc += w[o] * ((row[o] < a.seco_d[o] ? d : double(a.seco_d[o])) - nd);
                    else if (row[o] < a.near_d[o])
                        acc += w[o] * (d - nd);
                }
                if (acc < best) {
                    best = acc;
                    best_slot = m;
                }
            }
            return std::pair<double, std::int32_t>(
                best_slot >= 0 ? best : std::numeric_limits<double>::infinity(), best_slot);
        });
}

// ---- alternate (Voronoi iteration) -------------------------------------------------------------
template <class Src, class T = typename Src::value_type>
Result alternate(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
                 int n_threads, InterruptCheck& interrupt) {
    const index_t n = src.size(), k = index_t(med.size());
    Assignment<T> a = assign(src, med, n_threads);
    double loss = total_deviation(a, w);
    index_t iter = 0, n_swaps = 0;
    std::vector<std::vector<index_t>> members(k);
    while (iter < max_iter) {
        ++iter;
        for (auto& m : members) m.clear();
        for (index_t o = 0; o < n; ++o) members[a.near_i[o]].push_back(o);
        std::vector<char> changed(k, 0);
        // Clusters are independent; inside one the scan is sequential, so the result does not
        // depend on the thread count.
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
        for (index_t c = 0; c < k; ++c) {
            const auto& mem = members[c];
            auto cost = [&](index_t j) {
                double s = 0.0;
                for (index_t o : mem)
                    if (o != j) s += w[o] * double(src.at(j, o));
                return s;
            };
            const index_t first = med[c];
            index_t best = first;
            double best_cost = cost(first);
            for (index_t j : mem) {
                if (j == first) continue;
                const double cj = cost(j);
                if (cj < best_cost) {
                    best_cost = cj;
                    best = j;
                }
            }
            changed[c] = best != first;
            med[c] = best;
        }
        const index_t n_changed = std::count(changed.begin(), changed.end(), 1);
        if (n_changed == 0) break;
        n_swaps += n_changed;
        a = assign(src, med, n_threads);
        loss = total_deviation(a, w);
        interrupt();
    }
    return finish(std::move(med), a, loss, iter, n_swaps);
}

// ---- initialisation ----------------------------------------------------------------------------

// BUILD's gain of candidate i summed directly, in the reference's order:
// -w_i near_i + sum over o != i with d(i,o) < near_o of w_o (d(i,o) - near_o).
template <class T>
double exact_build_gain(const T* row, const std::vector<double>& near, const double* w,
                        index_t i) {
    double g = -w[i] * near[i];
    for (index_t o = 0; o < index_t(near.size()); ++o) {
        const double d = double(row[o]);
        if (o != i && d < near[o]) g += w[o] * (d - near[o]);
    }
    return g;
}

// BUILD (ALGORITHMS.md): k greedy additions, each the non-medoid that lowers the loss most.
// The gain G[i] = sum_o w_o min(0, d(o,i) - near_d(o)) is kept for every candidate and updated
// only for the points whose nearest distance changed: O(n * changed) per step instead of
// O(n^2), which on clustered data is a small fraction of the matrix after the first steps.
// Each thread owns a fixed slice of the candidates and applies the updates in point order, so
// the result does not depend on the thread count.
template <class Src, class T = typename Src::value_type>
std::vector<index_t> build(const Src& src, index_t k, const double* w, int n_threads,
                           InterruptCheck& interrupt) {
    const index_t n = src.size();
    std::vector<index_t> med;
    med.reserve(k);
    const std::vector<double> sums = detail::weighted_row_sums(src, w, n_threads);
    index_t first = 0;
    for (index_t i = 1; i < n; ++i)
        if (sums[i] < sums[first]) first = i;
    med.push_back(first);
    if (k == 1) return med;

    std::vector<char> is_med(n, 0);
    is_med[first] = 1;
    std::vector<T> buffer;
    std::vector<const T*> rows;
    gather_rows(src, &first, 1, buffer, rows);
    std::vector<double> near(n);
    for (index_t o = 0; o < n; ++o) near[o] = double(rows[0][o]);

    // The first update is a full pass: every point "changed" from an old nearest distance of
    // -inf, for which min(0, d - old) = 0, so G[i] starts as sum_o w_o min(0, d(o,i) - near_o).
    std::vector<double> gain(n, 0.0);
    std::vector<index_t> changed(n);
    std::vector<double> old_near(n, -std::numeric_limits<double>::infinity());
    for (index_t o = 0; o < n; ++o) changed[o] = o;
    std::vector<T> scratch(Src::stored ? 0 : n);

    for (index_t step = 1; step < k; ++step) {
        const index_t n_changed = index_t(changed.size());
        const index_t block = std::max<index_t>(1, std::min(n_changed, row_block<Src>()));
        for (index_t c0 = 0; c0 < n_changed; c0 += block) {
            const index_t count = std::min(block, n_changed - c0);
            gather_rows(src, changed.data() + c0, count, buffer, rows);
#pragma omp parallel num_threads(n_threads) if (count * n > (1 << 16))
            {
                const index_t p = omp_get_thread_num(), parts = omp_get_num_threads();
                const EvenSplit split{n, parts};
                const index_t lo = split.begin(p), hi = split.begin(p + 1);
                for (index_t c = c0; c < c0 + count; ++c) {
                    const index_t o = changed[c];
                    detail::build_gain(rows[c - c0], w[o], old_near[c], near[o], lo, hi,
                                       gain.data());
                }
            }
        }
        // Choose: the most negative gain among non-medoids, ties to the lowest index; if none
        // is negative (duplicates), the lowest-index non-medoid, so k distinct medoids result.
        // The incremental gains carry rounding of their own, so every candidate within a hair
        // of the best is re-scored by a direct sum in the reference's order: exact ties (which
        // symmetric pairs of points produce) are then broken the same way as there.
        double best_gain = 0.0, loss = 0.0;
        for (index_t i = 0; i < n; ++i)
            if (!is_med[i]) best_gain = std::min(best_gain, gain[i]);
        for (index_t o = 0; o < n; ++o) loss += w[o] * near[o];
        const double window = best_gain + 1e-9 * loss;
        index_t best = -1;
        double best_exact = 0.0;
        for (index_t i = 0; i < n; ++i) {
            if (is_med[i] || !(gain[i] <= window) || !(gain[i] < 0.0)) continue;
            const double g = exact_build_gain(src.row(i, scratch.data()), near, w, i);
            if (g < best_exact) {
                best_exact = g;
                best = i;
            }
        }
        if (best < 0)
            for (index_t i = 0; i < n && best < 0; ++i)
                if (!is_med[i]) best = i;
        med.push_back(best);
        is_med[best] = 1;
        if (step + 1 == k) break;
        // Points whose nearest distance shrinks feed the next incremental update.
        changed.clear();
        old_near.clear();
        gather_rows(src, &best, 1, buffer, rows);
        for (index_t o = 0; o < n; ++o) {
            const double d = double(rows[0][o]);
            if (d < near[o]) {
                changed.push_back(o);
                old_near.push_back(near[o]);
                near[o] = d;
            }
        }
        interrupt();
    }
    return med;
}

// A uniform double in [0, 1) from 53 random bits: the same stream on every platform.
inline double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

// Lowers near[o] to d(best, o) for every point.
template <class Src, class T = typename Src::value_type>
void update_nearest(const Src& src, index_t best, std::vector<double>& near) {
    std::vector<T> buffer;
    std::vector<const T*> rows;
    gather_rows(src, &best, 1, buffer, rows);
    for (index_t o = 0; o < src.size(); ++o) near[o] = std::min(near[o], double(rows[0][o]));
}

// The lowest-index point that is not a medoid (fallback when sampling finds none).
inline index_t first_non_medoid(const std::vector<char>& is_med) {
    for (index_t i = 0; i < index_t(is_med.size()); ++i)
        if (!is_med[i]) return i;
    return -1;
}

// LAB (linear approximative BUILD): each medoid is chosen among a fresh random sample of m
// points (indices drawn by the caller, `samples` is k x m) by the sample-restricted BUILD gain.
template <class Src>
std::vector<index_t> lab(const Src& src, const MatrixView<index_t>& samples, const double* w) {
    const index_t n = src.size(), k = samples.rows, m = samples.cols;
    std::vector<index_t> med;
    std::vector<char> is_med(n, 0);
    std::vector<double> near(n, std::numeric_limits<double>::infinity());
    for (index_t step = 0; step < k; ++step) {
        const index_t* s = samples.row(step);
        index_t best = -1;
        double best_cost = std::numeric_limits<double>::infinity();
        for (index_t a = 0; a < m; ++a) {
            const index_t i = s[a];
            if (is_med[i]) continue;
            double cost = 0.0;
            for (index_t b = 0; b < m; ++b)
                cost += w[s[b]] * std::min(double(src.at(i, s[b])), near[s[b]]);
            if (cost < best_cost) {
                best_cost = cost;
                best = i;
            }
        }
        if (best < 0) best = first_non_medoid(is_med);  // every sampled point is a medoid
        med.push_back(best);
        is_med[best] = 1;
        update_nearest(src, best, near);
    }
    return med;
}

// k-medoids++: first medoid drawn with probability proportional to the weight, each next one
// proportional to w * D(o)^2, with 2 + floor(ln k) trials keeping the one that lowers the loss most.
template <class Src, class T = typename Src::value_type>
std::vector<index_t> kmedoids_plusplus(const Src& src, index_t k, const double* w,
                                       std::uint64_t seed) {
    const index_t n = src.size();
    std::mt19937_64 rng(seed);
    const int trials = 2 + int(std::log(double(k)));
    auto draw = [&](const std::vector<double>& p) {
        // Inverse CDF over the running sum; zero-mass points are never drawn.
        double total = 0.0;
        for (double v : p) total += v;
        if (!(total > 0.0)) return index_t(-1);
        const double u = uniform01(rng) * total;
        double run = 0.0;
        index_t last_positive = -1;
        for (index_t o = 0; o < n; ++o) {
            if (p[o] <= 0.0) continue;
            run += p[o];
            last_positive = o;
            if (u < run) return o;
        }
        return last_positive;
    };
    std::vector<index_t> med;
    std::vector<char> is_med(n, 0);
    std::vector<double> p(w, w + n);
    index_t first = draw(p);
    if (first < 0) first = 0;
    med.push_back(first);
    is_med[first] = 1;
    std::vector<double> near(n, std::numeric_limits<double>::infinity());
    update_nearest(src, first, near);
    std::vector<T> scratch(Src::stored ? 0 : n);
    for (index_t step = 1; step < k; ++step) {
        for (index_t o = 0; o < n; ++o) p[o] = is_med[o] ? 0.0 : w[o] * near[o] * near[o];
        index_t best = -1;
        double best_loss = std::numeric_limits<double>::infinity();
        for (int t = 0; t < trials; ++t) {
            const index_t c = draw(p);
            if (c < 0) break;  // every remaining point coincides with a medoid
            const T* row = src.row(c, scratch.data());
            double loss = 0.0;
            for (index_t o = 0; o < n; ++o) loss += w[o] * std::min(near[o], double(row[o]));
            if (loss < best_loss) {
                best_loss = loss;
                best = c;
            }
        }
        if (best < 0) best = first_non_medoid(is_med);
        med.push_back(best);
        is_med[best] = 1;
        update_nearest(src, best, near);
    }
    return med;
}

// ---- CLARANS -----------------------------------------------------------------------------------
//
// FasterCLARANS (ALGORITHMS.md): n_local restarts from random medoids; each step draws a random
// non-medoid and scores all k swaps for it at once; the best is applied when it lowers the loss;
// a restart ends after max_neighbors consecutive rejected candidates. The best restart is kept.
template <class Src, class T = typename Src::value_type>
Result clarans(const Src& src, index_t k, const double* w, index_t n_local, index_t max_neighbors,
               std::uint64_t seed, int n_threads, InterruptCheck& interrupt) {
    const index_t n = src.size();
    std::mt19937_64 rng(seed);
    auto uniform_index = [&](index_t bound) { return index_t(uniform01(rng) * double(bound)); };
    if (k == 1)  // no second nearest medoid to swap against: the exact single medoid
        return single_medoid(src, uniform_index(n), w, 1, n_threads);
    Result best;
    best.loss = std::numeric_limits<double>::infinity();
    std::vector<T> scratch(Src::stored ? 0 : n);
    std::vector<double> removal(k), ploss(k);
    for (index_t restart = 0; restart < n_local; ++restart) {
        // k distinct random medoids (partial Fisher-Yates over a lazily built permutation).
        std::vector<index_t> perm(n);
        for (index_t i = 0; i < n; ++i) perm[i] = i;
        std::vector<index_t> med(k);
        for (index_t s = 0; s < k; ++s) {
            const index_t r = s + uniform_index(n - s);
            std::swap(perm[s], perm[r]);
            med[s] = perm[s];
        }
        Assignment<T> a = assign(src, med, n_threads);
        double loss = total_deviation(a, w);
        removal_loss(a, w, removal);
        index_t rejected = 0, steps = 0, n_swaps = 0;
        while (rejected < max_neighbors && n > k) {
            index_t j;
            do j = uniform_index(n);
            while (med[a.near_i[j]] == j);
            const T* row = src.row(j, scratch.data());
            const auto [change, b] = score_swap(row, a, w, removal, ploss.data());
            ++steps;
            if (change < 0.0) {
                loss = apply_swap(src, med, a, w, b, j, row, n_threads);
                removal_loss(a, w, removal);
                ++n_swaps;
                rejected = 0;
            } else {
                ++rejected;
            }
            if ((steps & 63) == 0) interrupt();
        }
        if (loss < best.loss) best = finish(std::move(med), a, loss, steps, n_swaps);
    }
    return best;
}

// ---- precomputed-matrix checks -----------------------------------------------------------------

struct MatrixReport {
    double min_value = 0.0;          // smallest entry (negative distances are an error)
    double max_abs_diagonal = 0.0;   // distances of a point to itself must be 0
    double max_asymmetry = 0.0;      // max |d(i,j) - d(j,i)|
    double max_value = 0.0;
    index_t n_nonfinite = 0;         // NaN or infinite entries (the other fields are then moot)
};

namespace detail {

struct TileStats {
    double mn = std::numeric_limits<double>::infinity();
    double mx = 0.0;
    double asym = 0.0;
    index_t bad = 0;
};

// Statistics of a rows x cols tile A (leading dimension lda) against its transposed partner,
// already copied row-major into Bt (leading dimension ldb). Branch-free, so it vectorises.
template <class T>
inline __attribute__((always_inline)) void tile_stats_body(const T* A, index_t lda, const T* Bt,
                                                           index_t ldb, index_t rows,
                                                           index_t cols, TileStats& s) {
    double mn = s.mn, mx = s.mx, asym = s.asym;
    index_t bad = s.bad;
    for (index_t i = 0; i < rows; ++i) {
        const T* a = A + i * lda;
        const T* b = Bt + i * ldb;
#pragma omp simd reduction(min : mn) reduction(max : mx, asym) reduction(+ : bad)
        for (index_t j = 0; j < cols; ++j) {
            const double x = double(a[j]), y = double(b[j]);
            bad += index_t(!(x - x == 0.0)) + index_t(!(y - y == 0.0));  // NaN or inf
            mn = std::min(mn, std::min(x, y));
            mx = std::max(mx, std::max(x, y));
            asym = std::max(asym, std::abs(x - y));
        }
    }
    s.mn = mn;
    s.mx = mx;
    s.asym = asym;
    s.bad = bad;
}
PARTITA_MULTIVERSION static void tile_stats(const float* A, index_t lda, const float* Bt,
                                            index_t ldb, index_t rows, index_t cols,
                                            TileStats& s) {
    tile_stats_body(A, lda, Bt, ldb, rows, cols, s);
}
PARTITA_MULTIVERSION static void tile_stats(const double* A, index_t lda, const double* Bt,
                                            index_t ldb, index_t rows, index_t cols,
                                            TileStats& s) {
    tile_stats_body(A, lda, Bt, ldb, rows, cols, s);
}

}  // namespace detail

// The largest |d(i,j) - d(j,i)|, exactly: tile pairs (i-block, j-block) and (j-block, i-block),
// the partner transposed into a small buffer so both are read contiguously. Slower than the
// streaming pass below (transposed reads): used only when that pass finds the matrix is not
// bitwise symmetric, to tell rounding noise from real asymmetry.
template <class T>
double max_asymmetry(const MatrixView<T>& D, int n_threads) {
    const index_t n = D.rows;
    constexpr index_t tile = 256;  // partner read in 1-2 KB runs, and it fits in L2
    const index_t n_tiles = (n + tile - 1) / tile;
    double asym = 0.0;
#pragma omp parallel num_threads(n_threads) reduction(max : asym)
    {
        std::vector<T> partner(tile * tile);
        detail::TileStats s;
#pragma omp for schedule(dynamic, 1)
        for (index_t bi = 0; bi < n_tiles; ++bi) {
            const index_t i0 = bi * tile, i1 = std::min(n, i0 + tile);
            for (index_t bj = bi; bj < n_tiles; ++bj) {
                const index_t j0 = bj * tile, j1 = std::min(n, j0 + tile);
                for (index_t j = j0; j < j1; ++j)  // partner[i][j] = D(j, i)
                    for (index_t i = i0; i < i1; ++i) partner[(i - i0) * tile + (j - j0)] = D(j, i);
                detail::tile_stats(D.row(i0) + j0, n, partner.data(), tile, i1 - i0, j1 - j0, s);
            }
        }
        asym = s.asym;
    }
    return asym;
}

namespace detail {

// Random odd 64-bit multipliers, a fixed stream (splitmix64).
inline std::vector<std::uint64_t> random_odd(index_t n, std::uint64_t seed) {
    std::vector<std::uint64_t> v(n);
    for (index_t i = 0; i < n; ++i) {
        std::uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        v[i] = (z ^ (z >> 31)) | 1;
    }
    return v;
}

template <class T>
using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

// One row of the streaming inspection: NaN / inf count, min, max, and the two fingerprints
// sum_j x_ij b_j and sum_j x_ij a_j of the entries' bit patterns x (wrapping integer sums).
template <class T>
inline __attribute__((always_inline)) void row_stats_body(const T* row, index_t n,
                                                          const std::uint64_t* a,
                                                          const std::uint64_t* b, TileStats& s,
                                                          std::uint64_t& fa, std::uint64_t& fb) {
    double mn = s.mn, mx = s.mx;
    index_t bad = s.bad;
    std::uint64_t ra = 0, rb = 0;
    const Bits<T>* bits = reinterpret_cast<const Bits<T>*>(row);
#pragma omp simd reduction(min : mn) reduction(max : mx) reduction(+ : bad, ra, rb)
    for (index_t j = 0; j < n; ++j) {
        const double x = double(row[j]);
        bad += index_t(!(x - x == 0.0));  // NaN or inf
        mn = std::min(mn, x);
        mx = std::max(mx, x);
        const std::uint64_t v = bits[j];
        ra += v * b[j];
        rb += v * a[j];
    }
    s.mn = mn;
    s.mx = mx;
    s.bad = bad;
    fa = ra;
    fb = rb;
}
PARTITA_MULTIVERSION static void row_stats(const float* row, index_t n, const std::uint64_t* a,
                                           const std::uint64_t* b, TileStats& s,
                                           std::uint64_t& fa, std::uint64_t& fb) {
    row_stats_body(row, n, a, b, s, fa, fb);
}
PARTITA_MULTIVERSION static void row_stats(const double* row, index_t n, const std::uint64_t* a,
                                           const std::uint64_t* b, TileStats& s,
                                           std::uint64_t& fa, std::uint64_t& fb) {
    row_stats_body(row, n, a, b, s, fa, fb);
}

}  // namespace detail

// Everything a precomputed matrix must satisfy, in one streaming pass over its rows. Symmetry
// is tested exactly through fingerprints of the entries' bits: with x_ij the bit pattern of
// d(i,j) and random odd a, b, sum_ij a_i b_j x_ij equals sum_ij b_i a_j x_ij (integer sums, in
// any order) when the matrix is bitwise symmetric, and differs otherwise except with
// negligible probability. Only then is the exact largest asymmetry computed, by the slower
// transposed pass, to tell rounding noise from a real asymmetry.
template <class T>
MatrixReport inspect_matrix(const MatrixView<T>& D, int n_threads) {
    const index_t n = D.rows;
    const std::vector<std::uint64_t> a = detail::random_odd(n, 0x5eed), b = detail::random_odd(n, 0xfeed);
    double mn = std::numeric_limits<double>::infinity(), mx = 0.0, diag = 0.0;
    index_t bad = 0;
    std::uint64_t h1 = 0, h2 = 0;
#pragma omp parallel num_threads(n_threads) reduction(min : mn) reduction(max : mx, diag) \
    reduction(+ : bad, h1, h2)
    {
        detail::TileStats s;
#pragma omp for schedule(static)
        for (index_t i = 0; i < n; ++i) {
            std::uint64_t fa, fb;
            detail::row_stats(D.row(i), n, a.data(), b.data(), s, fa, fb);
            h1 += a[i] * fa;
            h2 += b[i] * fb;
            diag = std::max(diag, std::abs(double(D(i, i))));
        }
        mn = s.mn;
        mx = s.mx;
        bad = s.bad;
    }
    MatrixReport r;
    r.min_value = n > 0 ? mn : 0.0;
    r.max_value = mx;
    r.max_abs_diagonal = diag;
    r.n_nonfinite = bad;
    r.max_asymmetry = (h1 == h2 || bad > 0) ? 0.0 : max_asymmetry(D, n_threads);
    return r;
}

// Makes a computed distance matrix exactly symmetric (upper triangle wins) with a zero diagonal;
// metrics computed through dot products can differ in the last bits between (i, j) and (j, i).
template <class T>
void symmetrize(T* D, index_t n, int n_threads) {
    constexpr index_t tile = 64;
    const index_t n_tiles = (n + tile - 1) / tile;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
    for (index_t bi = 0; bi < n_tiles; ++bi) {
        for (index_t bj = bi; bj < n_tiles; ++bj) {
            const index_t i1 = std::min(n, (bi + 1) * tile), j1 = std::min(n, (bj + 1) * tile);
            for (index_t i = bi * tile; i < i1; ++i)
                for (index_t j = std::max(bj * tile, i + 1); j < j1; ++j) D[j * n + i] = D[i * n + j];
        }
    }
    for (index_t i = 0; i < n; ++i) D[i * n + i] = T(0);
}

}  // namespace partita::medoids
