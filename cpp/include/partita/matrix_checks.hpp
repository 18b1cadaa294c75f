// Checks of a dense n x n matrix (a precomputed distance matrix, a Gram matrix) in one pass: NaN /
// inf, range, diagonal and symmetry; and the symmetrisation of a computed distance matrix.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "partita/common.hpp"
#include "partita/simd.hpp"

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

// 8 x 8 blocks transposed in registers: eight 8-lane vectors (the lanes of one row), in three
// rounds of two-vector shuffles. Any clone lowers them to its own registers.
template <class T>
struct Block8;
template <>
struct Block8<double> {
    typedef double V __attribute__((vector_size(64)));
    typedef std::int64_t M __attribute__((vector_size(64)));
};
template <>
struct Block8<float> {
    typedef float V __attribute__((vector_size(32)));
    typedef std::int32_t M __attribute__((vector_size(32)));
};

template <class T>
inline __attribute__((always_inline)) void transpose8(typename Block8<T>::V* r) {
    using V = typename Block8<T>::V;
    using M = typename Block8<T>::M;
    V t[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = __builtin_shuffle(r[k], r[k + 1], M{0, 8, 2, 10, 4, 12, 6, 14});
        t[k + 1] = __builtin_shuffle(r[k], r[k + 1], M{1, 9, 3, 11, 5, 13, 7, 15});
    }
    for (int k = 0; k < 8; k += 4)
        for (int h = 0; h < 2; ++h) {
            r[k + h] = __builtin_shuffle(t[k + h], t[k + h + 2], M{0, 1, 8, 9, 4, 5, 12, 13});
            r[k + h + 2] = __builtin_shuffle(t[k + h], t[k + h + 2], M{2, 3, 10, 11, 6, 7, 14, 15});
        }
    for (int h = 0; h < 4; ++h) {
        t[h] = __builtin_shuffle(r[h], r[h + 4], M{0, 1, 2, 3, 8, 9, 10, 11});
        t[h + 4] = __builtin_shuffle(r[h], r[h + 4], M{4, 5, 6, 7, 12, 13, 14, 15});
    }
    for (int k = 0; k < 8; ++k) r[k] = t[k];
}

// Lane-wise statistics of the 8 x 8 blocks A (rows a + i * ld) and B (rows b + i * ld), B
// transposed against A, in float64 lanes; Self: A and B are the same block, its entries counted
// once.
struct BlockStats {
    using W = Block8<double>::V;
    using WM = Block8<double>::M;
    W mn = W{} + std::numeric_limits<double>::infinity(), mx = W{}, asym = W{};
    WM bad = WM{};
    template <bool Self, class T>
    inline __attribute__((always_inline)) void add(const T* a, const T* b, index_t ld) {
        using V = typename Block8<T>::V;
        V y[8];
        for (int k = 0; k < 8; ++k) __builtin_memcpy(&y[k], b + k * ld, sizeof(V));
        transpose8<T>(y);
        for (int k = 0; k < 8; ++k) {
            V xv;
            __builtin_memcpy(&xv, a + k * ld, sizeof(V));
            const W x = __builtin_convertvector(xv, W), yw = __builtin_convertvector(y[k], W);
            const W dx = x - x, dy = yw - yw;
            bad -= (dx != dx);  // NaN or inf: -1 per lane
            if constexpr (!Self) bad -= (dy != dy);
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
            if constexpr (!Self) {
                mn = yw < mn ? yw : mn;
                mx = yw > mx ? yw : mx;
            }
            const W d = x > yw ? x - yw : yw - x;
            asym = d > asym ? d : asym;
        }
    }
    void into(TileStats& s) const {
        for (int l = 0; l < 8; ++l) {
            s.mn = std::min(s.mn, mn[l]);
            s.mx = std::max(s.mx, mx[l]);
            s.asym = std::max(s.asym, asym[l]);
            s.bad += index_t(bad[l]);
        }
    }
};

