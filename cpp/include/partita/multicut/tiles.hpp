// The dense dot-product tile of the multicut searches and the transposes that feed it, taken
// from the shared feature_tiles.hpp: the one place where multicut scores rows against
// feature-major columns.
//
// Every lane of the tile sums over the features in order, exactly as dot() (objective.hpp)
// does, and the module is compiled without FMA contraction, so a tile score in float64 equals
// the pair's dot(), bit for bit.
#pragma once

#include <vector>

#include "partita/common.hpp"
#include "partita/feature_tiles.hpp"

namespace partita::multicut {

namespace detail {

constexpr int TILE_ROWS = feature_tiles::TILE_ROWS;  // query rows held in registers at once

// One clone per instruction set (AVX-512, AVX2, baseline) of each precision.
PARTITA_FEATURE_TILE_ROWS(feature_tiles::Product, feature_tiles::RawSum, double)
PARTITA_FEATURE_TILE_ROWS(feature_tiles::Product, feature_tiles::RawSum, float)

// Scores out[b][j - j0] = <q_b, column j> for j in [j0, j1), nq <= TILE_ROWS query rows; FT is
// feature-major (d x stride).
template <class T>
inline void score_rows(const T* const* q, int nq, const T* FT, index_t stride, index_t d,
                       index_t j0, index_t j1, T* const* out) {
    tile_rows(feature_tiles::Product(), feature_tiles::RawSum(), FT + j0, stride, d, q, nq, j1 - j0,
              out);
}

// dst (cols x rows) = transpose of src (rows x cols), in cache-sized tiles.
template <class T>
inline void transpose_into(const T* src, index_t rows, index_t cols, T* dst) {
    feature_tiles::transpose(src, rows, cols, dst);
}

}  // namespace detail

// Feature-major copy of the m x d rows of F.
inline std::vector<double> transpose(const double* F, index_t m, index_t d) {
    return feature_tiles::feature_major(F, m, d);
}

}  // namespace partita::multicut
