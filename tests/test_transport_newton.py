"""Newton's method on the semi-dual (SinkhornKMeans' assignment step for up to 64 clusters)
against the converged Sinkhorn solution of the same problem, and where Sinkhorn cannot get.

The kernel is called directly (partita._core.transport.semidual_newton): C (n, k), row weights
a, column log-masses, an optional hard virtual column of cost 0, rho = inf for hard columns.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from partita import SinkhornKMeans, _core
from partita.transport import sinkhorn


def _problem(seed, n=200, k=4, scale=1.0):
    rng = np.random.default_rng(seed)
    C = rng.uniform(0, scale, (n, k))
    a = rng.uniform(0.2, 1, n)
    b = rng.uniform(0.5, 1, k)
    return np.ascontiguousarray(C), a / a.sum(), b / b.sum()


def _newton(C, a, b, eps, rho=np.inf, log_bv=None, g=None, tol=1e-14, max_iter=200, n_jobs=2):
    g = np.zeros(C.shape[1] + (log_bv is not None)) if g is None else g.copy()
    params = _core.transport.NewtonParams()
    params.eps, params.rho, params.max_iter, params.tol = eps, rho, max_iter, tol
    params.virtual_column = log_bv is not None
    if log_bv is not None:
        params.log_bv = log_bv
    params.want_plan, params.n_threads = True, n_jobs
    r = _core.transport.semidual_newton(C, a, np.log(b), g, params)
    return g, r


@pytest.mark.parametrize("rho", [np.inf, 0.3, 3.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_converged_sinkhorn(seed, rho):
    C, a, b = _problem(seed)
    eps = 0.05
    g, r = _newton(C, a, b, eps, rho)
    s = sinkhorn(C, a, b, reg=eps, reg_m=(np.inf, rho), tol=1e-15, max_iter=200000)
    assert r.converged and r.err < 1e-14 and r.n_iter < 30
    np.testing.assert_allclose(r.plan, s.plan, rtol=0, atol=1e-13)
    np.testing.assert_allclose(r.f, s.f - (s.f - r.f).mean(), atol=1e-10)
    np.testing.assert_allclose(r.plan.sum(1), a, rtol=1e-12)
    if np.isinf(rho):
        np.testing.assert_allclose(r.plan.sum(0), b, atol=1e-14)
    else:  # the relaxed condition m_j = b_j exp(-g_j / rho)
        np.testing.assert_allclose(r.plan.sum(0), b * np.exp(-g / rho), atol=1e-14)


@pytest.mark.parametrize("rho", [np.inf, 1.0])
def test_virtual_column_equals_partial_sinkhorn(rho):
    C, a, b = _problem(2, n=150, k=3)
    mass, eps = 0.7, 0.05
    g, r = _newton(C, a, mass * b, eps, rho, log_bv=np.log(1 - mass))
    s = sinkhorn(C, a, b, reg=eps, reg_m=(np.inf, rho), mass=mass, tol=1e-15, max_iter=200000)
    if np.isinf(rho):  # both hard with the sample side: the partial problem is P^2OT's
        s = sinkhorn(
            np.hstack([C, np.zeros((len(C), 1))]),
            a,
            np.append(mass * b, 1 - mass),
            reg=eps,
            tol=1e-15,
            max_iter=200000,
        )
        s_plan = s.plan[:, :-1]
    else:
        s_plan = s.plan
    assert r.converged
    np.testing.assert_allclose(r.plan, s_plan, rtol=0, atol=1e-13)
    np.testing.assert_allclose(r.plan.sum(), mass, rtol=1e-12) if np.isinf(rho) else None


def test_separated_clusters_where_sinkhorn_stalls():
    # k-means++ centres on well-separated blobs: the kernel barely couples the blocks, and
    # Sinkhorn is still 1e-6 away from the marginals after 20,000 iterations.
    X, _ = make_blobs(300, centers=3, cluster_std=0.5, random_state=0)
    centres = X[[0, 1, 2]]  # three points; two may share a blob
    C = np.ascontiguousarray(((X[:, None] - centres[None]) ** 2).sum(-1))
    a, b = np.full(300, 1 / 300), np.full(3, 1 / 3)
    eps = 0.24
    s = sinkhorn(C, a, b, reg=eps, tol=1e-12, max_iter=20000)
    g, r = _newton(C, a, b, eps)
    assert r.converged and r.n_iter < 60
    np.testing.assert_allclose(r.plan.sum(0), b, atol=1e-13)
    if not s.converged:  # the reason for Newton; on this data Sinkhorn does not converge
        assert s.err > 1e3 * r.err


def test_empty_column_far_from_every_point():
    # A column with no mass at the start (curvature ~ 0): damped steps, not one huge step.
    C, a, b = _problem(3, n=120, k=3)
    C[:, 2] += 50.0
    g, r = _newton(C, a, b, 0.02)
    assert r.converged
    np.testing.assert_allclose(r.plan.sum(0), b, atol=1e-13)


def test_warm_start_and_threads():
    C, a, b = _problem(4, n=3000, k=5)  # several row chunks
    g1, r1 = _newton(C, a, b, 0.05, n_jobs=1)
    g2, r2 = _newton(C, a, b, 0.05, n_jobs=2)
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_array_equal(r1.plan, r2.plan)
    g3, r3 = _newton(C, a, b, 0.05, g=g1)
    assert r3.n_iter <= 1


def test_zero_weight_rows_and_max_iter():
    C, a, b = _problem(5, n=50, k=3)
    a[:5] = 0.0
    a /= a.sum()
    g, r = _newton(C, a, b, 0.05)
    assert r.converged and np.all(r.plan[:5] == 0)
    assert np.all(np.isfinite(r.f))
    _, r0 = _newton(C, a, b, 0.001, max_iter=0)
    assert r0.n_iter == 0 and not r0.converged


def test_sinkhorn_kmeans_separated_blobs_converge_without_warning():
    X, y = make_blobs(600, centers=4, cluster_std=0.4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        km = SinkhornKMeans(4, random_state=0).fit(X)
    np.testing.assert_allclose(km.cluster_sizes_, 150, atol=600 * km.sinkhorn_tol)


def test_sinkhorn_kmeans_many_clusters_uses_sinkhorn():
    # Above 64 clusters the assignment is Sinkhorn's (O(n k) per iteration); same contract.
    X, _ = make_blobs(400, centers=8, random_state=1)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):  # 3 iterations do not converge
        km = SinkhornKMeans(80, reg=0.2, max_iter=3, random_state=0).fit(X)
    np.testing.assert_allclose(km.cluster_sizes_, 5, atol=1e-3)


# Hard cases for the globalisation; each converges (tol 1e-12).
def _uniform_a(n):
    return np.full(n, 1.0 / n)


def test_converges_where_objective_rounding_hides_the_gain():
    # eps >> costs, a large virtual column: J's rounding exceeded the real gain near the optimum.
    C = np.ascontiguousarray(np.random.default_rng(79).uniform(0, 1, (2, 3)))
    g, r = _newton(C, _uniform_a(2), np.full(3, 0.01 / 3), 1e3, log_bv=np.log(0.99), tol=1e-12)
    assert r.converged


def test_converges_with_a_tiny_far_column():
    C = np.random.default_rng(0).uniform(0, 1, (3000, 2))
    C[:, 0] += 100.0
    g, r = _newton(
        np.ascontiguousarray(C), _uniform_a(3000), np.array([1e-10, 1 - 1e-10]), 0.01, tol=1e-12
    )
    assert r.converged
    np.testing.assert_allclose(r.plan.sum(0), [1e-10, 1 - 1e-10], rtol=1e-3, atol=1e-13)


@pytest.mark.parametrize("k", [4, 16, 64])
def test_converges_with_one_row_and_tiny_eps(k):
    # Every iterate puts the row's mass in one column (Hessian ~ 0): Sinkhorn steps take over.
    C = np.ascontiguousarray(np.random.default_rng(1).uniform(0, 1, (1, k)))
    g, r = _newton(C, np.array([1.0]), np.full(k, 1.0 / k), 1e-4, tol=1e-12)
    assert r.converged
    np.testing.assert_allclose(r.plan[0], 1.0 / k, atol=1e-12)


def test_far_warm_starts():
    # relaxed: exp(-g / rho) overflowed (err = inf); hard: damped steps crawled
    g, r = _newton(
        np.array([[0.0]]),
        np.array([1.0]),
        np.array([1.0]),
        1.0,
        rho=1.0,
        g=np.array([-1000.0]),
        tol=1e-12,
    )
    assert r.converged and np.isfinite(r.err)
    rng = np.random.default_rng(2)
    C = np.ascontiguousarray(rng.uniform(0, 1, (1000, 16)))
    g, r = _newton(
        C, _uniform_a(1000), np.full(16, 1 / 16), 0.01, g=rng.uniform(-1e3, 1e3, 16), tol=1e-12
    )
    assert r.converged


def test_sinkhorn_kmeans_falls_back_to_sinkhorn(monkeypatch):
    # When Newton has not converged within its step budget, Sinkhorn continues from its
    # potentials: the same fixed point as the Newton-only fit.
    from partita import transport

    X, _ = make_blobs(300, centers=3, random_state=4)
    ref = SinkhornKMeans(3, random_state=0, reg=0.5, sinkhorn_tol=1e-10).fit(X)
    monkeypatch.setattr(transport, "_NEWTON_MAX_STEPS", 1)
    calls = []
    solve = transport._solve
    monkeypatch.setattr(transport, "_solve", lambda *a, **k: calls.append(1) or solve(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        km = SinkhornKMeans(
            3, random_state=0, reg=0.5, sinkhorn_tol=1e-10, sinkhorn_max_iter=100000
        ).fit(X)
    assert calls  # Sinkhorn did take over
    np.testing.assert_allclose(km.cluster_centers_, ref.cluster_centers_, atol=1e-6)
    np.testing.assert_array_equal(km.labels_, ref.labels_)
