// Dense multicut (correlation clustering) on the complete graph whose edge costs are inner
// products of node features: c_ij = <f_i, f_j> - a (a = offset >= 0, positive = attractive).
// ALGORITHMS.md section 4.
//
// A cluster A carries F_A = sum of its features and its size |A|; the cost between two clusters
// is <F_A, F_B> - a |A||B|, so nothing quadratic is ever stored:
//  - gaec():   greedy additive edge contraction in the exact greedy order of the complete graph.
//              Every active cluster keeps its best partner (an exact maximum inner product search
//              over the active clusters) in a max-heap; a popped entry whose partner is gone is
//              re-queried. Ties: the largest cost first, then the smallest pair (lo, hi) of
//              cluster representatives (a cluster's representative is its smallest node index).
//  - lazy():   contraction on exact kNN graphs of the active clusters, rebuilt in rounds until a
//              rebuild finds no positive edge (which certifies that no two final clusters have a
//              positive merge cost).
//  - refine(): single-node moves between clusters (or to a new cluster) that lower the objective.
//
// Every cost is computed by the same operations whichever way it is asked for: the dot product
// is a sum over the features in order (the blocked kernel vectorises over the columns, never
// over the features, and the module is compiled without FMA contraction), and the size term is
// a * (|A| * |B|), symmetric and exact in its product of integers. So a cost found by the kNN
// search equals the cost recomputed for one pair, bit for bit, and no result depends on the
// number of threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <queue>
#include <type_traits>
#include <vector>

#include "partita/common.hpp"

