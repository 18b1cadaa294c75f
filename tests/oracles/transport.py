"""Slow, obviously-correct reference ("oracle") for log-domain Sinkhorn
(docs/algorithms.md, "Log-domain Sinkhorn").

Plain NumPy in float64 on one problem, written for clarity, not speed. KL convention:

* P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)
* one iteration: g_j <- -phi_b eps LSE_i(log a_i + (f_i - C_ij) / eps), then
  f_i <- -phi_a eps LSE_j(log b_j + (g_j - C_ij) / eps), phi = rho / (rho + eps) (1 if hard).
* Partial transport is an explicitly extended problem: a virtual column and / or row of cost 0,
  the virtual-virtual entry of cost +inf, the virtual points always hard.
* Stopping as partita's kernel: balanced, the L1 column violation of the state after an
  f-update (checked before the next g-update is applied); relaxed, max(|df|, |dg|) / eps after
  an iteration.
"""

import numpy as np
from scipy.special import logsumexp

__all__ = ["sinkhorn_log", "extend_partial", "plan_of", "entropic_objective", "partial_lp"]


def plan_of(C, a, b, f, g, eps):
    with np.errstate(divide="ignore"):
        return np.exp(np.log(a)[:, None] + np.log(b)[None, :] + (f[:, None] + g[None, :] - C) / eps)


def extend_partial(C, a, b, mass):
    """Both sides hard: exactly mass * min(sum a, sum b) moves between the real points.
    Returns (C_ext, a_ext, b_ext, rows, cols): the real block is [:rows, :cols]."""
    n, m = C.shape
    moved = mass * min(a.sum(), b.sum())
    Ce = np.zeros((n + 1, m + 1))
    Ce[:n, :m] = C
    Ce[n, m] = np.inf
    ae = np.append(a, b.sum() - moved)
    be = np.append(b, a.sum() - moved)
    return Ce, ae, be, n, m


def sinkhorn_log(
    C,
    a,
    b,
    eps,
    rho_a=np.inf,
    rho_b=np.inf,
    max_iter=1000,
    tol=1e-9,
    f0=None,
    g0=None,
    hard_rows=None,
    hard_cols=None,
):
    """Returns (f, g, n_iter, err, converged). hard_rows / hard_cols: boolean masks of points
    kept hard whatever rho (the virtual points)."""
    C = np.asarray(C, dtype=np.float64)
    n, m = C.shape
    phi_a = np.full(n, 1.0 if np.isinf(rho_a) else rho_a / (rho_a + eps))
    phi_b = np.full(m, 1.0 if np.isinf(rho_b) else rho_b / (rho_b + eps))
    if hard_rows is not None:
        phi_a[hard_rows] = 1.0
    if hard_cols is not None:
        phi_b[hard_cols] = 1.0
    relaxed = np.any(phi_a < 1) or np.any(phi_b < 1)
    with np.errstate(divide="ignore"):
        la, lb = np.log(a), np.log(b)
    f = np.zeros(n) if f0 is None else np.array(f0, dtype=np.float64)
    g = np.zeros(m) if g0 is None else np.array(g0, dtype=np.float64)
    err, n_iter = np.inf, 0
    for it in range(1, max_iter + 1):
        g_new = -phi_b * eps * logsumexp(la[:, None] + (f[:, None] - C) / eps, axis=0)
        if not relaxed and it >= 2:
            err = float(np.sum(b * np.abs(np.expm1((g - g_new) / eps))))
            if err < tol:
                return f, g, it - 1, err, True
        dg = np.max(np.abs(g_new - g))
        g = g_new
        f_new = -phi_a * eps * logsumexp(lb[None, :] + (g[None, :] - C) / eps, axis=1)
        df = np.max(np.abs(f_new - f))
        f = f_new
        n_iter = it
        if relaxed:
            err = max(df, dg) / eps
            if err < tol:
                return f, g, n_iter, err, True
    if not relaxed:
        g_new = -eps * logsumexp(la[:, None] + (f[:, None] - C) / eps, axis=0)
        err = float(np.sum(b * np.abs(np.expm1((g - g_new) / eps))))
    return f, g, n_iter, err, bool(err < tol)


def _kl(p, q):
    """Generalised KL: sum p log(p / q) - p + q, with 0 log 0 = 0."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    pos = p > 0
    return float(np.sum(p[pos] * np.log(p[pos] / q[pos])) - p.sum() + q.sum())


def entropic_objective(C, a, b, P, eps, rho_a=np.inf, rho_b=np.inf):
    """<C, P> + eps KL(P | a b^T) (+ rho KL of the marginals for finite rho), straight from the
    plan's entries."""
    value = float(np.sum(C * P)) + eps * _kl(P, np.outer(a, b))
    if np.isfinite(rho_a):
        value += rho_a * _kl(P.sum(1), a)
    if np.isfinite(rho_b):
        value += rho_b * _kl(P.sum(0), b)
    return value


def partial_lp(C, a, b, mass):
    """Exact partial transport by linear programming: min <C, P> over P >= 0, P 1 <= a,
    P^T 1 <= b, sum P = mass * min(sum a, sum b). Returns (P, cost)."""
    from scipy.optimize import linprog

    n, m = C.shape
    rows = np.kron(np.eye(n), np.ones((1, m)))
    cols = np.kron(np.ones((1, n)), np.eye(m))
    res = linprog(
        C.ravel(),
        A_ub=np.vstack([rows, cols]),
        b_ub=np.concatenate([a, b]),
        A_eq=np.ones((1, n * m)),
        b_eq=[mass * min(a.sum(), b.sum())],
        bounds=(0, None),
        method="highs",
    )
    assert res.status == 0, res.message
    return res.x.reshape(n, m), float(res.fun)
