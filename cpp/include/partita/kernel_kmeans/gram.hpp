// Kernel k-means: the Gram matrix, stored or recomputed in blocks from the features
// (docs/algorithms.md, "Stored and blocked Gram").
//
// A Gram source gives the diagonal K_ii and, for a list of points js and a column range
// [begin, end), the segments K[js[r]][begin .. end) in order. StoredGram reads a stored
// symmetric matrix in place; BlockedGram recomputes the rows from the features, ROW_BLOCK rows
// at a time, through the shared feature tiles (feature_tiles.hpp). A Gram entry is computed by
// the same operations whichever way it is asked for, so both sources give the same bits and
// kernel k-means the same labels on either.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "partita/common.hpp"
#include "partita/feature_tiles.hpp"
#include "partita/simd.hpp"

namespace partita::kernel_kmeans {

// Kernels computed here from the features.
enum class Kernel : int { linear = 0, rbf = 1, polynomial = 2, sigmoid = 3, laplacian = 4 };

struct KernelParams {
    Kernel kernel = Kernel::rbf;
    double gamma = 1.0;
    double degree = 3.0;
    double coef0 = 1.0;
};

// Points per column chunk: the unit of parallel work (and of cache blocking) of every pass.
constexpr index_t CHUNK = 1024;
// Gram rows computed together from features: enough to amortise a pass over a chunk's features.
constexpr index_t ROW_BLOCK = 48;

namespace detail {

using feature_tiles::AbsoluteDifference;
using feature_tiles::Product;
using feature_tiles::RawSum;
using simd::load;
using simd::splat;
using simd::store;
using simd::Vec;

// The raw sums: dot products (linear, rbf, polynomial, sigmoid) or l1 distances (laplacian).
PARTITA_FEATURE_TILE_ROWS(Product, RawSum, double)
PARTITA_FEATURE_TILE_ROWS(Product, RawSum, float)
PARTITA_FEATURE_TILE_ROWS(AbsoluteDifference, RawSum, double)
PARTITA_FEATURE_TILE_ROWS(AbsoluteDifference, RawSum, float)

// exp(x) for x <= 0 (a Gram entry of the rbf / laplacian kernels). Arguments below the
// smallest normal result are clamped there (exp(-708) ~ 3e-308 in double, exp(-87) ~ 1.6e-38 in
// float) rather than flushed to 0.
template <class T, class S>
inline __attribute__((always_inline)) S exp_nonpositive(S x) {
    const S lo = splat<S>(simd::ExpRange<T>::lo), zero = splat<S>(T(0));
    x = x < lo ? lo : x;
    x = x > zero ? zero : x;
    return simd::exp_reduced<T>(x);
}

template <class T, class S>
inline __attribute__((always_inline)) S rbf_entry(S dot, S a_sq, S c_sq, T gamma) {
    S d2 = (a_sq + c_sq) - dot * T(2);
    d2 = d2 < splat<S>(T(0)) ? splat<S>(T(0)) : d2;
    return exp_nonpositive<T>(d2 * -gamma);
}

// The kernel map of the raw sums of one row segment (rbf from dot products and squared norms).
// Every entry is mapped on its own, so the vector width (Bytes: 64 with AVX-512, 32 otherwise;
// simd::VecN) does not change a bit.
template <class T, int Bytes>
inline __attribute__((always_inline)) void map_width(const KernelParams& p, T a_sq,
                                                     const T* __restrict col_sq, index_t len,
                                                     T* __restrict out) {
    using V = typename simd::VecN<T, Bytes>::type;
    constexpr index_t L = simd::VecN<T, Bytes>::lanes;
    const T g = T(p.gamma), c0 = T(p.coef0);
    index_t o = 0;
    switch (p.kernel) {
        case Kernel::linear: break;
        case Kernel::rbf:
            for (; o + L <= len; o += L)
                store(out + o,
                      rbf_entry<T>(load<V>(out + o), splat<V>(a_sq), load<V>(col_sq + o), g));
            for (; o < len; ++o) out[o] = rbf_entry<T>(out[o], a_sq, col_sq[o], g);
            break;
        case Kernel::laplacian:
            for (; o + L <= len; o += L) store(out + o, exp_nonpositive<T>(load<V>(out + o) * -g));
            for (; o < len; ++o) out[o] = exp_nonpositive<T>(out[o] * -g);
            break;
        case Kernel::polynomial: {
            const T deg = T(p.degree);
            for (; o < len; ++o) out[o] = std::pow(g * out[o] + c0, deg);
            break;
        }
        case Kernel::sigmoid:
            for (; o < len; ++o) out[o] = std::tanh(g * out[o] + c0);
            break;
    }
}

template <class T>
inline __attribute__((always_inline)) void map_body(const KernelParams& p, T a_sq,
                                                    const T* __restrict col_sq, index_t len,
                                                    T* __restrict out) {
    if (simd::has_512bit_vectors()) map_width<T, 64>(p, a_sq, col_sq, len, out);
    else map_width<T, 32>(p, a_sq, col_sq, len, out);
}

#define PARTITA_KERNEL_MAP(T)                                                                      \
    PARTITA_MULTIVERSION static void kernel_map(const KernelParams& p, T a_sq, const T* col_sq,    \
                                                index_t len, T* out) {                             \
        map_body<T>(p, a_sq, col_sq, len, out);                                                    \
    }
PARTITA_KERNEL_MAP(double)
PARTITA_KERNEL_MAP(float)
#undef PARTITA_KERNEL_MAP

}  // namespace detail

// Feature rows and a kernel: Gram entries computed on demand, K(x_j, x_i) for rows j of this
// set (or of another set, for new data) against all its points i.
template <class T>
class KernelFeatures {
public:
    KernelFeatures(const MatrixView<T>& X, const KernelParams& params)
        : p_(params), n_(X.rows), d_(X.cols), mean_(X.cols, T(0)) {
        require(p_.kernel >= Kernel::linear && p_.kernel <= Kernel::laplacian, "unknown kernel");
        // rbf is translation invariant: centring the features keeps the squared distances from
        // the dot products accurate far from the origin.
        if (p_.kernel == Kernel::rbf) {
            for (index_t t = 0; t < d_; ++t) {
                double s = 0.0;
                for (index_t i = 0; i < n_; ++i) s += double(X(i, t));
                mean_[t] = n_ > 0 ? T(s / double(n_)) : T(0);
            }
        }
        rows_ = prepare(X);
        sq_ = squared_norms(rows_, n_);
        cols_ = feature_tiles::feature_major(rows_.data(), n_, d_);
    }

