// Rows x points over feature-major columns: the register-tiled kernel shared by every family that
// sums a per-pair term over the features of many (row, point) pairs at once (distances on the
// fly, Gram rows of kernel k-means, dot-product scores), and the transpose that makes the
// feature-major copy it reads.
//
// For a row a (d features) and a point x, entry(a, x) = finish(sum over t = 0 .. d-1, in order,
// of term(x_t, a_t)). The kernel vectorises over the points, never over the features, so every
// entry is computed by the same operations in the same order whichever way it is asked for (one
// pair, a tile, a remainder segment); with the module compiled without floating-point
// contraction, a plain loop over the features of one pair gives the same bits.
//
// A family defines the clones it needs with PARTITA_FEATURE_TILE_ROWS(TERM, FINISH, T) in its
// own namespace and calls tile_rows(TERM(), FINISH(), cols, stride, d, a, count, len, out).
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "partita/common.hpp"
#include "partita/simd.hpp"

namespace partita::feature_tiles {

// ---- per-pair terms: what is summed over the features of a point x and a row a ----------------
// x is a scalar T or a vector simd::VecN<T, Bytes>::type, a always a scalar T (a vector-scalar
// operation broadcasts it without an extra instruction). Vector lanes and scalars run the same IEEE
// operations, so a tile and a remainder segment give the same bits.

struct Product {
    template <class S, class T>
    static inline __attribute__((always_inline)) S term(S x, T a) {
        return x * a;
    }
};
struct SquaredDifference {
    template <class S, class T>
    static inline __attribute__((always_inline)) S term(S x, T a) {
        return (x - a) * (x - a);
    }
};
struct AbsoluteDifference {
    template <class S, class T>
    static inline __attribute__((always_inline)) S term(S x, T a) {
        if constexpr (std::is_arithmetic_v<S>) {
            return std::abs(x - a);
        } else {  // the sign bit of every lane cleared, as std::abs does
            using I = decltype(x < x);
            return simd::bits<S>(simd::bits<I>(x - a) & ~simd::bits<I>(-S{}));
        }
    }
};

// ---- finishing steps: applied to every sum (a scalar) before it is stored -----------------------

struct RawSum {  // the sum itself: tiles store their accumulators straight from the registers
    template <class T>
    static inline __attribute__((always_inline)) T finish(T acc) {
        return acc;
    }
};

// Rows held in registers at once: each feature value of a point is loaded once for them.
constexpr int TILE_ROWS = 6;
// Points per tile: two vectors of `Bytes` bytes (64 with AVX-512, 32 otherwise: 12 accumulators
// fill the registers either way). Every entry is the same sum in the same order at either width.
template <class T, int Bytes>
constexpr int tile_points() {
    return 2 * simd::VecN<T, Bytes>::lanes;
}

// B rows over the W points [o0, o0 + W), accumulators in registers: out[b][o] for o in the tile.
template <class Term, class Finish, class T, int B, int Bytes>
inline __attribute__((always_inline)) void tile(const T* cols, index_t stride, index_t d,
                                                const T* const* a, index_t o0, T* const* out) {
    using V = typename simd::VecN<T, Bytes>::type;
    constexpr int L = simd::VecN<T, Bytes>::lanes;
    V acc0[B], acc1[B];
    for (int b = 0; b < B; ++b) acc0[b] = acc1[b] = simd::splat<V>(T(0));
    for (index_t t = 0; t < d; ++t) {
        const T* __restrict col = cols + t * stride + o0;
        const V c0 = simd::load<V>(col), c1 = simd::load<V>(col + L);
        for (int b = 0; b < B; ++b) {
            const T at = a[b][t];
            acc0[b] += Term::term(c0, at);
            acc1[b] += Term::term(c1, at);
        }
    }
    if constexpr (std::is_same_v<Finish, RawSum>) {
        for (int b = 0; b < B; ++b) {
            simd::store(out[b] + o0, acc0[b]);
            simd::store(out[b] + o0 + L, acc1[b]);
        }
    } else {  // finished lane by lane from a local copy (vector extensions have no sqrt)
        alignas(64) T sums[B][2 * L];
        for (int b = 0; b < B; ++b) {
            simd::store(sums[b], acc0[b]);
            simd::store(sums[b] + L, acc1[b]);
        }
        for (int b = 0; b < B; ++b) {
#pragma omp simd
            for (int o = 0; o < 2 * L; ++o) out[b][o0 + o] = Finish::finish(sums[b][o]);
        }
    }
}

// One row over the points [o0, o0 + len) of any length (the remainder after the full tiles).
template <class Term, class Finish, class T>
inline __attribute__((always_inline)) void segment(const T* cols, index_t stride, index_t d,
                                                   const T* a, index_t o0, index_t len, T* out) {
    for (index_t o = 0; o < len; ++o) out[o0 + o] = T(0);
    for (index_t t = 0; t < d; ++t) {
        const T at = a[t];
        const T* __restrict col = cols + t * stride + o0;
#pragma omp simd
        for (index_t o = 0; o < len; ++o) out[o0 + o] += Term::term(col[o], at);
    }
    for (index_t o = 0; o < len; ++o) out[o0 + o] = Finish::finish(out[o0 + o]);
}

// out[c][o] = entry(a[c], point o) for the rows a[0..count) and the points o in [0, len), the
// features of point o being cols[t * stride + o], t = 0 .. d-1 (pass cols and out[c] advanced to
// the first point). Tiles of points outermost, so a tile's features stay in L1 for all the rows.
//
// Many features (d >= PACK_FEATURES) and rows (count >= TILE_ROWS): the tile's d x W feature
// values, one line per feature at a stride of the point count, would map to a few cache sets and
// be evicted between row blocks; they are first copied into a contiguous buffer (as GEMM packs
// its panels), which the same tile then reads with stride W. The values and the operations are
// the same, so the entries are the same bits.
constexpr index_t PACK_FEATURES = 64;

template <class Term, class Finish, class T, int Bytes>
inline __attribute__((always_inline)) void rows_width(const T* cols, index_t stride, index_t d,
                                                      const T* const* a, index_t count, index_t len,
                                                      T* const* out) {
    constexpr index_t W = tile_points<T, Bytes>();
    constexpr index_t B = TILE_ROWS;
    index_t o0 = 0;
    if (d >= PACK_FEATURES && count >= B && len >= W) {
        std::vector<T> packed(std::size_t(d) * W);
        std::vector<T*> shifted(count);
        for (; o0 + W <= len; o0 += W) {
            for (index_t t = 0; t < d; ++t)
                std::copy(cols + t * stride + o0, cols + t * stride + o0 + W, &packed[t * W]);
            for (index_t c = 0; c < count; ++c) shifted[c] = out[c] + o0;  // tile writes at o0 = 0
            index_t c = 0;
            for (; c + B <= count; c += B)
                tile<Term, Finish, T, B, Bytes>(packed.data(), W, d, a + c, 0, shifted.data() + c);
            for (; c < count; ++c)
                tile<Term, Finish, T, 1, Bytes>(packed.data(), W, d, a + c, 0, shifted.data() + c);
        }
    }
    for (; o0 + W <= len; o0 += W) {
        index_t c = 0;
        for (; c + B <= count; c += B)
            tile<Term, Finish, T, B, Bytes>(cols, stride, d, a + c, o0, out + c);
        for (; c < count; ++c) tile<Term, Finish, T, 1, Bytes>(cols, stride, d, a + c, o0, out + c);
    }
    if (o0 < len)
        for (index_t c = 0; c < count; ++c)
            segment<Term, Finish, T>(cols, stride, d, a[c], o0, len - o0, out[c]);
}

template <class Term, class Finish, class T>
inline __attribute__((always_inline)) void rows_body(const T* cols, index_t stride, index_t d,
                                                     const T* const* a, index_t count, index_t len,
                                                     T* const* out) {
    if (simd::has_512bit_vectors())
        rows_width<Term, Finish, T, 64>(cols, stride, d, a, count, len, out);
    else rows_width<Term, Finish, T, 32>(cols, stride, d, a, count, len, out);
}

// dst (cols x rows) = transpose of src (rows x cols), in cache-sized tiles.
template <class T>
inline void transpose(const T* src, index_t rows, index_t cols, T* dst) {
    constexpr index_t B = 16;
    for (index_t x0 = 0; x0 < rows; x0 += B)
        for (index_t y0 = 0; y0 < cols; y0 += B) {
            const index_t x1 = std::min(rows, x0 + B), y1 = std::min(cols, y0 + B);
            for (index_t x = x0; x < x1; ++x)
                for (index_t y = y0; y < y1; ++y) dst[y * rows + x] = src[x * cols + y];
        }
}

// The feature-major copy (d x n) of n rows of d features: one feature of consecutive points is
// contiguous, which is what the tiles read.
template <class T>
std::vector<T> feature_major(const T* rows, index_t n, index_t d) {
    std::vector<T> cols(std::size_t(n) * std::size_t(d));
    transpose(rows, n, d, cols.data());
    return cols;
}

}  // namespace partita::feature_tiles

// Defines tile_rows(TERM, FINISH, cols, stride, d, a, count, len, out) = rows_body for element
// type T, one clone per instruction set, in the namespace where the macro is used.
#define PARTITA_FEATURE_TILE_ROWS(TERM, FINISH, T)                                                 \
    PARTITA_MULTIVERSION static void tile_rows(                                                    \
        TERM, FINISH, const T* cols, ::partita::index_t stride, ::partita::index_t d,              \
        const T* const* a, ::partita::index_t count, ::partita::index_t len, T* const* out) {      \
        ::partita::feature_tiles::rows_body<TERM, FINISH, T>(cols, stride, d, a, count, len, out); \
    }
