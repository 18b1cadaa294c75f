"""partita.transport.sinkhorn against the NumPy oracle (tests/oracles/transport.py) and POT.

Tolerances: in float64 the compiled kernel and the oracle run the same updates (the kernel's exp
has a relative error below 3e-13), so plans and potentials agree to 1e-12 after a fixed number
of iterations; against POT converged solutions agree to 1e-8 at tol=1e-13.
The oracle tests run both methods: "sinkhorn_log" (an exp per entry and iteration) and
"sinkhorn_stabilized" (stored kernel, absorption), which run the same iterates up to rounding.
"""

import math

import numpy as np
import pytest

from partita import transport
from partita.transport import equipartition, sinkhorn

from oracles.transport import extend_partial, plan_of, sinkhorn_log

ot = pytest.importorskip("ot")

METHODS = ["sinkhorn_log", "sinkhorn_stabilized"]


def _problem(seed, n=30, m=20, scale=1.0):
    rng = np.random.default_rng(seed)
    C = rng.uniform(0, scale, (n, m))
    a = rng.uniform(0.2, 1, n)
    b = rng.uniform(0.2, 1, m)
    return C, a / a.sum(), b / b.sum()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("iters", [1, 2, 9])
@pytest.mark.parametrize("seed", [0, 1])
def test_fixed_iterations_equal_oracle(seed, iters, method):
    C, a, b = _problem(seed)
    r = sinkhorn(C, a, b, reg=0.05, max_iter=iters, tol=0, method=method)
    f, g, n_iter, err, _ = sinkhorn_log(C, a, b, 0.05, max_iter=iters, tol=0)
    assert r.n_iter == n_iter == iters
    np.testing.assert_allclose(r.f, f, atol=1e-12)
    np.testing.assert_allclose(r.g, g, atol=1e-12)
    np.testing.assert_allclose(r.err, err, rtol=1e-9)
    np.testing.assert_allclose(r.plan, plan_of(C, a, b, f, g, 0.05), atol=1e-13)


def test_stopping_rule_equals_oracle():
    C, a, b = _problem(3)
    r = sinkhorn(C, a, b, reg=0.05, tol=1e-10)
    f, g, n_iter, err, conv = sinkhorn_log(C, a, b, 0.05, tol=1e-10)
    assert r.converged and conv and r.n_iter == n_iter
    assert r.err < 1e-10
    # rows exact, columns within err
    np.testing.assert_allclose(r.plan.sum(1), a, atol=1e-14)
    assert np.abs(r.plan.sum(0) - b).sum() <= 1e-10 * 1.0001


@pytest.mark.filterwarnings("ignore:Sinkhorn did not converge")
def test_equals_pot_sinkhorn_log_iterates():
    # POT starts from log-scalings u = v = 0, i.e. f0 = -reg log a; its log_u = log a + f / reg.
    C, a, b = _problem(4, 40, 25)
    reg = 0.03
    P, log = ot.sinkhorn(a, b, C, reg, method="sinkhorn_log", numItermax=17, stopThr=0, log=True)
    r = sinkhorn(C, a, b, reg=reg, max_iter=17, tol=0, f0=-reg * np.log(a))
    np.testing.assert_allclose(r.plan, P, atol=1e-12)
    np.testing.assert_allclose(r.f, reg * (log["log_u"] - np.log(a)), atol=1e-12)
    np.testing.assert_allclose(r.g, reg * (log["log_v"] - np.log(b)), atol=1e-12)