    index_t size() const { return n_; }
    index_t n_features() const { return d_; }
    const KernelParams& params() const { return p_; }

    // Feature rows as this kernel sees them (centred for rbf), row-major.
    std::vector<T> prepare(const MatrixView<T>& Y) const {
        require(Y.cols == d_, "feature count differs from the training data");
        std::vector<T> out(std::size_t(Y.rows) * d_);
        for (index_t i = 0; i < Y.rows; ++i)
            for (index_t t = 0; t < d_; ++t) out[i * d_ + t] = Y(i, t) - mean_[t];
        return out;
    }

    std::vector<T> squared_norms(const std::vector<T>& rows, index_t m) const {
        std::vector<T> sq(m);
        for (index_t i = 0; i < m; ++i) {
            T acc = T(0);
            const T* x = rows.data() + i * d_;
            for (index_t t = 0; t < d_; ++t) acc += x[t] * x[t];
            sq[i] = acc;
        }
        return sq;
    }

    // K(x, x) of every prepared row, by the same operations as the Gram rows' diagonal: the raw
    // sum is the squared norm (dot kernels) or 0 (laplacian), then the kernel map.
    std::vector<T> self_kernel(const std::vector<T>& sq) const {
        const index_t m = index_t(sq.size());
        std::vector<T> out(m);
        for (index_t i = 0; i < m; ++i) {
            T one = p_.kernel == Kernel::laplacian ? T(0) : sq[i];
            detail::kernel_map(p_, sq[i], &sq[i], 1, &one);
            out[i] = one;
        }
        return out;
    }
    std::vector<T> diagonal() const { return self_kernel(sq_); }

