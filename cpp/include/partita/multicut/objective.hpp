// The multicut model (docs/algorithms.md, "Multicut objective"): the complete graph whose edge
// costs are inner products of node features, c_ij = <f_i, f_j> - a (a = offset >= 0, positive
// = attractive). A cluster A carries F_A = sum of its features and its size |A|; the cost
// between two clusters is <F_A, F_B> - a |A||B|, so nothing quadratic is ever stored.
//
// Every cost is computed by the same operations whichever way it is asked for: the dot product
// is a sum over the features in order (the blocked kernel of tiles.hpp vectorises over the
// columns, never over the features, and the module is compiled without FMA contraction), and
// the size term is a * (|A| * |B|), symmetric and exact in its product of integers. So a cost
// found by the kNN search equals the cost recomputed for one pair, bit for bit, and no result
// depends on the number of threads.
#pragma once

#include <cmath>
#include <vector>

#include "partita/common.hpp"
#include "partita/multicut/contraction.hpp"

namespace partita::multicut {

// How node features become the vectors f_i: as given, or unit-normalised rows.
enum class Metric : int { dot = 0, cosine = 1 };

namespace detail {

// The canonical dot product: a sum over the features in order.
inline double dot(const double* x, const double* y, index_t d) {
    double acc = 0.0;
    for (index_t t = 0; t < d; ++t) acc += x[t] * y[t];
    return acc;
}

}  // namespace detail

// The cost between two clusters: <F_A, F_B> - a * (|A| * |B|).
inline double pair_cost(const double* FA, const double* FB, index_t d, double a, double sA,
                        double sB) {
    return detail::dot(FA, FB, d) - a * (sA * sB);
}

// Node features as doubles (unit-normalised rows with Metric::cosine).
template <class T>
std::vector<double> to_double(const MatrixView<T>& X, Metric metric) {
    const bool normalise = metric == Metric::cosine;
    const index_t n = X.rows, d = X.cols;
    std::vector<double> F(std::size_t(n) * d);
    for (index_t i = 0; i < n; ++i) {
        double* f = F.data() + std::size_t(i) * d;
        for (index_t t = 0; t < d; ++t) f[t] = double(X(i, t));
        if (normalise) require(unit_normalise(f, d), "cosine: a row of zeros has no direction");
    }
    return F;
}

// Node weights: row i becomes w_i f_i, so that <F_A, F_B> - a |A| |B| (|A| the weight of A) is
// the cost of w_i coincident copies of every node.
inline void scale_rows(std::vector<double>& F, index_t n, index_t d, const double* w) {
    for (index_t i = 0; i < n; ++i)
        for (index_t t = 0; t < d; ++t) F[std::size_t(i) * d + t] *= w[i];
}

// The multicut objective (sum of the costs of the cut edges) of labels (0..c-1), in O(n d):
// (1/2) sum_C [<F_C, S - F_C> - a |C| (W - |C|)], S = sum of all features, |C| the weight of C
// and W the total weight (n without weights; with node weights w the rows are w_i f_i).
inline double objective(const double* X, index_t n, index_t d, const index_t* labels, index_t c,
                        double a, const double* w = nullptr) {
    std::vector<double> F, size;
    cluster_sums(X, n, d, labels, c, F, size, w);
    double W = 0.0;
    for (index_t i = 0; i < n; ++i) W += w ? w[i] : 1.0;
    std::vector<double> S(d, 0.0);
    for (index_t i = 0; i < n; ++i)
        for (index_t t = 0; t < d; ++t) S[t] += X[std::size_t(i) * d + t];
    double total = 0.0;
    std::vector<double> rest(d);
    for (index_t C = 0; C < c; ++C) {
        const double* f = F.data() + std::size_t(C) * d;
        for (index_t t = 0; t < d; ++t) rest[t] = S[t] - f[t];
        total += detail::dot(f, rest.data(), d) - a * (size[C] * (W - size[C]));
    }
    return 0.5 * total;
}

}  // namespace partita::multicut
