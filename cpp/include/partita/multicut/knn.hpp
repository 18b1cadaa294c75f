// The exact dense searches of the multicut solvers: scores of query rows against columns in
// blocks (blocked_scores, used by refine()) and the exact kNN with positive costs
// (knn_positive, used by gaec() and lazy()). docs/algorithms.md, "Lazy kNN rounds".
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "partita/common.hpp"
#include "partita/multicut/objective.hpp"
#include "partita/multicut/tiles.hpp"

namespace partita::multicut {

namespace detail {

constexpr index_t COL_CHUNK = 512;  // columns scored before a visitor scans them
constexpr index_t ROW_BLOCK = 96;   // query rows per unit of parallel work

// Whether any of x[0..n) is >= cut (a branch-free pass, vectorised).
template <class T>
inline __attribute__((always_inline)) bool any_at_least_body(const T* x, index_t n, T cut) {
    int hits = 0;
#pragma omp simd reduction(+ : hits)
    for (index_t j = 0; j < n; ++j) hits += int(x[j] >= cut);
    return hits != 0;
}
PARTITA_MULTIVERSION static bool any_at_least(const float* x, index_t n, float cut) {
    return any_at_least_body(x, n, cut);
}
PARTITA_MULTIVERSION static bool any_at_least(const double* x, index_t n, double cut) {
    return any_at_least_body(x, n, cut);
}

}  // namespace detail

// Rows of double features prepared for dense scoring. The blocked kernel runs in float32 when
// every row norm is moderate (twice the speed of float64), with a rigorous bound on its error:
// |score32 - <x, y>| <= margin * |x| |y|. A visitor treats a float32 score as a candidate when
// it could beat its threshold within that bound and then recomputes the exact float64 cost
// with dot(), so every decision is made on the same float64 values as a pure float64 search,
// and the result is identical to it.
struct Rows {
    const double* data = nullptr;  // m x d, row-major, float64 (exact costs)
    index_t m = 0, d = 0;
    bool low = false;          // scores in float32
    std::vector<float> r32;    // m x d float32 copy (queries)
    std::vector<float> t32;    // d x m float32 feature-major copy (columns)
    std::vector<double> t64;   // d x m float64 feature-major copy (columns)
    std::vector<double> norm;  // |row|
    double margin = 0.0;       // relative error bound of a float32 score