namespace partita::multicut {

namespace detail {

constexpr int TILE_ROWS = 6;         // query rows held in registers at once
constexpr index_t COL_CHUNK = 512;   // columns scored before a visitor scans them
constexpr index_t ROW_BLOCK = 96;    // query rows per unit of parallel work

// The canonical dot product: a sum over the features in order.
inline double dot(const double* x, const double* y, index_t d) {
    double acc = 0.0;
    for (index_t t = 0; t < d; ++t) acc += x[t] * y[t];
    return acc;
}

// B query rows x W columns (two 512-bit registers), accumulators in registers. FT is
// feature-major (d x stride): one feature of consecutive columns is contiguous. Each lane sums
// over the features in order, exactly as dot() does.
template <class T, int B>
inline __attribute__((always_inline)) void tile_body(const T* const* q, const T* FT,
                                                     index_t stride, index_t d, index_t j0,
                                                     T* const* out, index_t o_out) {
    constexpr int W = 128 / int(sizeof(T));
    T acc[B][W];
    for (int b = 0; b < B; ++b)
        for (int o = 0; o < W; ++o) acc[b][o] = T(0);
    for (index_t t = 0; t < d; ++t) {
        const T* __restrict col = FT + t * stride + j0;
        for (int b = 0; b < B; ++b) {
            const T qt = q[b][t];
#pragma omp simd
            for (int o = 0; o < W; ++o) acc[b][o] += col[o] * qt;
        }
    }
    for (int b = 0; b < B; ++b) {
#pragma omp simd
        for (int o = 0; o < W; ++o) out[b][o_out + o] = acc[b][o];
    }
}

// Scores out[b][j - j0] = <q_b, column j> for j in [j0, j1), nq <= TILE_ROWS query rows.
template <class T>
inline __attribute__((always_inline)) void score_rows_body(const T* const* q, int nq,
                                                           const T* FT, index_t stride,
                                                           index_t d, index_t j0, index_t j1,
                                                           T* const* out) {
    constexpr index_t W = 128 / index_t(sizeof(T));
    index_t o0 = j0;
    for (; o0 + W <= j1; o0 += W) {
        if (nq == TILE_ROWS) {
            tile_body<T, TILE_ROWS>(q, FT, stride, d, o0, out, o0 - j0);
        } else {
            for (int b = 0; b < nq; ++b) tile_body<T, 1>(q + b, FT, stride, d, o0, out + b, o0 - j0);
        }
    }
    if (o0 < j1) {
        const index_t len = j1 - o0;
        for (int b = 0; b < nq; ++b) {
            T* __restrict dst = out[b] + (o0 - j0);
            for (index_t o = 0; o < len; ++o) dst[o] = T(0);
            for (index_t t = 0; t < d; ++t) {
                const T qt = q[b][t];
                const T* __restrict col = FT + t * stride + o0;
#pragma omp simd
                for (index_t o = 0; o < len; ++o) dst[o] += col[o] * qt;
            }
        }
    }
}

// One clone per instruction set (AVX-512, AVX2, baseline) of each precision.
PARTITA_MULTIVERSION static void score_rows(const double* const* q, int nq, const double* FT,
                                            index_t stride, index_t d, index_t j0, index_t j1,
                                            double* const* out) {
    score_rows_body<double>(q, nq, FT, stride, d, j0, j1, out);
}
PARTITA_MULTIVERSION static void score_rows(const float* const* q, int nq, const float* FT,
                                            index_t stride, index_t d, index_t j0, index_t j1,
                                            float* const* out) {
    score_rows_body<float>(q, nq, FT, stride, d, j0, j1, out);
}

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

// dst (cols x rows) = transpose of src (rows x cols), in cache-sized tiles.
template <class T>
inline void transpose_into(const T* src, index_t rows, index_t cols, T* dst) {
    constexpr index_t B = 16;
    for (index_t x0 = 0; x0 < rows; x0 += B)
        for (index_t y0 = 0; y0 < cols; y0 += B) {
            const index_t x1 = std::min(rows, x0 + B), y1 = std::min(cols, y0 + B);
            for (index_t x = x0; x < x1; ++x)
                for (index_t y = y0; y < y1; ++y) dst[y * rows + x] = src[x * cols + y];
        }
}


}  // namespace detail

// Rows of double features prepared for dense scoring. The blocked kernel runs in float32 when
// every row norm is moderate (twice the speed of float64), with a rigorous bound on its error:
// |score32 - <x, y>| <= margin * |x| |y|. A visitor treats a float32 score as a candidate when
// it could beat its threshold within that bound and then recomputes the exact float64 cost
// with dot(), so every decision is made on the same float64 values as a pure float64 search,
// and the result is identical to it.
struct Rows {
    const double* data = nullptr;   // m x d, row-major, float64 (exact costs)
    index_t m = 0, d = 0;
    bool low = false;               // scores in float32
    std::vector<float> r32;         // m x d float32 copy (queries)
    std::vector<float> t32;         // d x m float32 feature-major copy (columns)
    std::vector<double> t64;        // d x m float64 feature-major copy (columns)
    std::vector<double> norm;       // |row|
    double margin = 0.0;            // relative error bound of a float32 score

    Rows(const double* F, index_t rows, index_t cols, bool as_columns = true,
         bool allow_low = true)
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
            if (low) {
                t32.resize(std::size_t(m) * d);
                for (index_t i = 0; i < m; ++i)
                    for (index_t t = 0; t < d; ++t)
                        t32[std::size_t(t) * m + i] = r32[std::size_t(i) * d + t];
            } else {
                t64.resize(std::size_t(m) * d);
                for (index_t i = 0; i < m; ++i)
                    for (index_t t = 0; t < d; ++t)
                        t64[std::size_t(t) * m + i] = F[std::size_t(i) * d + t];
            }
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
            COL_CHUNK, std::min<index_t>(8192, (index_t(1) << 16) / std::max<index_t>(1, d)) / 32 * 32);
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
    if (C.low)
        run(0.0f, Q.r32.data(), C.t32.data());
    else
        run(0.0, Q.data, C.t64.data());
}

// Feature-major copy of the m x d rows of F.
inline std::vector<double> transpose(const double* F, index_t m, index_t d) {
    std::vector<double> FT(std::size_t(m) * d);
    for (index_t i = 0; i < m; ++i)
        for (index_t t = 0; t < d; ++t) FT[std::size_t(t) * m + i] = F[std::size_t(i) * d + t];
    return FT;
}

