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
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "partita/common.hpp"
#include "partita/feature_tiles.hpp"

namespace partita::distances {

enum class Metric : int { euclidean = 0, sqeuclidean = 1, manhattan = 2, cosine = 3, callback = 4 };

// A compiled user metric f(x, y, n_features) -> distance (for example a numba cfunc).
template <class T>
using PairFunction = double (*)(const T*, const T*, std::intptr_t);

namespace detail {

using feature_tiles::AbsoluteDifference;
using feature_tiles::Product;
using feature_tiles::RawSum;
using feature_tiles::SquaredDifference;

// The finishing steps of the metrics that are not a plain sum.
struct SquareRoot {  // euclidean: the root of the sum of squared differences
    template <class T>
    static inline __attribute__((always_inline)) T finish(T acc) {
        return std::sqrt(acc);
    }
};
struct OneMinusClamped {  // cosine: 1 - the dot product of unit rows, never below 0
    template <class T>
    static inline __attribute__((always_inline)) T finish(T acc) {
        return std::max(T(0), T(1) - acc);
    }
};

// One clone per instruction set of every (metric, type) kernel.
PARTITA_FEATURE_TILE_ROWS(SquaredDifference, SquareRoot, double)
PARTITA_FEATURE_TILE_ROWS(SquaredDifference, SquareRoot, float)
PARTITA_FEATURE_TILE_ROWS(SquaredDifference, RawSum, double)
PARTITA_FEATURE_TILE_ROWS(SquaredDifference, RawSum, float)
PARTITA_FEATURE_TILE_ROWS(AbsoluteDifference, RawSum, double)
PARTITA_FEATURE_TILE_ROWS(AbsoluteDifference, RawSum, float)
PARTITA_FEATURE_TILE_ROWS(Product, OneMinusClamped, double)
PARTITA_FEATURE_TILE_ROWS(Product, OneMinusClamped, float)

}  // namespace detail

template <class T>
class FeatureSpace {
public:
    // X is n x d, row-major. Cosine distances are computed from unit-normalised rows.
    FeatureSpace(const MatrixView<T>& X, Metric metric, PairFunction<T> fn = nullptr)
        : metric_(metric),
          n_(X.rows),
          d_(X.cols),
          fn_(fn),
          rows_(X.data, X.data + X.rows * X.cols) {
        require(metric != Metric::callback || fn != nullptr, "callback metric without a function");
        if (metric == Metric::cosine) {
            for (index_t i = 0; i < n_; ++i) unit_normalise(rows_.data() + i * d_, d_);
        }
        // Feature-major copy: a row of distances is computed with vector loads over the points.
        if (metric != Metric::callback) cols_ = feature_tiles::feature_major(rows_.data(), n_, d_);
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
            default: return callback(i, j);
        }
    }

    // Rows of the distance matrix for points js[0..count): out[c * n + o] = d(js[c], o), o in
    // [begin, end). The diagonal entry is exactly 0.
    void rows(const index_t* js, index_t count, index_t begin, index_t end, T* out) const {
        if (metric_ == Metric::callback) {
            for (index_t c = 0; c < count; ++c) {
                T* dst = out + c * n_;
                for (index_t o = begin; o < end; ++o)
                    dst[o] = o == js[c] ? T(0) : callback(js[c], o);
            }
            return;
        }
        std::vector<const T*> a(count);
        std::vector<T*> dst(count);
        for (index_t c = 0; c < count; ++c) {
            a[c] = rows_.data() + js[c] * d_;
            dst[c] = out + c * n_ + begin;
        }
        const T* cols = cols_.data() + begin;
        auto run = [&](auto term, auto finish) {
            detail::tile_rows(term, finish, cols, n_, d_, a.data(), count, end - begin, dst.data());
        };
        switch (metric_) {
            case Metric::euclidean: run(detail::SquaredDifference(), detail::SquareRoot()); break;
            case Metric::sqeuclidean: run(detail::SquaredDifference(), detail::RawSum()); break;
            case Metric::manhattan: run(detail::AbsoluteDifference(), detail::RawSum()); break;
            case Metric::cosine: run(detail::Product(), detail::OneMinusClamped()); break;
            default: break;
        }
        for (index_t c = 0; c < count; ++c)
            if (js[c] >= begin && js[c] < end) out[c * n_ + js[c]] = T(0);
    }

    // Throws std::invalid_argument when the callback metric returned a negative or non-finite
    // distance since construction (recorded, not thrown, inside the parallel loops).
    void check_values() const {
        if (!invalid_.load()) return;
        std::ostringstream what;
        what << "the metric returned "
             << (bad_value_ < 0 ? "negative distances" : "NaN or infinite distances") << ": d("
             << bad_i_ << ", " << bad_j_ << ") = " << bad_value_
             << " (distances must be finite and non-negative)";
        throw std::invalid_argument(what.str());
    }

private:
    // A user's distance as the kernels will use it; a negative or non-finite value is recorded
    // (the first one) and replaced by 0 so that the running loop stays well-defined.
    T callback(index_t i, index_t j) const {
        const T v = T(fn_(rows_.data() + i * d_, rows_.data() + j * d_, d_));
        if (v >= T(0) && v <= std::numeric_limits<T>::max()) return v;
        bool expected = false;
        if (invalid_.compare_exchange_strong(expected, true)) {
            bad_i_ = i;
            bad_j_ = j;
            bad_value_ = double(v);
        }
        return T(0);
    }

    Metric metric_;
    index_t n_, d_;
    PairFunction<T> fn_;
    std::vector<T> rows_;  // n x d (normalised for cosine)
    std::vector<T> cols_;  // d x n
    mutable std::atomic<bool> invalid_{false};
    mutable index_t bad_i_ = 0, bad_j_ = 0;
    mutable double bad_value_ = 0.0;
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

// The same in units of about 2048 points (a multiple of the thread count, so that the threads
// stay balanced), with Ctrl-C polled between units: for the full matrix, whose blocks of rows
// take seconds each at large n and d. A unit's entries are computed as above.
template <class T>
void fill_rows(const FeatureSpace<T>& X, const index_t* js, index_t count, T* out, int n_threads,
               InterruptCheck& interrupt) {
    const index_t n = X.size(), threads = std::max(1, n_threads);
    const index_t units = ((n + 2047) / 2048 + threads - 1) / threads * threads;
    const EvenSplit split{n, units};
    parallel_units(units, n_threads, interrupt, [&](index_t u) {
        if (split.begin(u) < split.begin(u + 1))
            X.rows(js, count, split.begin(u), split.begin(u + 1), out);
    });
}

}  // namespace partita::distances