    Rows(const double* F, index_t rows, index_t cols, bool as_columns = true, bool allow_low = true)
        : data(F), m(rows), d(cols), norm(rows) {
        double top = 0.0;
        for (index_t i = 0; i < m; ++i) {
            norm[i] = std::sqrt(detail::dot(F + std::size_t(i) * d, F + std::size_t(i) * d, d));
            top = std::max(top, norm[i]);
        }
        // float32 while the products stay far from its range; (d + 2) u bounds the rounding of
        // the inputs and of the d-term sum (u = 2^-24), doubled for safety.
        low = allow_low && std::isfinite(top) && top < 1e15 && top > 0.0;
        if (low) {
            margin = 2.0 * double(d + 2) * std::ldexp(1.0, -24);
            r32.resize(std::size_t(m) * d);
            for (std::size_t i = 0; i < r32.size(); ++i) r32[i] = float(F[i]);
        }
        if (as_columns) {
            if (low) t32 = feature_tiles::feature_major(r32.data(), m, d);
            else t64 = feature_tiles::feature_major(F, m, d);
        }
    }
    // The bound |score - exact| for rows i (of this) and j (of `cols`) is margin_i(j) below.
    double bound(index_t i, double other_norm) const {
        return low ? margin * norm[i] * other_norm + 1e-300 : 0.0;
    }
};

// Dense scores between the query rows Q and the columns C (both Rows, the same precision),
// blocked and threaded over the query rows. For every query row r and every column chunk
// [j0, j1), in increasing order of j0, calls visit(r, j0, j1, scores) with scores[j - j0] the
// low-precision (or exact, when !C.low) <Q_r, C_j>. Visits of different rows may run
// concurrently; those of one row run in order on one thread.
template <class Visit>
void blocked_scores(const Rows& Q, const Rows& C, int n_threads, InterruptCheck& interrupt,
                    Visit&& visit) {
    using namespace detail;
    const index_t nq = Q.m, nc = C.m, d = Q.d;
    const index_t n_blocks = (nq + ROW_BLOCK - 1) / ROW_BLOCK;
    auto run = [&](auto zero, const auto* rows, const auto* FT) {
        using T = decltype(zero);
        // Wider column chunks when d is small, so that a chunk of FT stays about 256 KiB.
        const index_t chunk = std::max<index_t>(
            COL_CHUNK,
            std::min<index_t>(8192, (index_t(1) << 16) / std::max<index_t>(1, d)) / 32 * 32);
        parallel_units(n_blocks, n_threads, interrupt, [&](index_t blk) {
            std::vector<T> buf(std::size_t(TILE_ROWS) * chunk);
            const index_t r0 = blk * ROW_BLOCK, r1 = std::min(nq, r0 + ROW_BLOCK);
            for (index_t j0 = 0; j0 < nc; j0 += chunk) {
                const index_t j1 = std::min(nc, j0 + chunk);
                for (index_t r = r0; r < r1; r += TILE_ROWS) {
                    const int nb = int(std::min<index_t>(TILE_ROWS, r1 - r));
                    const T* q[TILE_ROWS];
                    T* out[TILE_ROWS];
                    for (int b = 0; b < nb; ++b) {
                        q[b] = rows + std::size_t(r + b) * d;
                        out[b] = buf.data() + std::size_t(b) * chunk;
                    }
                    score_rows(q, nb, FT, nc, d, j0, j1, out);
                    for (int b = 0; b < nb; ++b) visit(r + b, j0, j1, out[b]);
                }
            }
        });
    };
    if (C.low) run(0.0f, Q.r32.data(), C.t32.data());
    else run(0.0, Q.data, C.t64.data());
}

// Exact kNN with positive costs: for every row r of F (m x d; sizes s), the at most k other rows
// j with the largest positive cost <F_r, F_j> - a (s_r s_j), ordered by cost, ties to the smaller
// j. nbr (m x k) is -1 past the last neighbour found.
//
// The score matrix is symmetric, so only the blocks (I, J), J >= I, of BLOCK x BLOCK rows are
// computed; a block updates the lists of the rows of I from its rows and those of J from its
// columns, each list under the lock of its row block. A list holds the k best columns under a
// total order (cost descending, index ascending), which does not depend on the order in which
// candidates arrive: the result is the same on any number of threads.
inline void knn_positive(const double* F, const double* s, index_t m, index_t d, double a,
                         index_t k, int n_threads, InterruptCheck& interrupt,
                         std::vector<index_t>& nbr, std::vector<double>& cost) {
    nbr.assign(std::size_t(m) * k, -1);
    cost.assign(std::size_t(m) * k, 0.0);
    if (k == 0 || m < 2) return;
    const Rows R(F, m, d);
    const double* nrm = R.norm.data();
    const double smin = *std::min_element(s, s + m);
    const double nmax = *std::max_element(R.norm.begin(), R.norm.end());
    std::vector<index_t> count(m, 0);

    // Offers the scores sc[j - c0] of row r against the columns [c0, c1) to r's list.
    auto offer = [&](index_t r, index_t c0, index_t c1, const auto* sc) {
        index_t* nj = nbr.data() + r * k;
        double* nc = cost.data() + r * k;
        index_t cnt = count[r];
        const double sr = s[r];
        const double mr = R.low ? R.margin * nrm[r] : 0.0;
        const double* fr = F + std::size_t(r) * d;
        auto beats_last = [&](double v, index_t j) {  // better than the k-th (or positive)
            if (cnt < k) return v > 0.0;
            return v > nc[k - 1] || (v == nc[k - 1] && j < nj[k - 1]);
        };
        constexpr index_t G = 64;
        for (index_t g = c0; g < c1; g += G) {
            const index_t ge = std::min(c1, g + G);
            // Pre-filter a group on its largest score alone: a column can pass only if
            // score >= thr + a s_r min(s) - bound(max |row|).
            const double thr = cnt < k ? 0.0 : nc[k - 1];
            const double cut = thr + a * (sr * smin) - (mr * nmax + 1e-300);
            using T = std::remove_cv_t<std::remove_pointer_t<decltype(sc)>>;
            const double lowered = cut - 1e-12 * std::abs(cut);
            T cut_t = T(lowered);
            if (double(cut_t) > lowered)  // rounded up to T: step down so the filter stays safe
                cut_t = std::nextafter(cut_t, -std::numeric_limits<T>::infinity());
            if (!detail::any_at_least(sc + (g - c0), ge - g, cut_t)) continue;
            for (index_t j = g; j < ge; ++j) {
                if (j == r) continue;
                double v = double(sc[j - c0]) - a * (sr * s[j]);
                const double slack = mr * nrm[j] + 1e-300;
                if (!(v + slack >= (cnt < k ? 0.0 : nc[k - 1]))) continue;
                if (R.low) v = pair_cost(fr, F + std::size_t(j) * d, d, a, sr, s[j]);
                if (!beats_last(v, j)) continue;
                index_t p = std::min(cnt, k - 1);
                while (p > 0 && (nc[p - 1] < v || (nc[p - 1] == v && nj[p - 1] > j))) {
                    nc[p] = nc[p - 1];
                    nj[p] = nj[p - 1];
                    --p;
                }
                nc[p] = v;
                nj[p] = j;
                if (cnt < k) ++cnt;
            }
        }
        count[r] = cnt;
    };

    constexpr index_t BLOCK = 384;
    const index_t nb = (m + BLOCK - 1) / BLOCK;
    std::vector<index_t> unit_i, unit_j;
    for (index_t I = 0; I < nb; ++I)
        for (index_t J = I; J < nb; ++J) {
            unit_i.push_back(I);
            unit_j.push_back(J);
        }
    std::unique_ptr<std::mutex[]> locks(new std::mutex[nb]);

    auto run = [&](auto zero, const auto* rows, const auto* FT) {
        using T = decltype(zero);
        parallel_units(index_t(unit_i.size()), n_threads, interrupt, [&](index_t u) {
            const index_t I = unit_i[u], J = unit_j[u];
            const index_t i0 = I * BLOCK, i1 = std::min(m, i0 + BLOCK);
            const index_t j0 = J * BLOCK, j1 = std::min(m, j0 + BLOCK);
            const index_t ni = i1 - i0, njc = j1 - j0;
            thread_local std::vector<T> S, ST;
            S.resize(std::size_t(BLOCK) * BLOCK);
            for (index_t r = i0; r < i1; r += detail::TILE_ROWS) {
                const int nq = int(std::min<index_t>(detail::TILE_ROWS, i1 - r));
                const T* q[detail::TILE_ROWS];
                T* out[detail::TILE_ROWS];
                for (int b = 0; b < nq; ++b) {
                    q[b] = rows + std::size_t(r + b) * d;
                    out[b] = S.data() + std::size_t(r - i0 + b) * njc;
                }
                detail::score_rows(q, nq, FT, m, d, j0, j1, out);
            }
            {
                std::lock_guard<std::mutex> lock(locks[I]);
                for (index_t r = i0; r < i1; ++r)
                    offer(r, j0, j1, S.data() + std::size_t(r - i0) * njc);
            }
            if (J != I) {
                ST.resize(std::size_t(BLOCK) * BLOCK);
                detail::transpose_into(S.data(), ni, njc, ST.data());
                std::lock_guard<std::mutex> lock(locks[J]);
                for (index_t r = j0; r < j1; ++r)
                    offer(r, i0, i1, ST.data() + std::size_t(r - j0) * ni);
            }
        });
    };
    if (R.low) run(0.0f, R.r32.data(), R.t32.data());
    else run(0.0, R.data, R.t64.data());
}

}  // namespace partita::multicut