// The same statistics in 4 x 4 blocks of 32-byte vectors, for CPUs without AVX-512 (GCC keeps
// the 64-byte vectors above in memory there, which made the pass several times slower). An 8 x 8
// block pair is four 4 x 4 pairs; min, max, the largest asymmetry and the count do not depend on
// the order, so the report is the same.
template <class T>
struct Block4 {
    typedef T V __attribute__((vector_size(4 * sizeof(T))));
    typedef std::conditional_t<sizeof(T) == 8, std::int64_t, std::int32_t> I;
    typedef I M __attribute__((vector_size(4 * sizeof(T))));
};

template <class T>
inline __attribute__((always_inline)) void transpose4(typename Block4<T>::V* r) {
    using M = typename Block4<T>::M;
    const auto t0 = __builtin_shuffle(r[0], r[1], M{0, 4, 2, 6});
    const auto t1 = __builtin_shuffle(r[0], r[1], M{1, 5, 3, 7});
    const auto t2 = __builtin_shuffle(r[2], r[3], M{0, 4, 2, 6});
    const auto t3 = __builtin_shuffle(r[2], r[3], M{1, 5, 3, 7});
    r[0] = __builtin_shuffle(t0, t2, M{0, 1, 4, 5});
    r[1] = __builtin_shuffle(t1, t3, M{0, 1, 4, 5});
    r[2] = __builtin_shuffle(t0, t2, M{2, 3, 6, 7});
    r[3] = __builtin_shuffle(t1, t3, M{2, 3, 6, 7});
}

struct BlockStats4 {
    typedef double W __attribute__((vector_size(32)));
    typedef std::int64_t WM __attribute__((vector_size(32)));
    W mn = W{} + std::numeric_limits<double>::infinity(), mx = W{}, asym = W{};
    WM bad = WM{};
    template <bool Self, class T>
    inline __attribute__((always_inline)) void add4(const T* a, const T* b, index_t ld) {
        using V = typename Block4<T>::V;
        V y[4];
        for (int k = 0; k < 4; ++k) __builtin_memcpy(&y[k], b + k * ld, sizeof(V));
        transpose4<T>(y);
        for (int k = 0; k < 4; ++k) {
            V xv;
            __builtin_memcpy(&xv, a + k * ld, sizeof(V));
            const W x = __builtin_convertvector(xv, W), yw = __builtin_convertvector(y[k], W);
            const W dx = x - x, dy = yw - yw;
            bad -= (dx != dx);
            if constexpr (!Self) bad -= (dy != dy);
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
            if constexpr (!Self) {
                mn = yw < mn ? yw : mn;
                mx = yw > mx ? yw : mx;
            }
            const W d = x > yw ? x - yw : yw - x;
            asym = d > asym ? d : asym;
        }
    }
    // An 8 x 8 block pair as BlockStats::add counts it: A's sub-block (p, q) against B's (q, p);
    // on the diagonal (Self) the two diagonal sub-blocks against themselves and the pair
    // ((0, 1), (1, 0)) once, which counts each entry of the block once.
    template <bool Self, class T>
    inline __attribute__((always_inline)) void add(const T* a, const T* b, index_t ld) {
        const index_t down = 4 * ld;
        if constexpr (Self) {
            add4<true>(a, a, ld);
            add4<true>(a + down + 4, a + down + 4, ld);
            add4<false>(a + 4, a + down, ld);
        } else {
            add4<false>(a, b, ld);
            add4<false>(a + 4, b + down, ld);
            add4<false>(a + down, b + 4, ld);
            add4<false>(a + down + 4, b + down + 4, ld);
        }
    }
    void into(TileStats& s) const {
        for (int l = 0; l < 4; ++l) {
            s.mn = std::min(s.mn, mn[l]);
            s.mx = std::max(s.mx, mx[l]);
            s.asym = std::max(s.asym, asym[l]);
            s.bad += index_t(bad[l]);
        }
    }
};