// The cost between two clusters: <F_A, F_B> - a * (|A| * |B|).
inline double pair_cost(const double* FA, const double* FB, index_t d, double a, double sA,
                        double sB) {
    return detail::dot(FA, FB, d) - a * (sA * sB);
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
    if (R.low)
        run(0.0f, R.r32.data(), R.t32.data());
    else
        run(0.0, R.data, R.t64.data());
}

// ---- helpers on partitions ---------------------------------------------------------------

// Node features as doubles (unit-normalised rows when `normalise`).
template <class T>
std::vector<double> to_double(const MatrixView<T>& X, bool normalise) {
    const index_t n = X.rows, d = X.cols;
    std::vector<double> F(std::size_t(n) * d);
    for (index_t i = 0; i < n; ++i) {
        double* f = F.data() + std::size_t(i) * d;
        for (index_t t = 0; t < d; ++t) f[t] = double(X(i, t));
        if (normalise) {
            const double norm = std::sqrt(detail::dot(f, f, d));
            require(norm > 0.0, "cosine: a row of zeros has no direction");
            for (index_t t = 0; t < d; ++t) f[t] /= norm;
        }
    }
    return F;
}

// Labels 0..c-1 numbered in the order of each cluster's smallest node; returns c.
inline index_t relabel(std::vector<index_t>& labels) {
    const index_t n = index_t(labels.size());
    index_t top = 0;
    for (index_t i = 0; i < n; ++i) top = std::max(top, labels[i] + 1);
    std::vector<index_t> map(top, -1);
    index_t c = 0;
    for (index_t i = 0; i < n; ++i) {
        index_t& m = map[labels[i]];
        if (m < 0) m = c++;
        labels[i] = m;
    }
    return c;
}

// Sums F_C (c x d, in node order) and sizes of the clusters of labels (0..c-1).
inline void cluster_sums(const double* X, index_t n, index_t d, const index_t* labels, index_t c,
                         std::vector<double>& F, std::vector<double>& size) {
    F.assign(std::size_t(c) * d, 0.0);
    size.assign(c, 0.0);
    for (index_t i = 0; i < n; ++i) {
        double* f = F.data() + std::size_t(labels[i]) * d;
        const double* x = X + std::size_t(i) * d;
        for (index_t t = 0; t < d; ++t) f[t] += x[t];
        size[labels[i]] += 1.0;
    }
}

// The multicut objective (sum of the costs of the cut edges) of labels (0..c-1), in O(n d):
// (1/2) sum_C [<F_C, S - F_C> - a |C| (n - |C|)], S = sum of all features.
inline double objective(const double* X, index_t n, index_t d, const index_t* labels, index_t c,
                        double a) {
    std::vector<double> F, size;
    cluster_sums(X, n, d, labels, c, F, size);
    std::vector<double> S(d, 0.0);
    for (index_t i = 0; i < n; ++i)
        for (index_t t = 0; t < d; ++t) S[t] += X[std::size_t(i) * d + t];
    double total = 0.0;
    std::vector<double> rest(d);
    for (index_t C = 0; C < c; ++C) {
        const double* f = F.data() + std::size_t(C) * d;
        for (index_t t = 0; t < d; ++t) rest[t] = S[t] - f[t];
        total += detail::dot(f, rest.data(), d) - a * (size[C] * (double(n) - size[C]));
    }
    return 0.5 * total;
}

struct Result {
    std::vector<index_t> labels;  // 0..c-1 in the order of each cluster's smallest node
    index_t n_clusters = 0;
    index_t n_merges = 0;         // contractions
    index_t n_rounds = 0;         // kNN graphs built (lazy rounds)
    index_t n_queries = 0;        // exact best-partner searches (gaec)
    index_t n_moves = 0;          // node moves of refine
    double objective = 0.0;
};