@pytest.mark.parametrize("seed", [5, 6])
def test_equals_pot_sinkhorn_log_converged(seed):
    C, a, b = _problem(seed, 50, 35)
    P = ot.sinkhorn(a, b, C, 0.02, method="sinkhorn_log", numItermax=20000, stopThr=1e-15)
    r = sinkhorn(C, a, b, reg=0.02, tol=1e-13, max_iter=20000)
    assert r.converged
    np.testing.assert_allclose(r.plan, P, atol=1e-8, rtol=0)
    assert abs((r.plan * C).sum() - (P * C).sum()) < 1e-10


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("reg_m", [0.5, (0.2, 2.0), (np.inf, 0.3), (0.7, np.inf)])
def test_equals_pot_unbalanced(reg_m, method):
    C, a, b = _problem(7, 30, 22)
    a = 1.4 * a  # unequal masses
    Pu = ot.unbalanced.sinkhorn_unbalanced(a, b, C, 0.05, reg_m, numItermax=100000, stopThr=1e-15)
    r = sinkhorn(C, a, b, reg=0.05, reg_m=reg_m, tol=1e-13, max_iter=100000, method=method)
    assert r.converged
    np.testing.assert_allclose(r.plan, Pu, atol=1e-8, rtol=0)
    ra, rb = (reg_m, reg_m) if np.isscalar(reg_m) else reg_m
    f, g, n_iter, _, _ = sinkhorn_log(C, a, b, 0.05, ra, rb, tol=1e-13, max_iter=100000)
    assert n_iter == r.n_iter
    np.testing.assert_allclose(r.f, f, atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_partial_equals_extended_oracle(method):
    C, a, b = _problem(8, 25, 18)
    r = sinkhorn(C, a, b, reg=0.05, mass=0.6, tol=1e-12, max_iter=100000, method=method)
    Ce, ae, be, n, m = extend_partial(C, a, b, 0.6)
    f, g, n_iter, _, _ = sinkhorn_log(Ce, ae, be, 0.05, tol=1e-12, max_iter=100000)
    assert r.converged and n_iter == r.n_iter
    np.testing.assert_allclose(r.plan, plan_of(Ce, ae, be, f, g, 0.05)[:n, :m], atol=2e-13)
    np.testing.assert_allclose(r.plan.sum(), 0.6, atol=1e-11)
    assert np.all(r.plan.sum(1) <= a + 1e-12) and np.all(r.plan.sum(0) <= b + 1e-11)


def test_partial_tends_to_exact_partial_ot():
    # Entropic bias: <C, P_reg> - <C, P*> <= reg (log n + log m) for KL(P | a b^T) against the
    # product of the (extended) marginals; random costs have a unique LP solution, which the
    # entropic plans approach as reg -> 0.
    C, a, b = _problem(9, 12, 9)
    P0 = ot.partial.partial_wasserstein(a, b, C, m=0.5)
    cost0 = (P0 * C).sum()
    gaps, dists = [], []
    for reg in (1e-2, 1e-3):
        r = sinkhorn(C, a, b, reg=reg, mass=0.5, tol=1e-11, max_iter=300000)
        gap = (r.plan * C).sum() - cost0
        assert -1e-12 <= gap <= reg * np.log(13 * 10)
        gaps.append(gap)
        dists.append(np.abs(r.plan - P0).sum())
    assert gaps[1] < gaps[0] and dists[1] < dists[0]
    assert dists[1] < 0.05


@pytest.mark.parametrize("method", METHODS)
def test_batched_equals_loop_and_per_problem_stopping(method):
    rng = np.random.default_rng(10)
    n, m = 40, 30
    # easy problems (large reg) and hard ones (small reg relative to costs) in one batch
    C = np.stack([rng.uniform(0, s, (n, m)) for s in (0.05, 3.0, 0.05, 3.0, 1.0)])
    a = rng.uniform(0.5, 1, (5, n))
    a /= a.sum(1, keepdims=True)
    r = sinkhorn(C, a, None, reg=0.05, tol=1e-10, max_iter=5000, method=method)
    assert r.plan.shape == (5, n, m) and r.f.shape == (5, n) and r.n_iter.shape == (5,)
    assert r.converged.all()
    assert r.n_iter[0] < r.n_iter[1] and r.n_iter[2] < r.n_iter[3]
    for k in range(5):
        s = sinkhorn(C[k], a[k], None, reg=0.05, tol=1e-10, max_iter=5000, method=method)
        assert s.n_iter == r.n_iter[k]
        np.testing.assert_array_equal(s.plan, r.plan[k])
        np.testing.assert_array_equal(s.f, r.f[k])
        assert s.err == r.err[k]


def test_warm_start_reduces_iterations_same_answer():
    C, a, b = _problem(11, 60, 40, scale=2.0)
    cold = sinkhorn(C, a, b, reg=0.02, tol=1e-11, max_iter=20000)
    C2 = C + np.random.default_rng(0).uniform(0, 1e-6, C.shape)
    ref = sinkhorn(C2, a, b, reg=0.02, tol=1e-11, max_iter=20000)
    warm = sinkhorn(C2, a, b, reg=0.02, tol=1e-11, max_iter=20000, f0=cold.f, g0=cold.g)
    assert warm.converged and warm.n_iter < 0.75 * ref.n_iter
    np.testing.assert_allclose(warm.plan, ref.plan, atol=1e-10)
    again = sinkhorn(C, a, b, reg=0.02, tol=1e-11, f0=cold.f, g0=cold.g)
    assert again.n_iter <= 1


@pytest.mark.parametrize("method", METHODS)
def test_tiny_reg_stays_finite_where_pot_multiplicative_fails(method):
    rng = np.random.default_rng(12)
    C = rng.uniform(0, 100, (60, 50))
    r = sinkhorn(C, reg=1e-4, max_iter=200, method=method)
    assert np.all(np.isfinite(r.plan)) and np.all(np.isfinite(r.f)) and np.all(np.isfinite(r.g))
    np.testing.assert_allclose(r.plan.sum(1), 1 / 60, rtol=1e-9)
    with pytest.warns(UserWarning, match="below the precision of the costs in float32"):
        r32 = sinkhorn(C.astype(np.float32), reg=1e-4, max_iter=200, method=method)
    assert np.all(np.isfinite(r32.plan)) and np.all(np.isfinite(r32.f))
    ru = sinkhorn(C, reg=1e-4, reg_m=1.0, max_iter=200, method=method)
    assert np.all(np.isfinite(ru.plan))
    with np.errstate(all="ignore"), pytest.warns(UserWarning):
        P = ot.sinkhorn(np.full(60, 1 / 60), np.full(50, 1 / 50), C, 1e-4, numItermax=200)
    assert not (np.all(np.isfinite(P)) and abs(P.sum() - 1) < 1e-3)


@pytest.mark.parametrize("method", METHODS)
def test_float32_close_to_float64(method):
    C, a, b = _problem(13, 50, 30)
    r64 = sinkhorn(C, a, b, reg=0.05, tol=1e-6)
    r32 = sinkhorn(C.astype(np.float32), a, b, reg=0.05, tol=1e-6, method=method)
    assert r32.plan.dtype == np.float32 and r32.f.dtype == np.float64
    assert r32.converged
    np.testing.assert_allclose(r32.plan, r64.plan, rtol=2e-4, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_n_jobs_does_not_change_result(method):
    rng = np.random.default_rng(14)
    C = rng.uniform(0, 1, (3, 2500, 40))  # several row chunks per problem
    r1 = sinkhorn(C, reg=0.01, tol=1e-9, n_jobs=1, method=method)
    r2 = sinkhorn(C, reg=0.01, tol=1e-9, n_jobs=2, method=method)
    np.testing.assert_array_equal(r1.plan, r2.plan)
    np.testing.assert_array_equal(r1.f, r2.f)
    np.testing.assert_array_equal(r1.n_iter, r2.n_iter)
    u1 = sinkhorn(C[0].astype(np.float32), reg=0.01, reg_m=0.5, tol=1e-7, n_jobs=1, method=method)
    u2 = sinkhorn(C[0].astype(np.float32), reg=0.01, reg_m=0.5, tol=1e-7, n_jobs=2, method=method)
    np.testing.assert_array_equal(u1.plan, u2.plan)


@pytest.mark.filterwarnings("ignore:divide by zero")
@pytest.mark.parametrize("method", METHODS)
def test_zero_weights(method):
    C, a, b = _problem(15, 20, 10)
    a[3] = 0.0
    a /= a.sum()
    r = sinkhorn(C, a, b, reg=0.05, tol=1e-12, method=method)
    P = ot.sinkhorn(a, b, C, 0.05, method="sinkhorn_log", numItermax=10000, stopThr=1e-15)
    assert np.all(r.plan[3] == 0)
    np.testing.assert_allclose(r.plan, P, atol=1e-9)


def test_equipartition_reproduces_swav():
    rng = np.random.default_rng(16)
    scores = rng.normal(size=(64, 10))

    def swav(out, eps=0.05, iters=3):  # SwAV's distributed_sinkhorn on one device
        Q = np.exp(out / eps).T
        Q /= Q.sum()
        K, Bn = Q.shape
        for _ in range(iters):
            Q /= Q.sum(axis=1, keepdims=True)
            Q /= K
            Q /= Q.sum(axis=0, keepdims=True)
            Q /= Bn
        return (Q * Bn).T

    Q = equipartition(scores)
    np.testing.assert_allclose(Q, swav(scores), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(Q.sum(1), 1.0, rtol=1e-12)
    # a small reg relative to the scores overflows exp(scores / reg) but not the log domain
    big = scores * 100
    Qs = equipartition(big, reg=0.05, n_iter=50)
    assert np.all(np.isfinite(Qs))
    np.testing.assert_allclose(Qs.sum(1), 1.0, rtol=1e-11)
    C = big.max() - big
    u = np.full(64, 1 / 64)
    f, g, _, _, _ = sinkhorn_log(C, u, np.full(10, 0.1), 0.05, max_iter=50, tol=0)
    np.testing.assert_allclose(Qs, 64 * plan_of(C, u, np.full(10, 0.1), f, g, 0.05), atol=1e-10)


# ---- the stabilised method against the log domain --------------------------------------------


def _run(C, a, b, method, *, reg, reg_m=None, mass=None, max_iter, tol=0.0, f0=None, g0=None):
    """transport._solve on a single problem or a batch; returns (f, g, report, plan)."""
    C3 = C if C.ndim == 3 else C[None]
    B, n, m = C3.shape
    A = transport._check_marginal(a, B, n, "a", C.ndim == 3)
    Bm = transport._check_marginal(b, B, m, "b", C.ndim == 3)
    f = transport._check_potential(f0, B, n, "f0", C.ndim == 3)
    g = transport._check_potential(g0, B, m, "g0", C.ndim == 3)
    f, g, _, _, rep, plan, _ = transport._solve(
        np.ascontiguousarray(C3),
        A,
        Bm,
        reg,
        transport._check_reg_m(reg_m),
        mass,
        max_iter,
        tol,
        f,
        g,
        2,
        method=method,
        return_plan=True,
    )
    return f, g, rep, plan


STABILISED_CASES = {
    # name: (costs, reg, extra arguments); every case must run mostly without exp
    "balanced": (dict(scale=1.0), 0.02, {}),
    "tiny reg, costs to 100": (dict(scale=100.0), 1e-4, {}),
    "relaxed both": (dict(scale=1.0), 0.01, dict(reg_m=0.3)),
    "semi-relaxed columns": (dict(scale=1.0), 0.01, dict(reg_m=(math.inf, 0.5))),
    "partial": (dict(scale=1.0), 0.01, dict(mass=0.5)),
    "partial, outlier rows": (dict(scale=1.0, outliers=50.0), 0.05, dict(mass=0.5)),
    "P2OT, outlier rows": (
        dict(scale=1.0, outliers=50.0),
        0.05,
        dict(mass=0.5, reg_m=(math.inf, 1.0)),
    ),
    "warm start far away": (dict(scale=1.0), 0.01, dict(f0=1.0, g0=-3.0)),
}


@pytest.mark.parametrize("case", list(STABILISED_CASES))
def test_stabilised_equals_log_domain(case):
    costs, reg, extra = STABILISED_CASES[case]
    rng = np.random.default_rng(17)
    n, m = 70, 45  # m not a multiple of the vector width
    C = rng.uniform(0, costs["scale"], (n, m))
    if "outliers" in costs:
        C[:6] += costs["outliers"]  # rows that go (almost) entirely to the virtual column
    a = rng.uniform(0.2, 1, n)
    a /= a.sum()
    b = rng.uniform(0.2, 1, m)
    b /= b.sum()
    kw = dict(extra)
    for name, shape in (("f0", n), ("g0", m)):
        if name in kw:
            kw[name] = kw[name] * rng.uniform(0, 1, shape) / reg * 1e-3
    iters = 300
    f0, g0, r0, P0 = _run(C, a, b, "sinkhorn_log", reg=reg, max_iter=iters, **kw)
    f1, g1, r1, P1 = _run(C, a, b, "sinkhorn_stabilized", reg=reg, max_iter=iters, **kw)
    assert r0.n_log_sweeps[0] == iters
    assert r1.n_log_sweeps[0] <= iters // 10  # the kernel is stored and used
    assert np.all(np.isfinite(P1))
    np.testing.assert_allclose(P1, P0, rtol=0, atol=1e-10 * P0.max())
    # potentials in units of reg (up to 1e5 here): rounding of the exponents is relative
    np.testing.assert_allclose(f1 / reg, f0 / reg, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(g1 / reg, g0 / reg, rtol=1e-12, atol=1e-9)


def test_stabilised_keeps_zero_weight_problems_in_the_log_domain():
    C, a, b = _problem(18, 20, 12)
    b[2] = 0.0
    _, _, rep, _ = _run(C, a, b * (a.sum() / b.sum()), "sinkhorn_stabilized", reg=0.05, max_iter=20)
    assert rep.n_log_sweeps[0] == 20


def test_stabilised_batch_absorbs_per_problem():
    # A problem whose scalings drift absorbs on its own; the others keep their kernels.
    rng = np.random.default_rng(19)
    C = np.stack([rng.uniform(0, s, (50, 40)) for s in (1.0, 100.0, 1.0)])
    f0, g0, r0, P0 = _run(C, None, None, "sinkhorn_log", reg=1e-3, max_iter=400)
    f1, g1, r1, P1 = _run(C, None, None, "sinkhorn_stabilized", reg=1e-3, max_iter=400)
    assert r1.n_log_sweeps[0] == 1 and r1.n_log_sweeps[2] == 1
    assert r1.n_log_sweeps[1] > 1
    for k in range(3):
        np.testing.assert_allclose(P1[k], P0[k], rtol=0, atol=1e-10 * P0[k].max())
        np.testing.assert_allclose(f1[k], f0[k], rtol=0, atol=1e-9 * 1e-3)


def test_return_plan_false_same_potentials():
    C, a, b = _problem(20, 64, 33)
    with_plan = sinkhorn(C, a, b, reg=0.01, tol=1e-10)
    without = sinkhorn(C, a, b, reg=0.01, tol=1e-10, return_plan=False)
    assert without.plan is None and without.n_iter == with_plan.n_iter
    np.testing.assert_array_equal(without.f, with_plan.f)
    np.testing.assert_array_equal(without.g, with_plan.g)


@pytest.mark.parametrize("dtype, reg, iters", [(np.float32, 3e-4, 20), (np.float64, 3e-5, 200)])
def test_stabilised_plan_keeps_tiny_entries(dtype, reg, iters):
    # Partial transport where the virtual column takes almost everything: the real plan entries
    # underflowed when the kernel was stored, but the final potentials lift them into range.
    # The plan is built from the potentials, entry by entry as in the log domain.
    rng = np.random.default_rng(1)
    C = rng.uniform(0, 1, (17, 1)).astype(dtype)
    a = rng.uniform(0.2, 1, 17)
    a /= a.sum()
    kw = dict(reg=reg, mass=0.6, max_iter=iters, tol=0)
    lg = sinkhorn(C, a, np.ones(1), method="sinkhorn_log", **kw)
    st = sinkhorn(C, a, np.ones(1), method="sinkhorn_stabilized", **kw)
    assert lg.plan.max() > 0
    np.testing.assert_allclose(st.plan, lg.plan, rtol=1e-6 if dtype == np.float32 else 1e-9)


def test_float32_plan_never_inf():
    # Costs / reg ~ 1e10 in float32 is beyond any precision, but the plan must stay finite.
    C = np.random.default_rng(21).uniform(0, 1e4, (20, 15)).astype(np.float32)
    for method in METHODS:
        with pytest.warns(UserWarning, match="use float64 costs"):
            r = sinkhorn(C, reg=1e-6, max_iter=50, tol=0, method=method)
        assert np.all(np.isfinite(r.plan)) and np.all(np.isfinite(r.f))


def test_warns_when_reg_is_below_the_precision_of_the_costs():
    # max(C) eps / reg > 1%: the plan entries are not meaningful, although err may be small.
    C = np.random.default_rng(22).uniform(0, 1, (6, 5))
    with pytest.warns(UserWarning, match="rounding error of about"):
        sinkhorn(C, reg=1e-16, max_iter=5)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sinkhorn(100 * C, reg=1e-4, max_iter=5)  # 2e-10: fine in float64
