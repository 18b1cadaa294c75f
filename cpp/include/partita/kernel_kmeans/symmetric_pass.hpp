// Kernel k-means: the full update of E from Gram rows recomputed from the features, computing
// each Gram entry once for both halves of the symmetric matrix (docs/algorithms.md, "Stored and
// blocked Gram", "Incremental updates").
//
// Points are cut into tiles of TILE points. The Gram block G = K[tile a, tile b], a <= b, is
// computed once and serves twice: its rows j (tile a) are added to the E columns of tile b, and,
// for a < b, its columns j (tile b, transposed) to the E columns of tile a. K(x_j, x_i) and
// K(x_i, x_j) are the same bits, and every E entry still receives its rows in increasing j: the
// blocks are processed by anti-diagonals a + b = 0, 1, ..., so that the E columns of a tile see
// the blocks (0, b), (1, b), ..., (b, b), (b, b + 1), ... in that order. Blocks of one
// anti-diagonal touch disjoint E columns and run in parallel. The result equals the row-by-row
// pass bit for bit, on any thread count.
#pragma once

#include <algorithm>
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

// Points per tile of the symmetric pass: a block and its transpose (2 x 512 KB in float64) stay
// in L2, and a pass at n = 50,000 has ~400 anti-diagonals, enough work per one for the threads.
constexpr index_t SYM_TILE = 256;

// One thread's buffers: a Gram block, its transpose, the block's row indices.
template <class T>
struct SymmetricScratch {
    std::vector<T> block, transposed;
    std::vector<index_t> rows;
    SymmetricScratch()
        : block(std::size_t(SYM_TILE) * SYM_TILE),
          transposed(std::size_t(SYM_TILE) * SYM_TILE),
          rows(SYM_TILE) {}
};

}  // namespace detail

// E[L_j][:] += w_j K[j][:] for every point j of nonzero weight, E (k x n, cluster-major) zeroed
// by the caller: the full update of "Incremental updates", half the Gram entries computed.
template <class T>
void add_all_rows_symmetric(const KernelFeatures<T>& X, const std::int32_t* L, const double* w,
                            double* E, int n_threads, InterruptCheck& interrupt) {
    constexpr index_t P = detail::SYM_TILE;
    const index_t n = X.size(), m = (n + P - 1) / P;
    const int threads = int(std::max<index_t>(1, std::min<index_t>(n_threads, (m + 1) / 2)));
    std::vector<detail::SymmetricScratch<T>> scratch(threads);
    for (index_t s = 0; s <= 2 * (m - 1); ++s) {
        const index_t a_first = std::max<index_t>(0, s - (m - 1)), a_last = s / 2;
        parallel_units(a_last - a_first + 1, threads, interrupt, [&](index_t u) {
            detail::SymmetricScratch<T>& sc = scratch[omp_get_thread_num()];
            const index_t a = a_first + u, b = s - a;
            const index_t a0 = a * P, la = std::min(n, a0 + P) - a0;
            const index_t b0 = b * P, lb = std::min(n, b0 + P) - b0;
            for (index_t r = 0; r < la; ++r) sc.rows[r] = a0 + r;
            T* G = sc.block.data();
            X.gram_rows(sc.rows.data(), la, b0, b0 + lb, G, lb);  // G[r][q] = K(a0 + r, b0 + q)
            for (index_t r = 0; r < la; ++r) {
                const index_t j = a0 + r;
                if (w[j] != 0) detail::axpy(w[j], G + r * lb, lb, E + L[j] * n + b0);
            }
            if (a == b) return;
            T* Gt = sc.transposed.data();
            feature_tiles::transpose(G, la, lb, Gt);  // Gt[q][r] = K(b0 + q, a0 + r)
            for (index_t q = 0; q < lb; ++q) {
                const index_t j = b0 + q;
                if (w[j] != 0) detail::axpy(w[j], Gt + q * la, la, E + L[j] * n + a0);
            }
        });
    }
}

}  // namespace partita::kernel_kmeans