inline index_t find_root(std::vector<index_t>& parent, index_t i) {
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

// ---- exact-order GAEC --------------------------------------------------------------------

// Greedy additive edge contraction of the complete graph from singletons, in the exact greedy
// order (ties to the smallest pair of representatives). X: n x d doubles. Memory O(n d).
inline Result gaec(const std::vector<double>& X, index_t n, index_t d, double a, int n_threads,
                   InterruptCheck& interrupt) {
    struct Entry {
        double cost;
        index_t self, partner, vs, vp;
    };
    // Max-heap on cost, then on the smallest pair (lo, hi) of representatives (slots are reps).
    auto lower = [](const Entry& x, const Entry& y) {
        if (x.cost != y.cost) return x.cost < y.cost;
        const index_t xl = std::min(x.self, x.partner), yl = std::min(y.self, y.partner);
        if (xl != yl) return xl > yl;
        return std::max(x.self, x.partner) > std::max(y.self, y.partner);
    };
    std::priority_queue<Entry, std::vector<Entry>, decltype(lower)> heap(lower);

    std::vector<double> F = X;                  // slot = representative = smallest node
    std::vector<double> size(n, 1.0);
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
            if (nbr[i] >= 0) heap.push(Entry{cost[i], i, nbr[i], 0, 0});
    }

    // Packed feature-major copy of the active clusters, in increasing slot order.
    index_t m = n;
    std::vector<double> FT = transpose(F.data(), n, d);
    std::vector<index_t> col_slot(n), pos(n);
    std::vector<double> col_size(n, 1.0);
    for (index_t i = 0; i < n; ++i) col_slot[i] = pos[i] = i;
    index_t n_active = n;

    auto repack = [&] {
        index_t mm = 0;
        for (index_t j = 0; j < m; ++j)
            if (active[col_slot[j]]) col_slot[mm++] = col_slot[j];
        m = mm;
        FT.assign(std::size_t(m) * d, 0.0);
        col_size.assign(m, 0.0);
        for (index_t j = 0; j < m; ++j) {
            const index_t s = col_slot[j];
            pos[s] = j;
            col_size[j] = size[s];
            for (index_t t = 0; t < d; ++t) FT[std::size_t(t) * m + j] = F[std::size_t(s) * d + t];
        }
    };

    // Best partner of slot q among the active clusters: the largest cost, ties to the
    // smallest slot. Fixed parts combined in order: the same answer on any thread count.
    constexpr index_t PART = 32768;  // a parallel region per query pays off only on long scans
    std::vector<double> buf;
    auto query = [&](index_t q, double& best_cost, index_t& best_slot) {
        const double* fq = F.data() + std::size_t(q) * d;
        const double sq = size[q];
        const index_t parts =
            std::max<index_t>(1, std::min<index_t>(n_threads, m / PART));
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
                detail::score_rows(qq, 1, FT.data(), m, d, j0, j1, out);
                for (index_t j = j0; j < j1; ++j) {
                    const index_t s = col_slot[j];
                    if (!active[s] || s == q) continue;
                    const double v = scratch[j - j0] - a * (sq * col_size[j]);
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
        ++res.n_queries;
    };
    auto push_best = [&](index_t q) {
        double c;
        index_t s;
        query(q, c, s);
        if (s >= 0 && c > 0.0) heap.push(Entry{c, q, s, version[q], version[s]});
    };

    while (!heap.empty()) {
        interrupt();
        const Entry e = heap.top();
        heap.pop();
        if (!(e.cost > 0.0)) break;
        if (!active[e.self] || version[e.self] != e.vs) continue;  // superseded entry
        if (!active[e.partner] || version[e.partner] != e.vp) {   // the partner changed
            push_best(e.self);
            continue;
        }
        const index_t keep = std::min(e.self, e.partner), gone = std::max(e.self, e.partner);
        double* fk = F.data() + std::size_t(keep) * d;
        const double* fg = F.data() + std::size_t(gone) * d;
        for (index_t t = 0; t < d; ++t) fk[t] += fg[t];
        size[keep] += size[gone];
        active[gone] = 0;
        ++version[keep];
        parent[gone] = keep;
        --n_active;
        ++res.n_merges;
        const index_t pk = pos[keep];
        col_size[pk] = size[keep];
        for (index_t t = 0; t < d; ++t) FT[std::size_t(t) * m + pk] = fk[t];
        if (n_active * 2 < m && m > 256) repack();
        push_best(keep);
    }

    res.labels.resize(n);
    for (index_t i = 0; i < n; ++i) res.labels[i] = find_root(parent, i);
    res.n_clusters = relabel(res.labels);
    return res;
}

// ---- lazy kNN rounds ---------------------------------------------------------------------

// Contraction from the partition `labels` (0..c-1) on exact kNN graphs of the active clusters
// (k = n_neighbors), rebuilt in rounds until a rebuild finds no positive edge. A merged
// cluster's neighbours are the union of the two lists, each cost recomputed exactly from the
// summed features. Returns the labels (0..c'-1), merges and rounds.
inline Result lazy(const std::vector<double>& X, index_t n, index_t d, double a,
                   std::vector<index_t> labels, index_t n_neighbors, int n_threads,
                   InterruptCheck& interrupt) {
    Result res;
    index_t c = relabel(labels);
    std::vector<double> F, size;
    cluster_sums(X.data(), n, d, labels.data(), c, F, size);
    // Representative of a cluster: its smallest node.
    std::vector<index_t> rep(c, -1);
    for (index_t i = n - 1; i >= 0; --i) rep[labels[i]] = i;

    struct Edge {
        double cost;
        index_t lo, hi;   // representatives, for the tie order
        index_t u, v, vu, vv;
    };
    auto lower = [](const Edge& x, const Edge& y) {
        if (x.cost != y.cost) return x.cost < y.cost;
        if (x.lo != y.lo) return x.lo > y.lo;
        return x.hi > y.hi;
    };

    // `cl` maps the current cluster id of every original cluster (labels) through merges.
    std::vector<index_t> cl_parent(c);
    for (index_t i = 0; i < c; ++i) cl_parent[i] = i;
    std::vector<index_t> ids(c);   // active original cluster ids, in increasing rep order
    for (index_t i = 0; i < c; ++i) ids[i] = i;

    while (ids.size() >= 2) {
        interrupt();
        const index_t m = index_t(ids.size());
        // Local arrays of the active clusters.
        std::vector<double> Fl(std::size_t(m) * d), sl(m);
        std::vector<index_t> repl(m);
        for (index_t u = 0; u < m; ++u) {
            std::copy(F.begin() + std::size_t(ids[u]) * d, F.begin() + std::size_t(ids[u] + 1) * d,
                      Fl.begin() + std::size_t(u) * d);
            sl[u] = size[ids[u]];
            repl[u] = rep[ids[u]];
        }
        const index_t k = std::min(n_neighbors, m - 1);
        std::vector<index_t> nbr;
        std::vector<double> cost;
        knn_positive(Fl.data(), sl.data(), m, d, a, k, n_threads, interrupt, nbr, cost);
        ++res.n_rounds;

        // Adjacency: the symmetrised kNN graph. Every cluster keeps its best neighbour in a
        // max-heap (as in gaec(), restricted to the graph): a popped entry whose partner changed
        // is re-evaluated over the cluster's current neighbours.
        std::vector<std::vector<index_t>> adj(m);
        bool any = false;
        for (index_t u = 0; u < m; ++u)
            for (index_t p = 0; p < k; ++p) {
                const index_t v = nbr[u * k + p];
                if (v < 0) break;
                adj[u].push_back(v);
                adj[v].push_back(u);
                any = true;
            }
        if (!any) break;  // certificate: no positive edge between active clusters

        std::priority_queue<Edge, std::vector<Edge>, decltype(lower)> heap(lower);
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
                heap.push(Edge{best, std::min(repl[u], repl[arg]), std::max(repl[u], repl[arg]), u,
                               arg, version[u], version[arg]});
        };
        for (index_t u = 0; u < m; ++u)
            if (nbr[u * k] >= 0)  // the best out-neighbour is first; in-edges come from others
                heap.push(Edge{cost[u * k], std::min(repl[u], repl[nbr[u * k]]),
                               std::max(repl[u], repl[nbr[u * k]]), u, nbr[u * k], 0, 0});
        while (!heap.empty()) {
            interrupt();
            const Edge e = heap.top();
            heap.pop();
            if (!(e.cost > 0.0)) break;
            if (!alive[e.u] || version[e.u] != e.vu) continue;   // superseded entry
            if (!alive[e.v] || version[e.v] != e.vv) {           // the partner changed
                push_best(e.u);
                continue;
            }
            const index_t keep = repl[e.u] < repl[e.v] ? e.u : e.v;
            const index_t gone = keep == e.u ? e.v : e.u;
            double* fk = Fl.data() + std::size_t(keep) * d;
            const double* fg = Fl.data() + std::size_t(gone) * d;
            for (index_t t = 0; t < d; ++t) fk[t] += fg[t];
            sl[keep] += sl[gone];
            alive[gone] = 0;
            parent[gone] = keep;
            ++version[keep];
            ++res.n_merges;
            adj[keep].insert(adj[keep].end(), adj[gone].begin(), adj[gone].end());
            std::vector<index_t>().swap(adj[gone]);
            push_best(keep);
        }

        // Back to the original cluster ids.
        std::vector<index_t> next;
        for (index_t u = 0; u < m; ++u) {
            const index_t root = find_root(parent, u);
            cl_parent[ids[u]] = ids[root];
            if (root == u) {
                next.push_back(ids[u]);
                std::copy(Fl.begin() + std::size_t(u) * d, Fl.begin() + std::size_t(u + 1) * d,
                          F.begin() + std::size_t(ids[u]) * d);
                size[ids[u]] = sl[u];
            }
        }
        ids = std::move(next);
    }

    res.labels.resize(n);
    for (index_t i = 0; i < n; ++i) res.labels[i] = find_root(cl_parent, labels[i]);
    res.n_clusters = relabel(res.labels);
    return res;
}

