// Distances between feature rows, computed on demand: single pairs, and blocks of whole rows
// (one point against all n) vectorised over the points. Shared by the families that work from
// features without storing an n x n matrix.
//
// Every distance is computed by the same sequence of operations whichever way it is asked for
// (a pair, a row, a block of rows, a full matrix): sums run over the features in order and the
// module is compiled without floating-point contraction, so a matrix filled from these rows
// equals, bit for bit, the distances computed on the fly. That is what makes k-medoids on the
// fly give exactly the medoids of k-medoids on the matrix.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "partita/common.hpp"

namespace partita::distances {

enum class Metric : int { euclidean = 0, sqeuclidean = 1, manhattan = 2, cosine = 3, callback = 4 };

// A compiled user metric f(x, y, n_features) -> distance (for example a numba cfunc).
template <class T>
using PairFunction = double (*)(const T*, const T*, std::intptr_t);

namespace detail {

// Each metric is a sum over the features of a term, then a final map of the sum.
enum class Op { euclidean, squared, manhattan, cosine };

template <Op op, class T>
inline __attribute__((always_inline)) T term(T c, T a) {
    if constexpr (op == Op::euclidean || op == Op::squared) return (c - a) * (c - a);
    if constexpr (op == Op::manhattan) return std::abs(c - a);
    return c * a;
}

template <Op op, class T>
inline __attribute__((always_inline)) T finish(T acc) {
    if constexpr (op == Op::euclidean) return std::sqrt(acc);
    if constexpr (op == Op::cosine) return std::max(T(0), T(1) - acc);
    return acc;
}

// B rows of distances over W consecutive points at once, the accumulators held in registers:
// each feature value of a point is loaded once for the B rows. acc = sum over the features in
// order of term(x_o, a_t): the same operations, in the same order, as a single pair.
template <Op op, class T, int B>
inline __attribute__((always_inline)) void block_body(const T* cols, index_t stride, index_t d,
                                                      const T* const* a, index_t o0,
                                                      T* const* out) {
    constexpr int W = 128 / int(sizeof(T));  // two 512-bit registers of points
    T acc[B][W];
    for (int b = 0; b < B; ++b)
        for (int o = 0; o < W; ++o) acc[b][o] = T(0);
    for (index_t t = 0; t < d; ++t) {
        const T* __restrict col = cols + t * stride + o0;
        for (int b = 0; b < B; ++b) {
            const T at = a[b][t];
#pragma omp simd
            for (int o = 0; o < W; ++o) acc[b][o] += term<op>(col[o], at);
        }
    }
    for (int b = 0; b < B; ++b) {
#pragma omp simd
        for (int o = 0; o < W; ++o) out[b][o0 + o] = finish<op>(acc[b][o]);
    }
}

// A row segment of any length (the remainder after the full blocks).
template <Op op, class T>
inline __attribute__((always_inline)) void segment_body(const T* cols, index_t stride, index_t d,
                                                        const T* a, index_t o0, index_t len,
                                                        T* out) {
    for (index_t o = 0; o < len; ++o) out[o0 + o] = T(0);
    for (index_t t = 0; t < d; ++t) {
        const T at = a[t];
        const T* __restrict col = cols + t * stride + o0;
#pragma omp simd
        for (index_t o = 0; o < len; ++o) out[o0 + o] += term<op>(col[o], at);
    }
    for (index_t o = 0; o < len; ++o) out[o0 + o] = finish<op>(out[o0 + o]);
}

// Rows for the candidates a[0..count) over points [begin, end): out[c][o]. Tiles of points
// outermost, so a tile's features stay in L1 for all the candidates.
template <Op op, class T>
inline __attribute__((always_inline)) void rows_body(const T* cols, index_t stride, index_t d,
                                                     const T* const* a, index_t count,
                                                     index_t begin, index_t end, T* const* out) {
    constexpr index_t W = 128 / index_t(sizeof(T));
    constexpr index_t B = 6;
    index_t o0 = begin;
    for (; o0 + W <= end; o0 += W) {
        index_t c = 0;
        for (; c + B <= count; c += B) block_body<op, T, B>(cols, stride, d, a + c, o0, out + c);
        for (; c < count; ++c) block_body<op, T, 1>(cols, stride, d, a + c, o0, out + c);
    }
    if (o0 < end)
        for (index_t c = 0; c < count; ++c)
            segment_body<op, T>(cols, stride, d, a[c], o0, end - o0, out[c]);
}

// One clone per instruction set of every (metric, type) kernel.
#define PARTITA_DISTANCE_ROWS(OP, T)                                                             \
    PARTITA_MULTIVERSION static void distance_rows(                                             \
        std::integral_constant<Op, OP>, const T* cols, index_t stride, index_t d,               \
        const T* const* a, index_t count, index_t begin, index_t end, T* const* out) {          \
        rows_body<OP, T>(cols, stride, d, a, count, begin, end, out);                           \
    }
PARTITA_DISTANCE_ROWS(Op::euclidean, double)
PARTITA_DISTANCE_ROWS(Op::euclidean, float)
PARTITA_DISTANCE_ROWS(Op::squared, double)
PARTITA_DISTANCE_ROWS(Op::squared, float)
PARTITA_DISTANCE_ROWS(Op::manhattan, double)
PARTITA_DISTANCE_ROWS(Op::manhattan, float)
PARTITA_DISTANCE_ROWS(Op::cosine, double)
PARTITA_DISTANCE_ROWS(Op::cosine, float)
#undef PARTITA_DISTANCE_ROWS

}  // namespace detail

template <class T>
class FeatureSpace {
public:
    // X is n x d, row-major. Cosine distances are computed from unit-normalised rows.
    FeatureSpace(const MatrixView<T>& X, Metric metric, PairFunction<T> fn = nullptr)
        : metric_(metric), n_(X.rows), d_(X.cols), fn_(fn), rows_(X.data, X.data + X.rows * X.cols) {
        require(metric != Metric::callback || fn != nullptr, "callback metric without a function");
        if (metric == Metric::cosine) {
            for (index_t i = 0; i < n_; ++i) {
                T* x = rows_.data() + i * d_;
                T norm = T(0);
                for (index_t t = 0; t < d_; ++t) norm += x[t] * x[t];
                norm = std::sqrt(norm);
                if (norm > T(0))
                    for (index_t t = 0; t < d_; ++t) x[t] /= norm;
            }
        }
        // Feature-major copy: one feature of consecutive points is contiguous, so a row of
        // distances is computed with vector loads over the points.
        if (metric != Metric::callback) {
            cols_.resize(std::size_t(n_) * d_);
            for (index_t i = 0; i < n_; ++i)
                for (index_t t = 0; t < d_; ++t) cols_[t * n_ + i] = rows_[i * d_ + t];
        }
    }