// One scalar pair (i, j), j >= i: the rows and columns that no full 8 x 8 block covers.
template <class T>
inline void pair_scalar(const MatrixView<T>& D, index_t i, index_t j, TileStats& s) {
    const double x = double(D(i, j)), y = double(D(j, i));
    s.bad += index_t(!(x - x == 0.0)) + (i != j ? index_t(!(y - y == 0.0)) : 0);
    s.mn = std::min(s.mn, std::min(x, y));
    s.mx = std::max(s.mx, std::max(x, y));
    s.asym = std::max(s.asym, std::abs(x - y));
}

// The tile pair (rows [i0, i1) x columns [j0, j1)) and its mirror, j0 >= i0, tiles aligned to
// 8: the 8 x 8 blocks on or above the diagonal, each with its mirror. The tile pair read next
// (columns [next_j0, next_j1), empty at the end of a row of tiles) is prefetched into L2, a
// slice per block row: its rows are short runs that the hardware prefetcher misses.
template <class Stats, class T>
inline __attribute__((always_inline)) void tile_pair_body(const MatrixView<T>& D, index_t i0,
                                                          index_t i1, index_t j0, index_t j1,
                                                          index_t next_j0, index_t next_j1,
                                                          TileStats& s) {
    constexpr index_t LINE = 64 / sizeof(T);
    const index_t n = D.cols;
    Stats acc;
    const index_t i8 = i0 + (i1 - i0) / 8 * 8, j8 = j0 + (j1 - j0) / 8 * 8;
    for (index_t i = i0; i < i1; i += 8) {
        if (next_j1 > next_j0) {  // rows i .. i+8 of the next A tile and of the next B tile
            const index_t rb = next_j0 + (i - i0), re = std::min(next_j1, rb + 8);
            for (index_t r = i; r < std::min(i1, i + 8); ++r)
                for (index_t c = next_j0; c < next_j1; c += LINE)
                    __builtin_prefetch(D.row(r) + c, 0, 2);
            for (index_t r = rb; r < re; ++r)
                for (index_t c = i0; c < i1; c += LINE) __builtin_prefetch(D.row(r) + c, 0, 2);
        }
        if (i == i8) break;
        index_t j = std::max(j0, i);
        if (j == i) {  // diagonal block of a diagonal tile
            if (j + 8 <= j8) {
                acc.template add<true>(D.row(i) + j, D.row(j) + i, n);
                j += 8;
            }
        }
        for (; j < j8; j += 8) acc.template add<false>(D.row(i) + j, D.row(j) + i, n);
    }
    acc.into(s);
    // Remainders: rows [i8, i1) and columns [j8, j1) of the last tiles.
    for (index_t i = i0; i < i1; ++i)
        for (index_t j = std::max(i, i < i8 ? j8 : j0); j < j1; ++j) pair_scalar(D, i, j, s);
}
PARTITA_MULTIVERSION static void tile_pair(const MatrixView<float>& D, index_t i0, index_t i1,
                                           index_t j0, index_t j1, index_t next_j0, index_t next_j1,
                                           TileStats& s) {
    if (simd::has_512bit_vectors())
        tile_pair_body<BlockStats>(D, i0, i1, j0, j1, next_j0, next_j1, s);
    else tile_pair_body<BlockStats4>(D, i0, i1, j0, j1, next_j0, next_j1, s);
}
PARTITA_MULTIVERSION static void tile_pair(const MatrixView<double>& D, index_t i0, index_t i1,
                                           index_t j0, index_t j1, index_t next_j0, index_t next_j1,
                                           TileStats& s) {
    if (simd::has_512bit_vectors())
        tile_pair_body<BlockStats>(D, i0, i1, j0, j1, next_j0, next_j1, s);
    else tile_pair_body<BlockStats4>(D, i0, i1, j0, j1, next_j0, next_j1, s);
}

}  // namespace detail

