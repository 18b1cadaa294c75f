"""sinkhorn on hard problems: epsilon-scaling and the Newton tail (docs/algorithms.md,
"Epsilon-scaling" and "Newton tail").

Accelerated runs must reach plain Sinkhorn's fixed point (the same plan within the tolerances),
count every iteration of every part, and reach partial transport's mass and constraints at
POT's budget of 1,000 iterations; as reg -> 0, partial plans approach the exact linear program.
"""

import math

import numpy as np
import pytest

from partita.transport import sinkhorn

from oracles.transport import partial_lp

ot = pytest.importorskip("ot")

PLAIN = dict(epsilon_scaling=False, newton=False)


def _separated_clouds(seed, half=20):
    """POT's partial-transport test data: a Gaussian cloud plus uniform outliers on each side,
    squared euclidean costs (max(C) about 300)."""
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, 0.0], [0.0, 2.0]])
    xs = np.vstack([rng.multivariate_normal([0, 0], cov, half), (rng.random((half, 2)) + 1) * 4])
    xt = np.vstack([rng.multivariate_normal([0, 0], cov, half), (rng.random((half, 2)) + 1) * -3])
    C = ((xs[:, None] - xt[None]) ** 2).sum(-1)
    n = 2 * half
    return C, np.full(n, 1.0 / n), np.full(n, 1.0 / n)


def _scaled_points(seed, n=50, scale=50.0):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((n, 2))
    C = ((x[:, None] - y[None]) ** 2).sum(-1)
    return C / C.max() * scale, np.full(n, 1.0 / n), np.full(n, 1.0 / n)


def _problem(seed, n, m, scale=1.0):
    rng = np.random.default_rng(seed)
    C = rng.uniform(0, scale, (n, m))
    a = rng.uniform(0.2, 1, n)
    b = rng.uniform(0.2, 1, m)
    return C, a / a.sum(), b / b.sum()


HARD_PARTIAL = {
    "40 points, reg 1, mass 0.5": (_separated_clouds, 1.0, 0.5),
    "50 points, costs to 50, reg 1e-3, mass 0.6": (_scaled_points, 1e-3, 0.6),
    "50 points, costs to 50, reg 5e-4, mass 0.6": (_scaled_points, 5e-4, 0.6),
}


@pytest.mark.parametrize("case", list(HARD_PARTIAL))
def test_hard_partial_cases_reach_the_mass_within_1000_iterations(case):
    make, reg, mass = HARD_PARTIAL[case]
    C, a, b = make(0)
    r = sinkhorn(C, a, b, reg=reg, mass=mass, max_iter=1000)
    assert r.converged and r.n_iter <= 1000
    assert abs(r.plan.sum() - mass) < 1e-6
    assert np.all(r.plan.sum(1) <= a + 1e-6) and np.all(r.plan.sum(0) <= b + 1e-6)
    plain = sinkhorn(C, a, b, reg=reg, mass=mass, max_iter=1000, **PLAIN)
    assert not plain.converged  # what the acceleration is for


def test_hard_balanced_case_converges():
    C, a, b = _separated_clouds(0)
    r = sinkhorn(C, a, b, reg=1.0, max_iter=1000)
    assert r.converged and r.n_iter <= 100
    np.testing.assert_allclose(r.plan.sum(1), a, atol=1e-14)
    assert np.abs(r.plan.sum(0) - b).sum() < 1e-9
    assert not sinkhorn(C, a, b, reg=1.0, max_iter=1000, **PLAIN).converged


def test_partial_against_pot_and_linear_programming():
    C, a, b = _problem(4, 8, 6)
    P_lp, cost_lp = partial_lp(C, a, b, 0.5)
    gaps, dists = [], []
    for reg in (1e-1, 1e-2, 1e-3):
        r = sinkhorn(C, a, b, reg=reg, mass=0.5, max_iter=1000)
        assert r.converged
        assert abs(r.plan.sum() - 0.5) < 1e-9
        assert np.all(r.plan.sum(1) <= a + 1e-9) and np.all(r.plan.sum(0) <= b + 1e-9)
        gap = (r.plan * C).sum() - cost_lp
        assert -1e-12 <= gap <= reg * math.log(9 * 7)  # the entropic bias
        gaps.append(gap)
        dists.append(np.abs(r.plan - P_lp).sum())
    assert gaps[2] < gaps[1] < gaps[0] and dists[2] < dists[1] < dists[0]
    assert dists[2] < 0.02
    # POT's entropic partial transport (Bregman projections) regularises the slacks
    # differently; both tend to the linear program.
    Q = ot.partial.entropic_partial_wasserstein(a, b, C, 1e-2, m=0.5, numItermax=100000)
    assert abs(Q.sum() - 0.5) < 1e-9
    r = sinkhorn(C, a, b, reg=1e-2, mass=0.5, max_iter=1000)
    assert abs((Q * C).sum() - cost_lp) <= 1e-2 * math.log(9 * 7)
    assert np.abs(r.plan - Q).sum() < 2 * max(dists[1], np.abs(Q - P_lp).sum())