    // Gram entries K(a_c, x_i) for the prepared rows a[0..count) (squared norms a_sq) and the
    // points i in [begin, end): out[c * ld + (i - begin)].
    void block(const T* const* a, const T* a_sq, index_t count, index_t begin, index_t end, T* out,
               index_t ld) const {
        const index_t len = end - begin;
        std::vector<T*> dst(count);
        for (index_t c = 0; c < count; ++c) dst[c] = out + c * ld;
        const T* cols = cols_.data() + begin;
        if (p_.kernel == Kernel::laplacian)
            detail::tile_rows(detail::AbsoluteDifference(), detail::RawSum(), cols, n_, d_, a,
                              count, len, dst.data());
        else
            detail::tile_rows(detail::Product(), detail::RawSum(), cols, n_, d_, a, count, len,
                              dst.data());
        for (index_t c = 0; c < count; ++c)
            detail::kernel_map(p_, a_sq[c], sq_.data() + begin, len, dst[c]);
    }

    // Rows js[0..count) of the Gram matrix of these points over [begin, end).
    void gram_rows(const index_t* js, index_t count, index_t begin, index_t end, T* out,
                   index_t ld) const {
        std::vector<const T*> a(count);
        std::vector<T> a_sq(count);
        for (index_t c = 0; c < count; ++c) {
            a[c] = rows_.data() + js[c] * d_;
            a_sq[c] = sq_[js[c]];
        }
        block(a.data(), a_sq.data(), count, begin, end, out, ld);
    }

private:
    KernelParams p_;
    index_t n_, d_;
    std::vector<T> mean_;
    std::vector<T> rows_;  // n x d, prepared
    std::vector<T> sq_;    // squared norms of the prepared rows
    std::vector<T> cols_;  // d x n, feature-major
};

// ---- Gram sources ------------------------------------------------------------------------------

// A stored symmetric n x n matrix, read in place.
template <class T>
struct StoredGram {
    using value_type = T;
    MatrixView<T> K;
    index_t size() const { return K.rows; }
    T diag(index_t i) const { return K(i, i); }
    // Calls f(r, segment) with the entries [begin, end) of rows js[r], r = 0 .. count-1, in order.
    template <class F>
    void rows(const index_t* js, index_t count, index_t begin, index_t /*end: rows are stored*/,
              std::vector<T>&, F&& f) const {
        for (index_t r = 0; r < count; ++r) f(r, K.row(js[r]) + begin);
    }
};

// Rows recomputed from the features, ROW_BLOCK rows at a time into per-thread scratch.
template <class T>
struct BlockedGram {
    using value_type = T;
    const KernelFeatures<T>* X;
    std::vector<T> diagonal;
    explicit BlockedGram(const KernelFeatures<T>* x) : X(x), diagonal(x->diagonal()) {}
    index_t size() const { return X->size(); }
    T diag(index_t i) const { return diagonal[i]; }
    template <class F>
    void rows(const index_t* js, index_t count, index_t begin, index_t end, std::vector<T>& scratch,
              F&& f) const {
        const index_t len = end - begin;
        scratch.resize(std::size_t(ROW_BLOCK) * len);
        for (index_t r0 = 0; r0 < count; r0 += ROW_BLOCK) {
            const index_t m = std::min(ROW_BLOCK, count - r0);
            X->gram_rows(js + r0, m, begin, end, scratch.data(), len);
            for (index_t r = 0; r < m; ++r) f(r0 + r, scratch.data() + r * len);
        }
    }
};

// Runs body(begin, end, scratch) over the fixed column chunks of [0, n), in parallel, polling
// for Ctrl-C from the master thread; throws Interrupted after the pass when it was pressed.
template <class T, class Body>
void chunked_pass(index_t n, int n_threads, InterruptCheck& interrupt, Body&& body) {
    const index_t n_chunks = (n + CHUNK - 1) / CHUNK;
    parallel_units(
        n_chunks, n_threads, interrupt, [] { return std::vector<T>(); },
        [&](index_t ch, std::vector<T>& scratch) {
            body(ch * CHUNK, std::min(n, (ch + 1) * CHUNK), scratch);
        });
}

// The full n x n Gram matrix of X into out (row-major): only the blocks on and above the
// diagonal are computed, then mirrored. K(x_j, x_i) and K(x_i, x_j) are the same bits (products
// and sums of squared norms commute, the feature sums run in the same order), so the result
// equals the rows that BlockedGram recomputes. Each unit of both passes writes only its own
// rows, so the first touch of the output's pages (seconds for a large matrix on some systems) is
// spread over units that poll for Ctrl-C.
template <class T>
void fill_gram(const KernelFeatures<T>& X, T* out, int n_threads, InterruptCheck& interrupt) {
    const index_t n = X.size();
    const index_t n_blocks = (n + ROW_BLOCK - 1) / ROW_BLOCK;
    // Pass 1: rows r0 .. r0+cnt from column r0 on, and their diagonal block's lower half.
    parallel_units(
        n_blocks, n_threads, interrupt, [] { return std::vector<index_t>(ROW_BLOCK); },
        [&](index_t blk, std::vector<index_t>& js) {
            const index_t r0 = blk * ROW_BLOCK, cnt = std::min(ROW_BLOCK, n - r0);
            for (index_t r = 0; r < cnt; ++r) js[r] = r0 + r;
            for (index_t b = r0; b < n; b += CHUNK) {
                const index_t e = std::min(n, b + CHUNK);
                X.gram_rows(js.data(), cnt, b, e, out + r0 * n + b, n);
            }
            for (index_t r = 0; r < cnt; ++r)
                for (index_t q = 0; q < r; ++q)
                    out[(r0 + r) * n + r0 + q] = out[(r0 + q) * n + r0 + r];
        });
    // Pass 2: columns 0 .. r0 of the same rows, read from the rows above (contiguous reads of
    // row j, one write stream per row of the block).
    parallel_units(n_blocks, n_threads, interrupt, [&](index_t blk) {
        const index_t r0 = blk * ROW_BLOCK, cnt = std::min(ROW_BLOCK, n - r0);
        for (index_t j = 0; j < r0; ++j)
            for (index_t r = 0; r < cnt; ++r) out[(r0 + r) * n + j] = out[j * n + r0 + r];
    });
}

// Weighted sums of Gram entries per cluster for new points: out[i * k + c] =
// sum_{j : L_j = c} w_j K(y_i, x_j), in increasing j (the same order as E in lloyd), and
// self[i] = K(y_i, y_i).
template <class T>
void cross_sums(const KernelFeatures<T>& X, const MatrixView<T>& Y, const std::int32_t* L,
                const double* w, index_t k, int n_threads, InterruptCheck& interrupt, double* out,
                T* self) {
    const index_t m = Y.rows, n = X.size();
    const std::vector<T> rows = X.prepare(Y);
    const std::vector<T> sq = X.squared_norms(rows, m);
    const std::vector<T> diag = X.self_kernel(sq);
    std::copy(diag.begin(), diag.end(), self);
    std::fill(out, out + m * k, 0.0);
    const index_t n_blocks = (m + ROW_BLOCK - 1) / ROW_BLOCK;
    struct Scratch {
        std::vector<T> buf = std::vector<T>(std::size_t(ROW_BLOCK) * CHUNK);
        std::vector<const T*> a = std::vector<const T*>(ROW_BLOCK);
    };
    parallel_units(
        n_blocks, n_threads, interrupt, [] { return Scratch(); },
        [&](index_t blk, Scratch& scratch) {
            auto& buf = scratch.buf;
            auto& a = scratch.a;
            const index_t r0 = blk * ROW_BLOCK, cnt = std::min(ROW_BLOCK, m - r0);
            for (index_t r = 0; r < cnt; ++r) a[r] = rows.data() + (r0 + r) * X.n_features();
            for (index_t b = 0; b < n; b += CHUNK) {
                const index_t e = std::min(n, b + CHUNK), len = e - b;
                X.block(a.data(), sq.data() + r0, cnt, b, e, buf.data(), len);
                for (index_t r = 0; r < cnt; ++r) {
                    double* o = out + (r0 + r) * k;
                    const T* seg = buf.data() + r * len;
                    for (index_t i = 0; i < len; ++i)
                        if (w[b + i] != 0) o[L[b + i]] += w[b + i] * double(seg[i]);
                }
            }
        });
}

}  // namespace partita::kernel_kmeans
