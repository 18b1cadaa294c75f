// SinkhornKMeans' Lloyd iterations: squared distances to the centres, the assignment by
// Newton's method on the semi-dual (newton.hpp), the centre update and the stopping rule, in one
// call. Specification: (docs/algorithms.md, "SinkhornKMeans").
//
// The loop stops early, leaving the rest to the caller, when an assignment does not reach its
// tolerance (Sinkhorn then continues from Newton's potentials in Python), so the caller can resume
// it from the next iteration. Every step is split into fixed units of points whose sums are
// reduced in order: the result does not depend on the thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "partita/common.hpp"
#include "partita/feature_tiles.hpp"
#include "partita/transport/newton.hpp"

namespace partita::transport {

namespace lloyd_detail {

PARTITA_FEATURE_TILE_ROWS(feature_tiles::SquaredDifference, feature_tiles::RawSum, double)

constexpr index_t ROWS = 1024;  // points per work unit (fixed: never the thread count)

// part[j * d + t] += sum_i P_ij x_it and part[k * d + j] += sum_i P_ij over the points
// [r0, r1), in point order; vectorised over the features (no sum across lanes).
PARTITA_MULTIVERSION static void accumulate_centres(const double* X, const double* P, index_t r0,
                                                    index_t r1, index_t d, index_t k,
                                                    double* part) {
    for (index_t i = r0; i < r1; ++i) {
        const double* __restrict x = X + i * d;
        for (index_t j = 0; j < k; ++j) {
            const double w = P[i * k + j];
            if (w == 0.0) continue;  // adds nothing (x is finite)
            double* __restrict s = part + j * d;
#pragma omp simd
            for (index_t t = 0; t < d; ++t) s[t] += w * x[t];
            part[k * d + j] += w;
        }
    }
}

}  // namespace lloyd_detail

// D (n x k) = ||x_i - c_j||^2, summed over the features in order, from the feature-major copy
// cols (d x n) of the points and the centres (k x d, row-major).
inline void centre_distances(const double* cols, index_t n, index_t d, const double* centres,
                             index_t k, double* D, int n_threads, InterruptCheck& interrupt) {
    constexpr index_t R = lloyd_detail::ROWS;
    std::vector<const double*> rows(k);
    for (index_t j = 0; j < k; ++j) rows[j] = centres + j * d;
    parallel_units((n + R - 1) / R, n_threads, interrupt,
                   [&] { return std::vector<double>(std::size_t(k) * R); },
                   [&](index_t u, std::vector<double>& buf) {
                       const index_t r0 = u * R, len = std::min(R, n - r0);
                       std::vector<double*> out(k);
                       for (index_t j = 0; j < k; ++j) out[j] = buf.data() + j * R;
                       lloyd_detail::tile_rows(feature_tiles::SquaredDifference(),
                                               feature_tiles::RawSum(), cols + r0, n, d,
                                               rows.data(), k, len, out.data());
                       for (index_t i = 0; i < len; ++i)
                           for (index_t j = 0; j < k; ++j) D[(r0 + i) * k + j] = buf[j * R + i];
                   });
}

// c_j = sum_i P_ij x_i / sum_i P_ij for every column with mass (the others stay); returns the
// squared shift sum_j ||c_j^new - c_j||^2, summed in order. Per unit of points, then the units
// in order.
inline double update_centres(const double* X, index_t n, index_t d, const double* P, index_t k,
                             double* centres, int n_threads, InterruptCheck& interrupt) {
    constexpr index_t R = lloyd_detail::ROWS;
    const index_t units = (n + R - 1) / R;
    const std::size_t stride = std::size_t(k) * (d + 1);
    std::vector<double> parts(units * stride, 0.0);
    parallel_units(units, n_threads, interrupt, [&](index_t u) {
        lloyd_detail::accumulate_centres(X, P, u * R, std::min(n, (u + 1) * R), d, k,
                                         parts.data() + u * stride);
    });
    std::vector<double> sums(stride, 0.0);
    for (index_t u = 0; u < units; ++u)
        for (std::size_t q = 0; q < stride; ++q) sums[q] += parts[u * stride + q];
    double shift = 0.0;
    for (index_t j = 0; j < k; ++j) {
        const double mass = sums[k * d + j];
        if (!(mass > 0.0)) continue;
        for (index_t t = 0; t < d; ++t) {
            const double c = sums[j * d + t] / mass;
            const double diff = c - centres[j * d + t];
            shift += diff * diff;
            centres[j * d + t] = c;
        }
    }
    return shift;
}

// labels_i = argmin_j (D_ij - prices_j), the lowest j on ties; -1 where the virtual cluster
// (cost 0, price gv) is strictly cheaper.
inline void price_labels(const double* D, index_t n, index_t k, const double* prices,
                         bool virtual_column, double gv, std::int64_t* labels) {
    for (index_t i = 0; i < n; ++i) {
        std::int64_t best = 0;
        double low = D[i * k] - prices[0];
        for (index_t j = 1; j < k; ++j) {
            const double e = D[i * k + j] - prices[j];
            if (e < low) {
                low = e;
                best = j;
            }
        }
        labels[i] = virtual_column && -gv < low ? -1 : best;
    }
}

struct LloydParams {
    double eps = 1.0;
    double rho = std::numeric_limits<double>::infinity();  // relaxed cluster sizes; inf: hard
    bool virtual_column = false;                           // mass < 1
    double log_bv = 0.0;                                   // log mass of the virtual cluster
    index_t first_iteration = 1;  // resuming: the iterations before were done by the caller
    index_t max_iter = 100;
    bool final_only = false;   // only the final assignment (the caller's iterations stopped)
    double shift_tol = 0.0;    // stop when the squared centre shift is at most this
    bool labels_rule = false;  // stop instead when the labels repeat (tol = 0)
    index_t newton_max_iter = 100;
    double assign_tol = 1e-6;
    int n_threads = 0;  // 0: all cores (the bindings resolve it)
};

struct LloydResult {
    index_t n_iter = 0;         // the last Lloyd iteration (its assignment solved)
    bool converged = false;     // the stopping rule was met
    bool final = false;         // the last assignment is the final one, with the final centres
    NewtonResult assignment;    // of the last assignment: f, plan, steps, violation
    std::vector<double> costs;  // n x k: the squared distances of the last assignment
    // labels_rule: the labels of the last iteration that computed them (empty: none yet).
    std::vector<std::int64_t> labels;
    // Per completed iteration: the squared centre shift, Newton's steps and violation.
    std::vector<double> shift, err;
    std::vector<index_t> steps;
};

// X: n x d points (row-major); a: n row weights; log_b: k log cluster masses (Newton's
// convention); centres (k x d) and g (k, +1 with the virtual cluster): in, the start; out, the
// state of the last assignment. previous_labels: the labels of the iteration before
// first_iteration (labels_rule), or null.
inline LloydResult lloyd(const double* X, index_t n, index_t d, const double* a,
                         const double* log_b, index_t k, double* centres, double* g,
                         const std::int64_t* previous_labels, const LloydParams& params,
                         int n_threads, InterruptCheck& interrupt) {
    const std::vector<double> cols = feature_tiles::feature_major(X, n, d);
    NewtonParams np;
    np.eps = params.eps;
    np.rho = params.rho;
    np.virtual_column = params.virtual_column;
    np.log_bv = params.log_bv;
    np.max_iter = params.newton_max_iter;
    np.tol = params.assign_tol;
    np.want_plan = true;
    LloydResult res;
    res.costs.resize(std::size_t(n) * k);
    auto assign = [&] {
        interrupt();
        centre_distances(cols.data(), n, d, centres, k, res.costs.data(), n_threads, interrupt);
        res.assignment =
            semidual_newton(res.costs.data(), n, k, a, log_b, g, np, n_threads, interrupt);
        return res.assignment.converged;
    };
    std::vector<std::int64_t> labels;
    bool have_labels = previous_labels != nullptr;
    if (params.labels_rule) {
        res.labels.resize(n);
        labels.resize(n);
        if (have_labels) std::copy(previous_labels, previous_labels + n, res.labels.begin());
    }
    std::vector<double> prices(k);
    index_t it = params.first_iteration - 1;
    if (!params.final_only) {
        for (it = params.first_iteration; it <= params.max_iter; ++it) {
            res.n_iter = it;
            if (!assign()) {  // Sinkhorn continues this iteration (the caller)
                if (!have_labels) res.labels.clear();
                return res;
            }
            if (params.labels_rule) {
                for (index_t j = 0; j < k; ++j) prices[j] = g[j] + params.eps * log_b[j];
                const double gv = params.virtual_column ? g[k] + params.eps * params.log_bv : 0.0;
                price_labels(res.costs.data(), n, k, prices.data(), params.virtual_column, gv,
                             labels.data());
                const bool same = have_labels && labels == res.labels;
                res.labels.swap(labels);
                have_labels = true;
                if (same) {
                    res.converged = true;
                    break;
                }
            }
            const double shift = update_centres(X, n, d, res.assignment.plan.data(), k, centres,
                                                n_threads, interrupt);
            res.shift.push_back(shift);
            res.steps.push_back(res.assignment.n_iter);
            res.err.push_back(res.assignment.err);
            if (!params.labels_rule && shift <= params.shift_tol) {
                res.converged = true;
                break;
            }
        }
        it = std::min(it, params.max_iter);
    }
    res.n_iter = it;
    res.final = true;
    assign();
    if (!have_labels) res.labels.clear();
    return res;
}

}  // namespace partita::transport
