// The Newton tail of one problem of a Sinkhorn batch: Newton's method on the semi-dual
// (newton.hpp) of the problem with its virtual points written out, the smaller side as the
// unknowns. Specification: (docs/algorithms.md, "Newton tail").
//
// The extended problem of partial transport (a virtual row and / or column of cost 0, the
// virtual-virtual entry of cost +inf) is balanced with both sides hard, so its semi-dual is the
// one newton.hpp maximises; +inf costs enter its log-sum-exps as exact zeros. A relaxed side
// must be the columns of the semi-dual (its rows are hard), so a problem is transposed only
// when its columns are hard. The potentials are the solver's (KL convention, virtual ones
// included) and are read and written in place.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "partita/common.hpp"
#include "partita/transport/newton.hpp"
#include "partita/transport/problem.hpp"
#include "partita/transport/sweeps.hpp"

namespace partita::transport {

struct NewtonTailParams {
    double eps = 1.0;
    double rho_a = std::numeric_limits<double>::infinity();  // inf: hard rows
    double rho_b = std::numeric_limits<double>::infinity();  // inf: hard columns
    index_t max_columns = 64;  // the most unknowns (the smaller side, virtual point included)
    double max_work = 1e300;   // the most (other side) x unknowns^2, a step's Hessian work
    index_t max_iter = 100;
    double tol = 1e-9;
};

struct NewtonTailResult {
    bool applied = false;  // false: the problem does not qualify (nothing changed)
    index_t n_iter = 0;
    double err = 0.0;
    bool converged = false;
};

namespace detail {

// Whether problem b's masses are all positive (the semi-dual's log-masses must be finite).
template <class T>
bool positive_masses(const Problem<T>& pb, index_t b) {
    for (index_t i = 0; i < pb.n; ++i)
        if (!(pb.log_a[b * pb.n + i] > LOG_ZERO / 2)) return false;
    for (index_t j = 0; j < pb.m; ++j)
        if (!(pb.log_b[b * pb.m + j] > LOG_ZERO / 2)) return false;
    if (pb.vrow && !(pb.log_av[b] > LOG_ZERO / 2)) return false;
    if (pb.vcol && !(pb.log_bv[b] > LOG_ZERO / 2)) return false;
    return true;
}

}  // namespace detail

enum class NewtonSide { none, columns, rows };

// Which side of problem b Newton's unknowns are: the columns when the rows are hard and there
// are at most max_columns columns (+ the virtual column), else the rows (transposed) when the
// columns are hard and there are at most max_columns rows (+ the virtual row); the smaller side
// when both would do. none when some mass is zero or a step's work exceeds max_work.
template <class T>
NewtonSide newton_side(const Problem<T>& pb, index_t b, const NewtonTailParams& p) {
    const bool hard_a = std::isinf(p.rho_a), hard_b = std::isinf(p.rho_b);
    const index_t rows_ext = pb.n + pb.vrow, cols_ext = pb.m + pb.vcol;
    auto fits = [&](index_t unknowns, index_t others) {
        return unknowns <= p.max_columns && double(others) * unknowns * unknowns <= p.max_work;
    };
    if (!detail::positive_masses(pb, b)) return NewtonSide::none;
    if (hard_a && fits(cols_ext, rows_ext) && (cols_ext <= rows_ext || !hard_b))
        return NewtonSide::columns;
    if (hard_b && fits(rows_ext, cols_ext)) return NewtonSide::rows;
    return NewtonSide::none;
}

// Runs at most p.max_iter Newton steps on problem b when newton_side() allows. A relaxed column
// side keeps its virtual column (hard) as newton.hpp's virtual column; otherwise the virtual
// points are written out.
template <class T>
NewtonTailResult newton_tail(const Problem<T>& pb, index_t b, Potentials& st,
                             const NewtonTailParams& p, int n_threads, InterruptCheck& interrupt) {
    NewtonTailResult out;
    const index_t n = pb.n, m = pb.m;
    const bool hard_b = std::isinf(p.rho_b);
    const NewtonSide side = newton_side(pb, b, p);
    if (p.max_iter < 1 || side == NewtonSide::none) return out;
    const bool transpose = side == NewtonSide::rows;
    const index_t rows_ext = n + pb.vrow, cols_ext = m + pb.vcol;
    // Newton's rows (N) and explicit columns (k); a relaxed side's virtual column is implicit.
    const bool implicit_vcol = !transpose && pb.vcol && !hard_b;
    const index_t N = transpose ? cols_ext : rows_ext;
    const index_t k = transpose ? rows_ext : (implicit_vcol ? m : cols_ext);
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> Ce(std::size_t(N) * k), w(N), lb(k), g(k + implicit_vcol);
    // Entry (i, j) of the extended problem in the original orientation.
    auto cost = [&](index_t i, index_t j) -> double {
        if (i < n && j < m) return double(pb.C[(b * n + i) * m + j]);
        return (i < n || j < m) ? 0.0 : inf;
    };
    auto log_row = [&](index_t i) { return i < n ? pb.log_a[b * n + i] : pb.log_av[b]; };
    auto log_col = [&](index_t j) { return j < m ? pb.log_b[b * m + j] : pb.log_bv[b]; };
    double* f_orig = st.f + b * n;
    double* g_orig = st.g + b * m;
    for (index_t r = 0; r < N; ++r)
        for (index_t c = 0; c < k; ++c)
            Ce[std::size_t(r) * k + c] = transpose ? cost(c, r) : cost(r, c);
    for (index_t r = 0; r < N; ++r) w[r] = std::exp(transpose ? log_col(r) : log_row(r));
    for (index_t c = 0; c < k; ++c) {
        lb[c] = transpose ? log_row(c) : log_col(c);
        if (transpose) g[c] = c < n ? f_orig[c] : st.fv[b];
        else g[c] = c < m ? g_orig[c] : st.gv[b];
    }
    if (implicit_vcol) g[k] = st.gv[b];

    NewtonParams np;
    np.eps = p.eps;
    np.rho = transpose ? p.rho_a : p.rho_b;
    np.virtual_column = implicit_vcol;
    if (implicit_vcol) np.log_bv = pb.log_bv[b];
    np.max_iter = p.max_iter;
    np.tol = p.tol;
    if (!std::isinf(np.rho)) {
        // A relaxed side's err (the solver's: the largest relative change of a potential) is a
        // column's violation relative to its mass, so the L1 violation must be below the
        // smallest mass's share of tol.
        double total = 0.0, smallest = std::numeric_limits<double>::infinity();
        for (index_t c = 0; c < k; ++c) {
            total += std::exp(lb[c]);
            smallest = std::min(smallest, std::exp(lb[c]));
        }
        np.tol = p.tol * smallest / total;
    }
    np.want_plan = false;
    const NewtonResult res =
        semidual_newton(Ce.data(), N, k, w.data(), lb.data(), g.data(), np, n_threads, interrupt);

    // Back to the solver's potentials: Newton's g are the unknowns' side, its f the other.
    double* unknowns = transpose ? f_orig : g_orig;
    double* others = transpose ? g_orig : f_orig;
    const index_t n_unknowns = transpose ? n : m, n_others = transpose ? m : n;
    for (index_t c = 0; c < n_unknowns; ++c) unknowns[c] = g[c];
    for (index_t r = 0; r < n_others; ++r) others[r] = res.f[r];
    if (transpose) {
        if (pb.vrow) st.fv[b] = g[n];
        if (pb.vcol) st.gv[b] = res.f[m];
    } else {
        if (pb.vcol) st.gv[b] = g[m];
        if (pb.vrow) st.fv[b] = res.f[n];
    }
    out.applied = true;
    out.n_iter = res.n_iter;
    out.err = res.err;
    out.converged = res.converged;
    return out;
}

}  // namespace partita::transport
