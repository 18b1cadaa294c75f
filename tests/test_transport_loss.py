"""sinkhorn_loss and sinkhorn_divergence against the NumPy oracle (tests/oracles/transport.py)
and POT's sinkhorn2, sinkhorn_unbalanced2 and empirical_sinkhorn_divergence."""

import math

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from partita.transport import sinkhorn, sinkhorn_divergence, sinkhorn_loss

from oracles.transport import entropic_objective

ot = pytest.importorskip("ot")


def _problem(seed, n=30, m=20, scale=1.0):
    rng = np.random.default_rng(seed)
    C = rng.uniform(0, scale, (n, m))
    a = rng.uniform(0.2, 1, n)
    b = rng.uniform(0.2, 1, m)
    return C, a / a.sum(), b / b.sum()


def test_cost_equals_pot_sinkhorn2():
    C, a, b = _problem(0)
    loss = sinkhorn_loss(C, a, b, reg=0.05, tol=1e-13, max_iter=10000)
    pot = ot.sinkhorn2(a, b, C, 0.05, method="sinkhorn_log", stopThr=1e-13, numItermax=10000)
    assert loss.converged
    np.testing.assert_allclose(loss.cost, float(pot), rtol=1e-10)


KINDS = {
    "balanced": ({}, math.inf, math.inf),
    "relaxed": (dict(reg_m=0.3), 0.3, 0.3),
    "relaxed, two penalties": (dict(reg_m=(0.2, 0.7)), 0.2, 0.7),
    "semi-relaxed": (dict(reg_m=(math.inf, 0.5)), math.inf, 0.5),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_objective_equals_oracle(kind):
    kw, rho_a, rho_b = KINDS[kind]
    C, a, b = _problem(1)
    loss = sinkhorn_loss(C, a, b, reg=0.05, tol=1e-13, max_iter=10000, **kw)
    plan = sinkhorn(C, a, b, reg=0.05, tol=1e-13, max_iter=10000, **kw).plan
    assert loss.converged
    np.testing.assert_allclose(loss.cost, (C * plan).sum(), rtol=1e-13)
    expected = entropic_objective(C, a, b, plan, 0.05, rho_a, rho_b)
    np.testing.assert_allclose(loss.objective, expected, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("reg_m", [0.3, (0.2, 0.7)])
def test_objective_equals_pot_unbalanced_total(reg_m):
    # POT's "total" takes KL(p | q) = sum p log(p / q) without the mass terms - p + q; added here
    C, a, b = _problem(2)
    b = b * 1.5  # unbalanced masses
    loss = sinkhorn_loss(C, a, b, reg=0.05, reg_m=reg_m, tol=1e-13, max_iter=10000)
    total, log = ot.unbalanced.sinkhorn_unbalanced2(
        a,
        b,
        C,
        0.05,
        reg_m,
        reg_type="kl",
        returnCost="total",
        stopThr=1e-14,
        numItermax=10000,
        log=True,
    )
    P = ot.unbalanced.sinkhorn_unbalanced(
        a, b, C, 0.05, reg_m, reg_type="kl", stopThr=1e-14, numItermax=10000
    )
    rho_a, rho_b = (reg_m, reg_m) if np.isscalar(reg_m) else reg_m
    mass_terms = (
        0.05 * (a.sum() * b.sum() - P.sum())
        + rho_a * (a.sum() - P.sum())
        + rho_b * (b.sum() - P.sum())
    )
    np.testing.assert_allclose(loss.cost, float(log["cost"]), rtol=1e-10)
    np.testing.assert_allclose(loss.objective, float(total) + mass_terms, rtol=1e-10, atol=1e-13)


def test_partial_objective_is_the_real_block_s():
    C, a, b = _problem(3, 12, 9)
    for kw in (dict(mass=0.6), dict(mass=0.6, reg_m=(math.inf, 0.4))):
        loss = sinkhorn_loss(C, a, b, reg=0.02, tol=1e-12, max_iter=1000, **kw)
        plan = sinkhorn(C, a, b, reg=0.02, tol=1e-12, max_iter=1000, **kw).plan
        target = b if "reg_m" not in kw else b * 0.6
        expected = entropic_objective(
            C, a, target, plan, 0.02, math.inf, kw.get("reg_m", (0, math.inf))[1]
        )
        np.testing.assert_allclose(loss.cost, (C * plan).sum(), rtol=1e-13)
        np.testing.assert_allclose(loss.objective, expected, rtol=1e-10, atol=1e-14)


def test_batched_loss_equals_per_problem():
    rng = np.random.default_rng(4)
    C = rng.uniform(0, 1, (3, 15, 10))
    loss = sinkhorn_loss(C, reg=0.05, tol=1e-12)
    assert loss.cost.shape == loss.objective.shape == (3,)
    for k in range(3):
        one = sinkhorn_loss(C[k], reg=0.05, tol=1e-12)
        assert one.cost == loss.cost[k] and one.objective == loss.objective[k]


def test_float32_loss():
    C, a, b = _problem(5)
    l64 = sinkhorn_loss(C, a, b, reg=0.05)
    l32 = sinkhorn_loss(C.astype(np.float32), a, b, reg=0.05)
    assert isinstance(l32.cost, float)
    np.testing.assert_allclose(l32.cost, l64.cost, rtol=1e-5)
    np.testing.assert_allclose(l32.objective, l64.objective, rtol=1e-5, atol=1e-6)


def _clouds(seed, n=25, m=18, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = rng.normal(size=(m, d)) + 0.7
    a = rng.uniform(0.2, 1, n)
    b = rng.uniform(0.2, 1, m)
    return X, Y, a / a.sum(), b / b.sum()


def test_divergence_cost_equals_pot_empirical():
    X, Y, a, b = _clouds(6)
    div = sinkhorn_divergence(X, Y, a, b, reg=1.0, loss="cost", tol=1e-12)
    pot = ot.bregman.empirical_sinkhorn_divergence(
        X, Y, 1.0, a, b, stopThr=1e-12, numIterMax=200000
    )
    assert div > 0
    np.testing.assert_allclose(div, float(pot), rtol=1e-8)


def test_divergence_equals_oracle_objectives():
    X, Y, a, b = _clouds(7)
    reg = 0.3

    def objective(P, Q, wp, wq):
        C = ((P[:, None] - Q[None]) ** 2).sum(-1)
        plan = sinkhorn(C, wp, wq, reg=reg, tol=1e-13, max_iter=100000).plan
        return entropic_objective(C, wp, wq, plan, reg)

    expected = objective(X, Y, a, b) - 0.5 * (objective(X, X, a, a) + objective(Y, Y, b, b))
    div = sinkhorn_divergence(X, Y, a, b, reg=reg, tol=1e-13, max_iter=100000)
    np.testing.assert_allclose(div, expected, rtol=1e-9)


def test_divergence_is_zero_on_equal_clouds_and_positive_otherwise():
    X, Y, a, b = _clouds(8)
    assert abs(sinkhorn_divergence(X, X, a, a, reg=0.2)) < 1e-9
    for metric in ("sqeuclidean", "euclidean"):
        assert sinkhorn_divergence(X, Y, a, b, reg=0.2, metric=metric) > 0
    # euclidean costs: the divergence of a translated cloud grows with the translation
    d1 = sinkhorn_divergence(X, X + 0.5, reg=0.1, metric="euclidean")
    d2 = sinkhorn_divergence(X, X + 1.0, reg=0.1, metric="euclidean")
    assert 0 < d1 < d2


def test_batched_divergence_equals_loop():
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(3, 12, 2)), rng.normal(size=(3, 10, 2)) + 1.0
    div = sinkhorn_divergence(X, Y, reg=0.2)
    assert div.shape == (3,)
    for k in range(3):
        np.testing.assert_allclose(sinkhorn_divergence(X[k], Y[k], reg=0.2), div[k], rtol=1e-9)


def test_divergence_warns_when_not_converged():
    X, Y, a, b = _clouds(10)
    with pytest.warns(ConvergenceWarning, match="did not reach"):
        sinkhorn_divergence(X, Y, a, b, reg=0.01, max_iter=2, tol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(metric="cosine"), "metric"),
        (dict(loss="value"), "loss"),
        (dict(Y=np.zeros((4, 3))), "same B and d"),
        (dict(Y=np.zeros((2, 4, 2))), "same B and d"),
        (dict(X=np.array([[np.nan, 0.0]])), "NaN"),
        (dict(X=np.zeros((0, 2))), "shape"),
        (dict(X=np.array([["a", "b"]])), "numeric"),
        (dict(reg=0.0), "reg"),
        (dict(a=np.ones(3)), "a.shape"),
    ],
)
def test_divergence_bad_input(kwargs, match):
    args = dict(X=np.zeros((4, 2)), Y=np.ones((5, 2)), reg=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sinkhorn_divergence(**args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(reg=-1.0), "reg"),
        (dict(C=np.full((2, 2), np.inf)), "NaN or infinity"),
        (dict(epsilon_scaling="sometimes"), "epsilon_scaling"),
        (dict(mass=1.5), "mass"),
    ],
)
def test_loss_bad_input(kwargs, match):
    args = dict(C=np.ones((3, 2)), reg=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sinkhorn_loss(**args)
