// Kernel k-means: the full update of E from Gram rows recomputed from the features, computing
// each Gram entry once for both halves of the symmetric matrix (docs/algorithms.md, "Stored and
// blocked Gram", "Incremental updates").
//
// Points are cut into tiles of SYM_TILE points. The Gram block G = K[tile a, tile b], a <= b, is
// computed once and serves twice: its rows j (tile a) are added to the E columns of tile b, and,
// for a < b, its columns j (tile b, transposed) to the E columns of tile a. K(x_j, x_i) and
// K(x_i, x_j) are the same bits, and every E entry still receives its rows in increasing j: the
// E columns of tile x see the blocks (0, x), (1, x), ..., (x, x), (x, x + 1), ... in that
// order, which is the order in which the blocks are created, each depending on the previous
// block that writes the same tiles. The result equals the row-by-row pass bit for bit, on any
// thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "partita/common.hpp"
#include "partita/kernel_kmeans/gram.hpp"

namespace partita::kernel_kmeans {

namespace detail {

// out[i] += w * row[i] for i in [0, len): the E update, in double.
#define PARTITA_AXPY(T)                                                                            \
    PARTITA_MULTIVERSION static void axpy(double w, const T* __restrict row, index_t len,          \
                                          double* __restrict out) {                                \
        _Pragma("omp simd") for (index_t i = 0; i < len; ++i) out[i] += w * double(row[i]);        \
    }
PARTITA_AXPY(double)
PARTITA_AXPY(float)
#undef PARTITA_AXPY

// Points per tile of the symmetric pass; a tile's Gram block is computed ROW_BLOCK rows at a time
// (their features stay in L1, as in the row-by-row pass).
constexpr index_t SYM_TILE = 512;

// One thread's buffers: ROW_BLOCK rows of a Gram block, their transpose, their row indices.
template <class T>
struct SymmetricScratch {
    std::vector<T> block, transposed;
    std::vector<index_t> rows;
    SymmetricScratch()
        : block(std::size_t(ROW_BLOCK) * SYM_TILE),
          transposed(std::size_t(ROW_BLOCK) * SYM_TILE),
          rows(ROW_BLOCK) {}
};

// The block (a, b), a <= b, of the symmetric pass: G = K[tile a, tile b], ROW_BLOCK rows at a
// time; rows j of G go to E's columns of tile b, and (a < b) its columns j, transposed, to the
// ROW_BLOCK E columns of tile a that the rows stand for.
template <class T>
void symmetric_block(const KernelFeatures<T>& X, const std::int32_t* L, const double* w, double* E,
                     index_t a, index_t b, SymmetricScratch<T>& sc) {
    const index_t n = X.size();
    const index_t a0 = a * SYM_TILE, a1 = std::min(n, a0 + SYM_TILE);
    const index_t b0 = b * SYM_TILE, lb = std::min(n, b0 + SYM_TILE) - b0;
    T* G = sc.block.data();
    T* Gt = sc.transposed.data();
    for (index_t r0 = a0; r0 < a1; r0 += ROW_BLOCK) {
        const index_t m = std::min(ROW_BLOCK, a1 - r0);
        for (index_t r = 0; r < m; ++r) sc.rows[r] = r0 + r;
        X.gram_rows(sc.rows.data(), m, b0, b0 + lb, G, lb);  // G[r][q] = K(r0 + r, b0 + q)
        for (index_t r = 0; r < m; ++r) {
            const index_t j = r0 + r;
            if (w[j] != 0) axpy(w[j], G + r * lb, lb, E + L[j] * n + b0);
        }
        if (a == b) continue;
        feature_tiles::transpose(G, m, lb, Gt);  // Gt[q][r] = K(b0 + q, r0 + r)
        for (index_t q = 0; q < lb; ++q) {
            const index_t j = b0 + q;
            if (w[j] != 0) axpy(w[j], Gt + q * m, m, E + L[j] * n + r0);
        }
    }
}

}  // namespace detail

// E[L_j][:] += w_j K[j][:] for every point j of nonzero weight, E (k x n, cluster-major) zeroed
// by the caller: the full update of "Incremental updates", half the Gram entries computed.
// Blocks are OpenMP tasks created in the order (0, 0), (0, 1), ..., (1, 1), ... with a dependence
// on both tiles they write: the E columns of every tile then receive their blocks in the order
// above, whatever thread runs them, and no barrier waits for a whole anti-diagonal.
template <class T>
void add_all_rows_symmetric(const KernelFeatures<T>& X, const std::int32_t* L, const double* w,
                            double* E, int n_threads, InterruptCheck& interrupt) {
    constexpr index_t P = detail::SYM_TILE;
    const index_t n = X.size(), m = (n + P - 1) / P;
    const int threads = int(std::max<index_t>(1, std::min<index_t>(n_threads, m)));
    std::vector<detail::SymmetricScratch<T>> scratch(threads);
    if (threads == 1) {
        for (index_t a = 0; a < m; ++a)
            for (index_t b = a; b < m; ++b) {
                interrupt();
                detail::symmetric_block(X, L, w, E, a, b, scratch[0]);
            }
        return;
    }
    std::vector<char> tile(m);  // dependence tokens, one per tile of E columns
    char* tok = tile.data();
    std::atomic<bool> stop{false};
#pragma omp parallel num_threads(threads)
#pragma omp single
    for (index_t a = 0; a < m; ++a)
        for (index_t b = a; b < m; ++b) {
#pragma omp task firstprivate(a, b) depend(inout : tok[a], tok[b]) shared(stop, scratch)
            if (!stop_requested(stop, interrupt))
                detail::symmetric_block(X, L, w, E, a, b, scratch[omp_get_thread_num()]);
        }
    if (stop) throw Interrupted();
}

}  // namespace partita::kernel_kmeans