PROBLEMS = {
    "balanced": {},
    "relaxed": dict(reg_m=0.5),
    "semi-relaxed columns": dict(reg_m=(math.inf, 0.5)),
    "semi-relaxed rows": dict(reg_m=(0.5, math.inf)),
    "partial": dict(mass=0.6),
    "partial, relaxed columns": dict(mass=0.6, reg_m=(math.inf, 0.5)),
}
SHAPES = {"few columns": (40, 12), "few rows": (12, 40), "neither": (90, 70)}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("kind", list(PROBLEMS))
def test_accelerated_reaches_plain_fixed_point(kind, shape):
    C, a, b = _problem(7, *SHAPES[shape])
    reg, kw = 0.005, PROBLEMS[kind]  # max(C) / reg = 200: "auto" accelerates
    ref = sinkhorn(C, a, b, reg=reg, max_iter=200000, tol=1e-12, **PLAIN, **kw)
    assert ref.converged
    for scaling, newton in ((True, False), (False, True), (True, True), ("auto", "auto")):
        r = sinkhorn(
            C,
            a,
            b,
            reg=reg,
            max_iter=20000,
            tol=1e-12,
            epsilon_scaling=scaling,
            newton=newton,
            **kw,
        )
        assert r.converged and r.n_iter <= 20000
        np.testing.assert_allclose(r.plan, ref.plan, rtol=0, atol=1e-9)


def test_newton_tail_needs_few_iterations_where_it_applies():
    C, a, b = _problem(8, 60, 20, scale=100.0)
    plain = sinkhorn(C, a, b, reg=0.05, max_iter=200000, tol=1e-10, **PLAIN)
    fast = sinkhorn(C, a, b, reg=0.05, max_iter=200000, tol=1e-10)
    assert plain.converged and fast.converged
    assert 10 * fast.n_iter < plain.n_iter
    np.testing.assert_allclose(fast.plan, plain.plan, rtol=0, atol=1e-9)


def test_auto_keeps_plain_sinkhorn_where_it_converges_soon():
    # Hard by the ratio (max(C) / reg = 150), easy in fact: plain Sinkhorn converges in 64
    # iterations, within the probe's budget (10 steps of 41 unknowns: 83), so "auto" keeps it
    # (one more iteration for the plan) instead of annealing and taking 15 Newton steps.
    C, a, b = _problem(12, 300, 40, scale=3.0)
    kw = dict(reg=0.02, reg_m=(math.inf, 0.05), max_iter=100000, tol=1e-9)
    plain = sinkhorn(C, a, b, **PLAIN, **kw)
    auto = sinkhorn(C, a, b, **kw)
    assert plain.converged and auto.converged
    assert plain.n_iter <= auto.n_iter <= plain.n_iter + 1
    np.testing.assert_allclose(auto.plan, plain.plan, rtol=0, atol=1e-12)
    # Where plain Sinkhorn would take far longer, the probe gives up within a few chunks.
    C, a, b = _separated_clouds(0)
    hard = sinkhorn(C, a, b, reg=1.0, max_iter=1000)
    newton_only = sinkhorn(C, a, b, reg=1.0, max_iter=1000, epsilon_scaling=True, newton=True)
    assert hard.converged and hard.n_iter <= newton_only.n_iter + 40


def test_overrelaxed_tail_reaches_plain_fixed_point_in_fewer_iterations():
    # After epsilon-scaling, the tail at reg is linear and slow; moved omega times their steps
    # the potentials reach the same fixed point (the final plain iterations certify err).
    C, a, b = _problem(7, 200, 150)
    reg, kw = 0.002, dict(max_iter=200000, tol=1e-12, epsilon_scaling=True, newton=False)
    ref = sinkhorn(C, a, b, reg=reg, max_iter=200000, tol=1e-12, **PLAIN)
    fast = sinkhorn(C, a, b, reg=reg, overrelaxation=True, **kw)
    slow = sinkhorn(C, a, b, reg=reg, overrelaxation=False, **kw)
    assert ref.converged and fast.converged and slow.converged
    assert 2 * fast.n_iter < slow.n_iter
    np.testing.assert_allclose(fast.plan, ref.plan, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast.plan.sum(1), a, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="balanced"):
        sinkhorn(C, a, b, reg=reg, reg_m=1.0, overrelaxation=True)
    with pytest.raises(ValueError, match="balanced"):
        sinkhorn(C, a, b, reg=reg, mass=0.5, overrelaxation=True)


