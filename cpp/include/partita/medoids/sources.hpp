// Where the k-medoids kernels read distances (docs/algorithms.md, "On-the-fly distances").
//
// A "source" is a stored symmetric n x n matrix with a zero diagonal, read by rows (row j holds
// d(j, o) = d(o, j) for every o, so every scan streams memory), or features whose distance rows
// are computed on demand (no n x n memory; distances.hpp). Every kernel is written once against
// the source; the on-the-fly distances equal the stored ones bit for bit, so both give the same
// medoids. With unit weights the sums are formed in the same order as the reference
// implementation (the `kmedoids` package), which makes medoids, loss and swap counts agree
// exactly with it (and the labels, but on ties: docs/algorithms.md, "Ties").
#pragma once

#include <cstddef>
#include <vector>

#include "partita/common.hpp"
#include "partita/distances.hpp"

namespace partita::medoids {

// A stored matrix: rows are read in place.
template <class T>
struct StoredDistances {
    using value_type = T;
    static constexpr bool stored = true;
    MatrixView<T> D;
    index_t size() const { return D.rows; }
    T at(index_t i, index_t j) const { return D(i, j); }
    // Row j; `scratch` (n entries) is not needed. Safe to call from several threads.
    const T* row(index_t j, T* /*scratch*/) const { return D.row(j); }
};

// Features: rows are computed when asked for.
template <class T>
struct OnTheFlyDistances {
    using value_type = T;
    static constexpr bool stored = false;
    const distances::FeatureSpace<T>* X;
    int n_threads;
    index_t size() const { return X->size(); }
    T at(index_t i, index_t j) const { return X->pair(i, j); }
    // Row j computed into `scratch` by the calling thread alone.
    const T* row(index_t j, T* scratch) const {
        X->rows(&j, 1, 0, X->size(), scratch);
        return scratch;
    }
    // Rows js[0..count) into out (count x n), the points split over the threads.
    void rows(const index_t* js, index_t count, T* out) const {
        distances::fill_rows(*X, js, count, out, n_threads);
    }
};

// Pointers to the rows js[0..count): in place for a matrix, else computed (in parallel) into
// `buffer`, which is resized as needed.
template <class Src, class T = typename Src::value_type>
void gather_rows(const Src& src, const index_t* js, index_t count, std::vector<T>& buffer,
                 std::vector<const T*>& rows) {
    rows.resize(count);
    if constexpr (Src::stored) {
        for (index_t c = 0; c < count; ++c) rows[c] = src.D.row(js[c]);
    } else {
        const index_t n = src.size();
        buffer.resize(std::size_t(count) * n);
        src.rows(js, count, buffer.data());
        for (index_t c = 0; c < count; ++c) rows[c] = buffer.data() + c * n;
    }
}

// Rows computed per block when they are not stored: enough to amortise a pass over the features.
template <class Src>
constexpr index_t row_block() {
    return Src::stored ? index_t(1) << 30 : 32;
}

}  // namespace partita::medoids
