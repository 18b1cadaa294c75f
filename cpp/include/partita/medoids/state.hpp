// What the swap optimisers share: every point's nearest and second-nearest medoid (docs/
// algorithms.md, "Per-point state"), the removal loss of every medoid ("Removal loss"), the
// score of a candidate ("Scoring a candidate") and the update after a swap ("Applying a swap").
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/candidate_scan.hpp"
#include "partita/medoids/sources.hpp"

namespace partita::medoids {

// Nearest and second-nearest medoid slot of every point, kept as separate arrays so that the
// candidate scan streams only the distances it compares against.
template <class T>
struct Assignment {
    std::vector<std::int32_t> near_i, seco_i;
    std::vector<T> near_d, seco_d;
    explicit Assignment(index_t n)
        : near_i(n, 0), seco_i(n, -1), near_d(n, T(0)), seco_d(n, T(0)) {}
};

struct Result {
    std::vector<index_t> medoids;      // point index of every slot
    std::vector<std::int32_t> labels;  // slot of every point
    double loss = 0.0;                 // weighted total deviation
    index_t n_iter = 0;
    index_t n_swaps = 0;
    // True when the last pass (iteration) found nothing left to improve; false when max_iter
    // ended the search first (or max_iter = 0 skipped it).
    bool converged = false;
    // Loss after, and swaps (medoid changes) made in, every pass, for verbose output.
    std::vector<double> pass_loss;
    std::vector<index_t> pass_swaps;
};

namespace detail {

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

// Nearest / second-nearest slots for the given medoids (docs/algorithms.md, "Per-point state"):
// slots scanned 0..k-1 with strict <, except that a medoid is always its own nearest. Ctrl-C is
// polled between blocks of medoid rows when `interrupt` is given (large k on the fly is slow).
template <class Src, class T = typename Src::value_type>
Assignment<T> assign(const Src& src, const std::vector<index_t>& med, int n_threads,
                     InterruptCheck* interrupt = nullptr) {
    const index_t n = src.size(), k = index_t(med.size());
    Assignment<T> a(n);
    std::vector<T> buffer;
    std::vector<const T*> rows;
    const index_t block = std::min(k, row_block<Src>());
    for (index_t m0 = 0; m0 < k; m0 += block) {
        const index_t count = std::min(block, k - m0);
        if (interrupt) (*interrupt)();
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
// change (docs/algorithms.md, "Scoring a candidate").
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
// point's state (docs/algorithms.md, "Applying a swap"). Returns the new loss.
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
        r.converged = true;  // the exact optimum
    }
    r.medoids = {best};
    r.loss = sums[best];
    if (max_iter > 0) {
        r.pass_loss = {r.loss};
        r.pass_swaps = {r.n_swaps};
    }
    return r;
}

// The reported labels (docs/algorithms.md, "Ties"): every point in the lowest slot among its
// equally near medoids, as argmin over the medoids' distances gives. The state may hold a tied
// point elsewhere (a medoid is its own nearest; a swap moves a point only when strictly nearer),
// but only where the nearest and second-nearest distances are equal: those points alone are
// rescanned, and the state the optimisers work on is left as it is.
template <class Src, class T = typename Src::value_type>
std::vector<std::int32_t> lowest_slot_labels(const Src& src, const std::vector<index_t>& med,
                                             const Assignment<T>& a, int n_threads) {
    const index_t n = src.size(), k = index_t(med.size());
    std::vector<std::int32_t> labels = a.near_i;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n > 4096)
    for (index_t o = 0; o < n; ++o) {
        if (a.seco_i[o] < 0 || a.seco_d[o] != a.near_d[o]) continue;
        for (std::int32_t i = 0; i < std::int32_t(k); ++i) {
            if (src.at(o, med[i]) == a.near_d[o]) {  // the first slot at the nearest distance
                labels[o] = i;
                break;
            }
        }
    }
    return labels;
}

template <class Src, class T = typename Src::value_type>
Result finish(const Src& src, std::vector<index_t> med, const Assignment<T>& a, double loss,
              index_t n_iter, index_t n_swaps, int n_threads, bool converged = false,
              std::vector<double> pass_loss = {}, std::vector<index_t> pass_swaps = {}) {
    Result r;
    r.converged = converged;
    r.pass_loss = std::move(pass_loss);
    r.pass_swaps = std::move(pass_swaps);
    r.labels = lowest_slot_labels(src, med, a, n_threads);
    r.medoids = std::move(med);
    r.loss = loss;
    r.n_iter = n_iter;
    r.n_swaps = n_swaps;
    return r;
}

}  // namespace partita::medoids
