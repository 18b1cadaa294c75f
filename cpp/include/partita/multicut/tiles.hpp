// The dense dot-product tile of the multicut searches and the transposes that feed it: the one
// place where multicut scores rows against feature-major columns.
//
// Every lane of the tile sums over the features in order, exactly as dot() (objective.hpp)
// does, and the module is compiled without FMA contraction, so a tile score in float64 equals
// the pair's dot(), bit for bit.
#pragma once

#include <algorithm>
#include <vector>

#include "partita/common.hpp"

namespace partita::multicut {

namespace detail {

constexpr int TILE_ROWS = 6;         // query rows held in registers at once

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

// dst (d x m) = the m x d rows of F, feature-major: one feature of consecutive rows contiguous.
template <class T>
inline void feature_major_into(const T* F, index_t m, index_t d, T* dst) {
    for (index_t i = 0; i < m; ++i)
        for (index_t t = 0; t < d; ++t) dst[std::size_t(t) * m + i] = F[std::size_t(i) * d + t];
}

}  // namespace detail

// Feature-major copy of the m x d rows of F.
inline std::vector<double> transpose(const double* F, index_t m, index_t d) {
    std::vector<double> FT(std::size_t(m) * d);
    detail::feature_major_into(F, m, d, FT.data());
    return FT;
}

}  // namespace partita::multicut