// Everything a precomputed matrix must satisfy, in one pass that reads every entry once: tile
// pairs (i-block, j-block) and (j-block, i-block) of the upper block triangle, compared in 8 x 8
// blocks transposed in registers. The largest |d(i,j) - d(j,i)| is exact, so rounding noise
// (scikit-learn's distances are never bitwise symmetric) is told from real asymmetry in the
// same pass.
template <class T>
MatrixReport inspect_tiled(const MatrixView<T>& D, int n_threads) {
    const index_t n = D.rows;
    constexpr index_t tile = 64;  // a tile pair (64 KB in float64) and the next one fit in L2
    const index_t n_tiles = (n + tile - 1) / tile;
    double mn = std::numeric_limits<double>::infinity(), mx = 0.0, diag = 0.0, asym = 0.0;
    index_t bad = 0;
#pragma omp parallel num_threads(n_threads) reduction(min : mn) reduction(max : mx, diag, asym)    \
    reduction(+ : bad)
    {
        detail::TileStats s;
#pragma omp for schedule(dynamic, 1)
        for (index_t bi = 0; bi < n_tiles; ++bi) {
            const index_t i0 = bi * tile, i1 = std::min(n, i0 + tile);
            for (index_t bj = bi; bj < n_tiles; ++bj) {
                const index_t j0 = bj * tile, j1 = std::min(n, j0 + tile);
                detail::tile_pair(D, i0, i1, j0, j1, j1, std::min(n, j1 + tile), s);
            }
            for (index_t i = i0; i < i1; ++i) diag = std::max(diag, std::abs(double(D(i, i))));
        }
        mn = s.mn;
        mx = s.mx;
        asym = s.asym;
        bad = s.bad;
    }
    MatrixReport r;
    r.min_value = n > 0 ? mn : 0.0;
    r.max_value = mx;
    r.max_abs_diagonal = diag;
    r.n_nonfinite = bad;
    r.max_asymmetry = bad > 0 ? 0.0 : asym;
    return r;
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

// Whether the first PROBE rows equal the first PROBE columns bit for bit (one cache line of
// each row for the columns): a cheap test that sends most matrices that are symmetric only to
// rounding straight to the tiled pass.
template <class T>
bool first_rows_symmetric(const MatrixView<T>& D) {
    constexpr index_t PROBE = 8;
    const index_t n = D.rows, p = std::min(PROBE, n);
    for (index_t j = 0; j < n; ++j)
        for (index_t i = 0; i < p; ++i) {
            const T x = D(i, j), y = D(j, i);
            if (std::memcmp(&x, &y, sizeof(T)) != 0) return false;
        }
    return true;
}

}  // namespace detail

// The streaming pass over the rows: everything but the asymmetry, and symmetry tested exactly
// through fingerprints of the entries' bits: with x_ij the bit pattern of d(i,j) and random odd
// a, b, sum_ij a_i b_j x_ij equals sum_ij b_i a_j x_ij (integer sums, in any order) when the
// matrix is bitwise symmetric, and differs otherwise except with negligible probability.
// Returns false (the matrix is not bitwise symmetric) when the fingerprints differ.
template <class T>
bool inspect_streaming(const MatrixView<T>& D, int n_threads, MatrixReport& r) {
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
    r.min_value = n > 0 ? mn : 0.0;
    r.max_value = mx;
    r.max_abs_diagonal = diag;
    r.n_nonfinite = bad;
    r.max_asymmetry = 0.0;
    return h1 == h2 || bad > 0;
}

// Everything a precomputed matrix must satisfy. A matrix whose first rows equal its first
// columns bit for bit (partita's own matrices, or one made symmetric) is read by the streaming
// pass, which costs ~10% less than the tiled one; any other, or one whose fingerprints then
// differ, by the tiled pass, which finds its exact largest asymmetry.
template <class T>
MatrixReport inspect_matrix(const MatrixView<T>& D, int n_threads) {
    MatrixReport r;
    if (detail::first_rows_symmetric(D) && inspect_streaming(D, n_threads, r)) return r;
    return inspect_tiled(D, n_threads);
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