    index_t size() const { return n_; }
    index_t n_features() const { return d_; }
    Metric metric() const { return metric_; }

    // d(i, j) for one pair.
    T pair(index_t i, index_t j) const {
        if (i == j) return T(0);
        const T* a = rows_.data() + i * d_;
        const T* b = rows_.data() + j * d_;
        T acc = T(0);
        switch (metric_) {
            case Metric::euclidean:
            case Metric::sqeuclidean:
                for (index_t t = 0; t < d_; ++t) {
                    const T diff = b[t] - a[t];
                    acc += diff * diff;
                }
                return metric_ == Metric::euclidean ? std::sqrt(acc) : acc;
            case Metric::manhattan:
                for (index_t t = 0; t < d_; ++t) acc += std::abs(b[t] - a[t]);
                return acc;
            case Metric::cosine:
                for (index_t t = 0; t < d_; ++t) acc += b[t] * a[t];
                return std::max(T(0), T(1) - acc);
            case Metric::callback:
            default:
                return T(fn_(a, b, d_));
        }
    }

    // Rows of the distance matrix for points js[0..count): out[c * n + o] = d(js[c], o), o in
    // [begin, end). The diagonal entry is exactly 0.
    void rows(const index_t* js, index_t count, index_t begin, index_t end, T* out) const {
        if (metric_ == Metric::callback) {
            for (index_t c = 0; c < count; ++c) {
                const T* a = rows_.data() + js[c] * d_;
                T* dst = out + c * n_;
                for (index_t o = begin; o < end; ++o)
                    dst[o] = o == js[c] ? T(0) : T(fn_(a, rows_.data() + o * d_, d_));
            }
            return;
        }
        std::vector<const T*> a(count);
        std::vector<T*> dst(count);
        for (index_t c = 0; c < count; ++c) {
            a[c] = rows_.data() + js[c] * d_;
            dst[c] = out + c * n_;
        }
        const T* cols = cols_.data();
        auto run = [&](auto op) {
            detail::distance_rows(op, cols, n_, d_, a.data(), count, begin, end, dst.data());
        };
        using detail::Op;
        switch (metric_) {
            case Metric::euclidean: run(std::integral_constant<Op, Op::euclidean>()); break;
            case Metric::sqeuclidean: run(std::integral_constant<Op, Op::squared>()); break;
            case Metric::manhattan: run(std::integral_constant<Op, Op::manhattan>()); break;
            case Metric::cosine: run(std::integral_constant<Op, Op::cosine>()); break;
            default: break;
        }
        for (index_t c = 0; c < count; ++c)
            if (js[c] >= begin && js[c] < end) dst[c][js[c]] = T(0);
    }

private:
    Metric metric_;
    index_t n_, d_;
    PairFunction<T> fn_;
    std::vector<T> rows_;  // n x d (normalised for cosine)
    std::vector<T> cols_;  // d x n
};

// Fills rows js[0..count) of the distance matrix, splitting the points over threads (fixed
// ranges: every entry is computed the same way whatever the thread count).
template <class T>
void fill_rows(const FeatureSpace<T>& X, const index_t* js, index_t count, T* out, int n_threads) {
    const index_t n = X.size();
    const index_t parts = std::min<index_t>(n_threads, std::max<index_t>(1, n / 1024));
#pragma omp parallel for num_threads(int(parts)) schedule(static, 1)
    for (index_t p = 0; p < parts; ++p) {
        const EvenSplit split{n, parts};
        X.rows(js, count, split.begin(p), split.begin(p + 1), out);
    }
}

}  // namespace partita::distances