// ---- local moves -------------------------------------------------------------------------

// Moves single nodes between clusters (or into a new cluster) while that lowers the objective.
// Each pass finds, for every node i in cluster A, the cluster B != A with the largest
// g(B) = <f_i, F_B> - a |B| (one blocked pass over all clusters, ties to the smallest B), then
// applies the moves in node order, each re-checked against the current sums: the gain of moving
// i from A to B is g(B) - g(A) + <f_i, f_i> - a (g(new cluster) = 0), and a move is made only
// when the gain is positive beyond rounding. Stops after a pass without moves or max_passes.
// labels: 0..c-1 in, 0..c'-1 out. Returns the number of moves.
inline index_t refine(const std::vector<double>& X, index_t n, index_t d, double a,
                      std::vector<index_t>& labels, index_t max_passes, int n_threads,
                      InterruptCheck& interrupt) {
    index_t moves = 0;
    std::vector<double> xx(n);
    for (index_t i = 0; i < n; ++i) {
        const double* x = X.data() + std::size_t(i) * d;
        xx[i] = detail::dot(x, x, d);
    }
    for (index_t pass = 0; pass < max_passes; ++pass) {
        index_t c = relabel(labels);
        std::vector<double> F, size;
        cluster_sums(X.data(), n, d, labels.data(), c, F, size);
        // Scores of every node against every cluster; float32 only when both sides allow it.
        bool low = true;
        std::unique_ptr<Rows> Q, C;
        for (int attempt = 0; attempt < 2; ++attempt) {
            Q = std::make_unique<Rows>(X.data(), n, d, false, low);
            C = std::make_unique<Rows>(F.data(), c, d, true, low);
            if (Q->low == C->low) break;
            low = false;
        }
        const double margin = Q->low ? Q->margin : 0.0;
        std::vector<index_t> cand(n, -1);
        std::vector<double> cval(n, 0.0);
        blocked_scores(*Q, *C, n_threads, interrupt,
                       [&](index_t i, index_t j0, index_t j1, const auto* sc) {
                           const index_t own = labels[i];
                           const double* x = X.data() + std::size_t(i) * d;
                           const double mi = margin * Q->norm[i];
                           index_t arg = cand[i];
                           double best = cval[i];
                           for (index_t j = j0; j < j1; ++j) {
                               if (j == own) continue;
                               double v = double(sc[j - j0]) - a * size[j];
                               if (arg >= 0 && !(v + (mi * C->norm[j] + 1e-300) > best)) continue;
                               if (margin > 0.0)
                                   v = detail::dot(x, F.data() + std::size_t(j) * d, d) - a * size[j];
                               if (arg < 0 || v > best) {
                                   best = v;
                                   arg = j;
                               }
                           }
                           cand[i] = arg;
                           cval[i] = best;
                       });
        index_t pass_moves = 0;
        for (index_t i = 0; i < n; ++i) {
            interrupt();
            const index_t A = labels[i];
            const double* x = X.data() + std::size_t(i) * d;
            const double gA = detail::dot(x, F.data() + std::size_t(A) * d, d) - a * size[A];
            index_t B = cand[i];
            double gB = 0.0;
            if (B >= 0) gB = detail::dot(x, F.data() + std::size_t(B) * d, d) - a * size[B];
            if (B < 0 || !(gB > 0.0)) {  // a new cluster of its own is at least as good
                if (size[A] <= 1.0) continue;
                B = -1;
                gB = 0.0;
            }
            const double gain = gB - gA + xx[i] - a;
            const double scale = std::abs(gA) + std::abs(gB) + xx[i] + a;
            if (!(gain > 1e-12 * scale)) continue;
            if (B < 0) {
                B = index_t(size.size());
                size.push_back(0.0);
                F.resize(F.size() + d, 0.0);
            }
            double* fa = F.data() + std::size_t(A) * d;
            double* fb = F.data() + std::size_t(B) * d;
            for (index_t t = 0; t < d; ++t) {
                fa[t] -= x[t];
                fb[t] += x[t];
            }
            size[A] -= 1.0;
            size[B] += 1.0;
            labels[i] = B;
            ++pass_moves;
        }
        moves += pass_moves;
        if (pass_moves == 0) break;
    }
    relabel(labels);
    return moves;
}