@pytest.mark.parametrize("method", ["sinkhorn_log", "sinkhorn_stabilized"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_overrelaxed_batch_each_problem_reaches_its_own_fixed_point(method, dtype):
    # One omega for the batch (its worst problem's rate); every problem still ends at its own
    # plain fixed point, and max_iter bounds all parts together.
    rng = np.random.default_rng(13)
    C = (rng.uniform(0, 1, (3, 60, 50)) * np.array([1.0, 2.0, 4.0])[:, None, None]).astype(dtype)
    a = rng.uniform(0.2, 1, (3, 60))
    a /= a.sum(1, keepdims=True)
    tol = 1e-10 if dtype == np.float64 else 1e-6  # float32 costs: err stalls near 1e-8
    kw = dict(reg=0.01, tol=tol, epsilon_scaling=True, newton=False, method=method)
    r = sinkhorn(C, a, None, max_iter=100000, overrelaxation=True, **kw)
    assert r.converged.all()
    atol = 1e-9 if dtype == np.float64 else 1e-6
    for k in range(3):
        ref = sinkhorn(C[k], a[k], None, reg=0.01, max_iter=400000, tol=tol, **PLAIN)
        assert ref.converged
        np.testing.assert_allclose(r.plan[k], ref.plan, rtol=0, atol=atol)
    for max_iter in (3, 45, 70):
        short = sinkhorn(C, a, None, max_iter=max_iter, overrelaxation=True, **kw)
        assert np.all(short.n_iter <= max_iter)


def test_iterations_count_every_stage_and_respect_max_iter():
    C, a, b = _problem(9, 90, 70, scale=100.0)
    reg = 0.01  # 7 Sinkhorn stages: eps = 100, 25, ..., 0.024
    stages = math.ceil(math.log(C.max() / reg) / math.log(4))
    r = sinkhorn(C, a, b, reg=reg, max_iter=100000, epsilon_scaling=True, newton=False)
    assert r.converged and r.n_iter >= stages + 1
    for max_iter in (2, 7, 30, 100):
        for newton in (False, True):
            r = sinkhorn(
                C[:, :20], a, None, reg=reg, max_iter=max_iter, epsilon_scaling=True, newton=newton
            )
            assert 1 <= r.n_iter <= max_iter
    # one iteration leaves no room for stages or Newton: plain Sinkhorn's single iteration
    one = sinkhorn(C, a, b, reg=reg, max_iter=1, epsilon_scaling=True, newton=True)
    plain = sinkhorn(C, a, b, reg=reg, max_iter=1, **PLAIN)
    assert one.n_iter == 1
    np.testing.assert_array_equal(one.plan, plain.plan)


@pytest.mark.parametrize("kw", [dict(reg=0.05), dict(reg=0.001, tol=0.0)])
def test_auto_leaves_easy_problems_and_fixed_counts_alone(kw):
    # max(C) / reg < 100, or tol = 0 (a fixed number of iterations): plain Sinkhorn, bit for bit
    C, a, b = _problem(10, 30, 20)
    auto = sinkhorn(C, a, b, max_iter=300, **kw)
    plain = sinkhorn(C, a, b, max_iter=300, **PLAIN, **kw)
    assert auto.n_iter == plain.n_iter
    np.testing.assert_array_equal(auto.plan, plain.plan)
    np.testing.assert_array_equal(auto.f, plain.f)


def test_batch_mixes_newton_and_sinkhorn_problems():
    # A zero mass keeps a problem out of Newton's method: the batch takes Sinkhorn stages, and
    # the Newton tail for the problems that qualify; each reaches its own fixed point.
    rng = np.random.default_rng(11)
    C = rng.uniform(0, 1, (3, 40, 15))
    a = rng.uniform(0.2, 1, (3, 40))
    a[1, 3] = 0.0
    a /= a.sum(1, keepdims=True)
    r = sinkhorn(C, a, None, reg=0.005, max_iter=50000, tol=1e-12)
    assert r.converged.all()
    for k in range(3):
        ref = sinkhorn(C[k], a[k], None, reg=0.005, max_iter=200000, tol=1e-12, **PLAIN)
        np.testing.assert_allclose(r.plan[k], ref.plan, rtol=0, atol=1e-9)


def test_float32_accelerated_matches_float64():
    C, a, b = _separated_clouds(1)
    r64 = sinkhorn(C, a, b, reg=1.0, mass=0.5)
    r32 = sinkhorn(C.astype(np.float32), a, b, reg=1.0, mass=0.5)
    assert r32.plan.dtype == np.float32 and r32.converged and r64.converged
    np.testing.assert_allclose(r32.plan, r64.plan, rtol=0, atol=1e-5 * r64.plan.max())


def test_warm_start_is_kept_by_auto():
    # A warm start skips the stages ("auto"), which would discard it; Newton still applies.
    C, a, b = _separated_clouds(2)
    r = sinkhorn(C, a, b, reg=1.0)
    again = sinkhorn(C, a, b, reg=1.0, f0=r.f, g0=r.g)
    assert again.converged and again.n_iter <= 2
    np.testing.assert_allclose(again.plan, r.plan, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["epsilon_scaling", "newton", "overrelaxation"])
@pytest.mark.parametrize("value", ["yes", 1, None, 0.5])
def test_bad_switches(name, value):
    C, a, b = _problem(0, 5, 4)
    with pytest.raises(ValueError, match=name):
        sinkhorn(C, a, b, reg=0.1, **{name: value})
