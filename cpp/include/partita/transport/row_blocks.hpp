// Sinkhorn steps on a block of rows of the cost matrix, for scaling whose rows are split over
// machines (docs/algorithms.md, "Sinkhorn on row blocks"). Every block reports the pieces of the
// column log-sum-exps; the pieces of all blocks are combined in block order.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "partita/common.hpp"

namespace partita::transport {

// For every column j of the n x m block C: mx_j = max_i alpha_i - C_ij / eps and
// s_j = sum_i exp(alpha_i - C_ij / eps - mx_j), rows in order, alpha_i = log a_i + f_i / eps.
// Columns are split over the threads (no result depends on their number).
template <class T>
void block_column_lse(const T* C, index_t n, index_t m, const double* log_a, const double* f,
                      double eps, double* mx, double* s, int n_threads) {
    const double inv = 1.0 / eps, lowest = -std::numeric_limits<double>::infinity();
#pragma omp parallel num_threads(n_threads) if (n * m > (1 << 16))
    {
        const EvenSplit split{m, index_t(omp_get_num_threads())};
        const index_t j0 = split.begin(omp_get_thread_num());
        const index_t j1 = split.begin(omp_get_thread_num() + 1);
        std::fill(mx + j0, mx + j1, lowest);
        std::fill(s + j0, s + j1, 0.0);
        for (index_t i = 0; i < n; ++i) {
            const double alpha = log_a[i] + f[i] * inv;
            for (index_t j = j0; j < j1; ++j)
                mx[j] = std::max(mx[j], alpha - double(C[i * m + j]) * inv);
        }
        for (index_t i = 0; i < n; ++i) {
            const double alpha = log_a[i] + f[i] * inv;
            for (index_t j = j0; j < j1; ++j)
                if (mx[j] > lowest) s[j] += std::exp(alpha - double(C[i * m + j]) * inv - mx[j]);
        }
    }
}

// lse_j = M_j + log sum_b s_bj exp(mx_bj - M_j), M_j = max_b mx_bj, blocks b in order: the
// column log-sum-exps of all rows from the pieces of `count` blocks (count x m each).
inline void combine_column_lse(const double* mx, const double* s, index_t count, index_t m,
                               double* lse) {
    const double lowest = -std::numeric_limits<double>::infinity();
    for (index_t j = 0; j < m; ++j) {
        double top = lowest;
        for (index_t b = 0; b < count; ++b) top = std::max(top, mx[b * m + j]);
        double sum = 0.0;
        if (top > lowest)
            for (index_t b = 0; b < count; ++b)
                if (mx[b * m + j] > lowest) sum += s[b * m + j] * std::exp(mx[b * m + j] - top);
        lse[j] = top + std::log(sum);
    }
}

// f_i = -phi eps LSE_j(log b_j + (g_j - C_ij) / eps) for the rows of the block, each row on
// its own with its exact maximum as the shift; returns max_i |f_i^new - f_i|.
template <class T>
double block_row_update(const T* C, index_t n, index_t m, const double* log_b, const double* g,
                        double eps, double phi, double* f, int n_threads) {
    const double inv = 1.0 / eps, lowest = -std::numeric_limits<double>::infinity();
    double change = 0.0;
#pragma omp parallel for num_threads(n_threads) schedule(static)                                   \
    reduction(max : change) if (n * m > (1 << 16))
    for (index_t i = 0; i < n; ++i) {
        const T* c = C + i * m;
        double top = lowest;
        for (index_t j = 0; j < m; ++j) top = std::max(top, log_b[j] + (g[j] - double(c[j])) * inv);
        double sum = 0.0;
        for (index_t j = 0; j < m; ++j)
            sum += std::exp(log_b[j] + (g[j] - double(c[j])) * inv - top);
        const double fn = -phi * eps * (top + std::log(sum));
        change = std::max(change, std::fabs(fn - f[i]));
        f[i] = fn;
    }
    return change;
}

}  // namespace partita::transport
