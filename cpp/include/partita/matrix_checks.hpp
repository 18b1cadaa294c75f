// Checks of a dense n x n matrix (a precomputed distance matrix, a Gram matrix) in one streaming
// pass: NaN / inf, range, diagonal and symmetry; and the symmetrisation of a computed distance
// matrix.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "partita/common.hpp"

namespace partita::matrix_checks {

struct MatrixReport {
    double min_value = 0.0;         // smallest entry (negative distances are an error)
    double max_abs_diagonal = 0.0;  // distances of a point to itself must be 0
    double max_asymmetry = 0.0;     // max |d(i,j) - d(j,i)|
    double max_value = 0.0;
    index_t n_nonfinite = 0;  // NaN or infinite entries (the other fields are then moot)
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
                                                           index_t ldb, index_t rows, index_t cols,
                                                           TileStats& s) {
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
                                            index_t ldb, index_t rows, index_t cols, TileStats& s) {
    tile_stats_body(A, lda, Bt, ldb, rows, cols, s);
}
PARTITA_MULTIVERSION static void tile_stats(const double* A, index_t lda, const double* Bt,
                                            index_t ldb, index_t rows, index_t cols, TileStats& s) {
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
                                           const std::uint64_t* b, TileStats& s, std::uint64_t& fa,
                                           std::uint64_t& fb) {
    row_stats_body(row, n, a, b, s, fa, fb);
}
PARTITA_MULTIVERSION static void row_stats(const double* row, index_t n, const std::uint64_t* a,
                                           const std::uint64_t* b, TileStats& s, std::uint64_t& fa,
                                           std::uint64_t& fb) {
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
    const std::vector<std::uint64_t> a = detail::random_odd(n, 0x5eed),
                                     b = detail::random_odd(n, 0xfeed);
    double mn = std::numeric_limits<double>::infinity(), mx = 0.0, diag = 0.0;
    index_t bad = 0;
    std::uint64_t h1 = 0, h2 = 0;
#pragma omp parallel num_threads(n_threads) reduction(min : mn) reduction(max : mx, diag)          \
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
                for (index_t j = std::max(bj * tile, i + 1); j < j1; ++j)
                    D[j * n + i] = D[i * n + j];
        }
    }
    for (index_t i = 0; i < n; ++i) D[i * n + i] = T(0);
}

}  // namespace partita::matrix_checks