// ---- the whole solver ---------------------------------------------------------------------

enum class Algorithm : int { gaec = 0, lazy = 1 };

// Contraction (gaec or lazy), then, with refine, alternating local moves and lazy contraction
// from the refined partition until neither changes anything (at most max_rounds alternations),
// so that the final clusters have no positive merge left between them.
inline Result solve(const std::vector<double>& X, index_t n, index_t d, double a,
                    Algorithm algorithm, index_t n_neighbors, bool do_refine, index_t max_passes,
                    int n_threads, InterruptCheck& interrupt) {
    Result res;
    if (n == 0) return res;
    if (algorithm == Algorithm::gaec) {
        res = gaec(X, n, d, a, n_threads, interrupt);
    } else {
        std::vector<index_t> singletons(n);
        for (index_t i = 0; i < n; ++i) singletons[i] = i;
        res = lazy(X, n, d, a, std::move(singletons), n_neighbors, n_threads, interrupt);
    }
    if (do_refine) {
        constexpr int max_rounds = 10;
        for (int round = 0; round < max_rounds; ++round) {
            const index_t moved = refine(X, n, d, a, res.labels, max_passes, n_threads, interrupt);
            res.n_moves += moved;
            if (moved == 0) break;
            Result again = lazy(X, n, d, a, res.labels, n_neighbors, n_threads, interrupt);
            res.labels = std::move(again.labels);
            res.n_merges += again.n_merges;
            res.n_rounds += again.n_rounds;
            if (again.n_merges == 0) break;
        }
    }
    res.n_clusters = relabel(res.labels);
    res.objective = objective(X.data(), n, d, res.labels.data(), res.n_clusters, a);
    return res;
}

}  // namespace partita::multicut
