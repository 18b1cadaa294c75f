"""partita.transport.sinkhorn against the NumPy oracle (tests/oracles/sinkhorn.py) and POT.

Tolerances: in float64 the compiled kernel and the oracle run the same updates (the kernel's exp
has a relative error below 3e-13), so plans and potentials agree to 1e-12 after a fixed number
of iterations; against POT converged solutions agree to 1e-8 (the brief's bound) at tol=1e-13.
"""
import numpy as np
import pytest

from partita.transport import equipartition, sinkhorn

try:
    from tests.oracles.sinkhorn import extend_partial, plan_of, sinkhorn_log
except ImportError:  # run from inside tests/
    from oracles.sinkhorn import extend_partial, plan_of, sinkhorn_log

ot = pytest.importorskip("ot")


def _problem(seed, n=30, m=20, scale=1.0):
    rng = np.random.default_rng(seed)
    C = rng.uniform(0, scale, (n, m))
    a = rng.uniform(0.2, 1, n)
    b = rng.uniform(0.2, 1, m)
    return C, a / a.sum(), b / b.sum()


@pytest.mark.parametrize("iters", [1, 2, 9])
@pytest.mark.parametrize("seed", [0, 1])
def test_fixed_iterations_equal_oracle(seed, iters):
    C, a, b = _problem(seed)
    r = sinkhorn(C, a, b, reg=0.05, max_iter=iters, tol=0)
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
    P, log = ot.sinkhorn(a, b, C, reg, method="sinkhorn_log", numItermax=17, stopThr=0,
                         log=True)
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


@pytest.mark.parametrize("reg_m", [0.5, (0.2, 2.0), (np.inf, 0.3), (0.7, np.inf)])
def test_equals_pot_unbalanced(reg_m):
    C, a, b = _problem(7, 30, 22)
    a = 1.4 * a  # unequal masses
    Pu = ot.unbalanced.sinkhorn_unbalanced(a, b, C, 0.05, reg_m, numItermax=100000,
                                           stopThr=1e-15)
    r = sinkhorn(C, a, b, reg=0.05, reg_m=reg_m, tol=1e-13, max_iter=100000)
    assert r.converged
    np.testing.assert_allclose(r.plan, Pu, atol=1e-8, rtol=0)
    ra, rb = (reg_m, reg_m) if np.isscalar(reg_m) else reg_m
    f, g, n_iter, _, _ = sinkhorn_log(C, a, b, 0.05, ra, rb, tol=1e-13, max_iter=100000)
    assert n_iter == r.n_iter
    np.testing.assert_allclose(r.f, f, atol=1e-10)


def test_partial_equals_extended_oracle():
    C, a, b = _problem(8, 25, 18)
    r = sinkhorn(C, a, b, reg=0.05, mass=0.6, tol=1e-12, max_iter=100000)
    Ce, ae, be, n, m = extend_partial(C, a, b, 0.6)
    f, g, n_iter, _, _ = sinkhorn_log(Ce, ae, be, 0.05, tol=1e-12, max_iter=100000)
    assert r.converged and n_iter == r.n_iter
    np.testing.assert_allclose(r.plan, plan_of(Ce, ae, be, f, g, 0.05)[:n, :m], atol=1e-13)
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


def test_batched_equals_loop_and_per_problem_stopping():
    rng = np.random.default_rng(10)
    n, m = 40, 30
    # easy problems (large reg) and hard ones (small reg relative to costs) in one batch
    C = np.stack([rng.uniform(0, s, (n, m)) for s in (0.05, 3.0, 0.05, 3.0, 1.0)])
    a = rng.uniform(0.5, 1, (5, n))
    a /= a.sum(1, keepdims=True)
    r = sinkhorn(C, a, None, reg=0.05, tol=1e-10, max_iter=5000)
    assert r.plan.shape == (5, n, m) and r.f.shape == (5, n) and r.n_iter.shape == (5,)
    assert r.converged.all()
    assert r.n_iter[0] < r.n_iter[1] and r.n_iter[2] < r.n_iter[3]
    for k in range(5):
        s = sinkhorn(C[k], a[k], None, reg=0.05, tol=1e-10, max_iter=5000)
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


def test_tiny_reg_stays_finite_where_pot_multiplicative_fails():
    rng = np.random.default_rng(12)
    C = rng.uniform(0, 100, (60, 50))
    r = sinkhorn(C, reg=1e-4, max_iter=200)
    assert np.all(np.isfinite(r.plan)) and np.all(np.isfinite(r.f)) and np.all(np.isfinite(r.g))
    np.testing.assert_allclose(r.plan.sum(1), 1 / 60, rtol=1e-9)
    r32 = sinkhorn(C.astype(np.float32), reg=1e-4, max_iter=200)
    assert np.all(np.isfinite(r32.plan)) and np.all(np.isfinite(r32.f))
    ru = sinkhorn(C, reg=1e-4, reg_m=1.0, max_iter=200)
    assert np.all(np.isfinite(ru.plan))
    with np.errstate(all="ignore"), pytest.warns(UserWarning):
        P = ot.sinkhorn(np.full(60, 1 / 60), np.full(50, 1 / 50), C, 1e-4, numItermax=200)
    assert not (np.all(np.isfinite(P)) and abs(P.sum() - 1) < 1e-3)


def test_float32_close_to_float64():
    C, a, b = _problem(13, 50, 30)
    r64 = sinkhorn(C, a, b, reg=0.05, tol=1e-6)
    r32 = sinkhorn(C.astype(np.float32), a, b, reg=0.05, tol=1e-6)
    assert r32.plan.dtype == np.float32 and r32.f.dtype == np.float64
    assert r32.converged
    np.testing.assert_allclose(r32.plan, r64.plan, rtol=2e-4, atol=1e-9)


def test_n_jobs_does_not_change_result():
    rng = np.random.default_rng(14)
    C = rng.uniform(0, 1, (3, 2500, 40))  # several row chunks per problem
    r1 = sinkhorn(C, reg=0.01, tol=1e-9, n_jobs=1)
    r2 = sinkhorn(C, reg=0.01, tol=1e-9, n_jobs=2)
    np.testing.assert_array_equal(r1.plan, r2.plan)
    np.testing.assert_array_equal(r1.f, r2.f)
    np.testing.assert_array_equal(r1.n_iter, r2.n_iter)
    u1 = sinkhorn(C[0].astype(np.float32), reg=0.01, reg_m=0.5, tol=1e-7, n_jobs=1)
    u2 = sinkhorn(C[0].astype(np.float32), reg=0.01, reg_m=0.5, tol=1e-7, n_jobs=2)
    np.testing.assert_array_equal(u1.plan, u2.plan)


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_zero_weights():
    C, a, b = _problem(15, 20, 10)
    a[3] = 0.0
    a /= a.sum()
    r = sinkhorn(C, a, b, reg=0.05, tol=1e-12)
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
