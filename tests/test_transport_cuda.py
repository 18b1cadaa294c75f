"""The optimal-transport GPU kernels (partita._cuda.transport) against the CPU solver and NumPy,
on the CPU emulator under its three thread schedules and on a real GPU when there is one."""

import numpy as np
import pytest
from cuda_backends import CUDA_BACKENDS, EMULATED_BACKENDS
from scipy.special import logsumexp

from partita.transport import sinkhorn


def numpy_row_sweep(C, log_a, log_b, g, eps):
    C = np.asarray(C, dtype=np.float64)
    la = 0.0 if log_a is None else log_a
    lb = 0.0 if log_b is None else log_b[:, None, :]
    return eps * (la - logsumexp(lb + (g[:, None, :] - C) / eps, axis=2))


def problem(B, n, m, dtype, seed):
    rng = np.random.default_rng(seed)
    C = rng.random((B, n, m)).astype(dtype)
    a = rng.random((B, n)) + 0.1
    b = rng.random((B, m)) + 0.1
    return C, a / a.sum(1, keepdims=True), b / b.sum(1, keepdims=True), rng.normal(size=(B, m))


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("B, n, m", [(1, 1, 1), (1, 9, 31), (2, 17, 33), (3, 40, 100)])
@pytest.mark.parametrize("eps", [1.0, 0.05])
def test_row_sweep_matches_numpy(backend, dtype, B, n, m, eps):
    mod = backend.module()
    C, a, b, g = problem(B, n, m, dtype, seed=n * m)
    log_a, log_b = np.log(a), np.log(b)
    for la, lb in [(None, None), (log_a, log_b), (None, log_b)]:
        f = mod.transport.row_sweep(C, la, lb, g, eps)
        assert f.shape == (B, n) and f.dtype == np.float64
        np.testing.assert_allclose(f, numpy_row_sweep(C, la, lb, g, eps), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_sweep_reproduces_the_cpu_solvers_potentials(backend, dtype):
    # The CPU solver returns f computed from the g it returns: f_i = -eps LSE_j(log b_j +
    # (g_j - C_ij) / eps), the sweep with log_a = 0. The CPU's float32 path takes its
    # exponentials in float32 (relative error ~1e-7 per term); the sweep's are all float64.
    mod = backend.module()
    C, a, b, _ = problem(1, 30, 45, dtype, seed=5)
    eps = 0.1
    r = sinkhorn(C[0], a[0], b[0], reg=eps, tol=1e-10, max_iter=5000)
    f = mod.transport.row_sweep(C, None, np.log(b), r.g[None, :], eps)
    tol = 1e-11 if dtype == np.float64 else 1e-6 * eps
    np.testing.assert_allclose(f[0], r.f, rtol=tol, atol=tol)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_row_sweep_handles_zero_marginal_entries(backend):
    # log 0 as -1e30 (as the CPU passes it) and as -inf: those columns drop out of the LSE.
    mod = backend.module()
    C, _, b, g = problem(1, 8, 40, np.float64, seed=1)
    for log0 in (-1e30, -np.inf):
        lb = np.log(b)
        lb[0, ::3] = log0
        f = mod.transport.row_sweep(C, None, lb, g, 0.3)
        keep = np.ones(40, bool)
        keep[::3] = False
        want = numpy_row_sweep(C[:, :, keep], None, lb[:, keep], g[:, keep], 0.3)
        np.testing.assert_allclose(f, want, rtol=1e-12)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_row_sweep_rejects_bad_input(backend):
    mod = backend.module()
    C, _, _, g = problem(2, 5, 6, np.float64, seed=0)
    with pytest.raises(ValueError, match=r"\(B, n, m\)"):
        mod.transport.row_sweep(C[0], None, None, g, 1.0)
    with pytest.raises(ValueError, match="g"):
        mod.transport.row_sweep(C, None, None, g[:, :5], 1.0)
    with pytest.raises(ValueError, match="log_a"):
        mod.transport.row_sweep(C, np.zeros(3), None, g, 1.0)
    with pytest.raises(ValueError, match="eps"):
        mod.transport.row_sweep(C, None, None, g, 0.0)


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[:1])
def test_more_rows_than_a_grid_covers_is_an_error_not_a_partial_sweep(backend):
    # A device array is read in place: a fake one of 2^34 + 1 rows is never touched.
    mod = backend.module()
    n = 2**34 + 1
    C = mod.ArrayRef(8, [1, n, 1], [n, 1, 1], mod.DType.float32, True)
    with pytest.raises(ValueError, match="more rows than one launch"):
        mod.transport.row_sweep(C, None, None, np.zeros((1, 1)), 1.0)


@pytest.mark.parametrize("backend", CUDA_BACKENDS[:1])
def test_ctrl_c_between_launches_raises_keyboard_interrupt(backend):
    # One launch per problem: a SIGINT arriving during the batch stops it at the next launch.
    import os
    import signal
    import threading

    mod = backend.module()
    C = np.random.default_rng(0).random((20000, 4, 32))
    g = np.zeros((20000, 32))
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            mod.transport.row_sweep(C, None, None, g, 1.0)
    finally:
        timer.cancel()


# ---- the batched solver: sinkhorn(..., device="cuda") and what is built on it ---------------


@pytest.fixture
def device(backend, monkeypatch):
    """Makes `backend`'s module the CUDA module partita uses (the emulator stands in for a GPU)."""
    import warnings

    from partita import _backend

    mod = backend.module()
    if backend.emulated:
        monkeypatch.setattr(_backend, "_cuda", mod)
        monkeypatch.setattr(_backend, "cuda_available", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _backend.GPUNotValidatedWarning)
        yield mod


class FakeGPUArray:
    """A NumPy array's memory presented as device memory (as CuPy would present its own), with
    the reductions the validation uses; the emulator's device memory is host memory."""

    def __init__(self, host):
        self.host = host
        self.__cuda_array_interface__ = {
            "shape": host.shape,
            "typestr": host.dtype.str,
            "data": (host.ctypes.data, False),
            "version": 3,
            "strides": host.strides,
            "stream": None,
        }

    def min(self):
        return self.host.min()

    def max(self):
        return self.host.max()


VARIANTS = {
    "balanced": {},
    "relaxed": {"reg_m": 0.7},
    "semi-relaxed": {"reg_m": (np.inf, 0.4)},
    "partial": {"mass": 0.6},
    "partial-relaxed": {"mass": 0.8, "reg_m": (np.inf, 0.5)},
}


def batch(B, n, m, dtype, seed, zero_weights=False):
    C, a, b, _ = problem(B, n, m, dtype, seed)
    if zero_weights:
        a[:, ::4] = 0.0
        b[:, 1::5] = 0.0
        a /= a.sum(1, keepdims=True)
        b /= b.sum(1, keepdims=True)
    return C, a, b


def assert_same_solution(r, want, dtype, plan=True):
    # float32: the CPU takes exponents and exponentials in float32, the device its exponents in
    # float64 (relative differences ~1e-7 per term).
    tol = 1e-10 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(r.f, want.f, rtol=0, atol=tol)
    np.testing.assert_allclose(r.g, want.g, rtol=0, atol=tol)
    if plan:
        np.testing.assert_allclose(r.plan, want.plan, rtol=tol, atol=tol)
    np.testing.assert_array_equal(r.n_iter, want.n_iter)
    np.testing.assert_array_equal(r.converged, want.converged)


# The emulator's three schedules for float64, forward only for float32 (the same code paths):
# keeps the emulated suite short.
SCHEDULES_BY_DTYPE = [
    pytest.param(
        backend.values[0], dtype, id=f"{backend.id}-{np.dtype(dtype).name}", marks=backend.marks
    )
    for backend in CUDA_BACKENDS
    for dtype in (np.float64, np.float32)
    if dtype == np.float64 or backend.id in ("emulated-forward", "cuda")
]


@pytest.mark.parametrize("backend, dtype", SCHEDULES_BY_DTYPE)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_sinkhorn_on_the_device_has_the_cpu_solvers_iterates(backend, device, dtype, variant):
    # A fixed number of iterations (tol=0), then every problem's potentials and plan.
    C, a, b = batch(2, 9, 13, dtype, seed=3)
    kw = dict(reg=0.2, max_iter=6, tol=0.0, **VARIANTS[variant])
    want = sinkhorn(C, a, b, method="sinkhorn_log", **kw)
    r = sinkhorn(C, a, b, device="cuda", **kw)
    assert r.plan.dtype == dtype and r.f.dtype == np.float64
    assert_same_solution(r, want, dtype)
    np.testing.assert_allclose(r.err, want.err, rtol=1e-6 if dtype == np.float64 else 1e-3)


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[::2] + CUDA_BACKENDS[3:])
@pytest.mark.parametrize("variant", ["balanced", "relaxed", "partial"])
def test_every_problem_stops_on_its_own_as_on_the_cpu(backend, device, variant):
    # Three problems of different difficulty (cost scales): each stops at its own iteration,
    # the same as the CPU's, with the same potentials.
    C, a, b = batch(3, 7, 10, np.float64, seed=11)
    C *= np.array([0.2, 1.0, 3.0])[:, None, None]
    kw = dict(reg=0.5, max_iter=300, tol=1e-9, **VARIANTS[variant])
    want = sinkhorn(C, a, b, method="sinkhorn_log", **kw)
    r = sinkhorn(C, a, b, device="cuda", **kw)
    assert len(set(want.n_iter)) == 3 and want.converged.all()
    assert_same_solution(r, want, np.float64)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_a_warm_start_continues_where_the_cpu_would(backend, device):
    C, a, b = batch(1, 6, 8, np.float64, seed=2)
    first = sinkhorn(C, a, b, reg=0.3, max_iter=4, tol=0.0)
    kw = dict(reg=0.3, max_iter=200, tol=1e-10, f0=first.f, g0=first.g)
    want = sinkhorn(C, a, b, method="sinkhorn_log", **kw)
    r = sinkhorn(C, a, b, device="cuda", **kw)
    assert_same_solution(r, want, np.float64)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize(
    "n, m", [(1, 1), (1, 7), (7, 1), (130, 3)], ids=["1x1", "one-row", "one-column", "130-rows"]
)
def test_edge_sizes_and_zero_weights(backend, device, n, m):
    # 130 rows: two row blocks of the sweep, the second partly filled.
    C, a, b = batch(1, n, m, np.float64, seed=n + m, zero_weights=n > 4 and m > 2)
    kw = dict(reg=0.25, max_iter=5, tol=0.0)
    want = sinkhorn(C, a, b, method="sinkhorn_log", **kw)
    r = sinkhorn(C, a, b, device="cuda", **kw)
    assert_same_solution(r, want, np.float64)


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[:1] + CUDA_BACKENDS[3:])
def test_many_columns_take_the_separate_column_pass(backend, device):
    # 3100 columns: the per-column sums no longer fit in a block's shared memory.
    C, a, b = batch(1, 3, 3100, np.float64, seed=4)
    kw = dict(reg=0.1, max_iter=2, tol=0.0)
    want = sinkhorn(C, a, b, method="sinkhorn_log", **kw)
    r = sinkhorn(C, a, b, device="cuda", **kw)
    assert_same_solution(r, want, np.float64)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_a_device_cost_is_read_in_place(backend, device):
    C, a, b = batch(2, 5, 6, np.float64, seed=8)
    want = sinkhorn(C, a, b, reg=0.3, max_iter=5, tol=0.0)
    if backend.emulated:
        r = sinkhorn(FakeGPUArray(C), a, b, reg=0.3, max_iter=5, tol=0.0, device="cuda")
    else:
        cupy = pytest.importorskip("cupy")
        r = sinkhorn(cupy.asarray(C), a, b, reg=0.3, max_iter=5, tol=0.0, device="cuda")
        r = r._replace(plan=cupy.asnumpy(r.plan))
    assert_same_solution(r, want, np.float64)


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[:1])
def test_the_plan_is_written_into_a_device_array(backend, device):
    C, a, b = batch(1, 4, 5, np.float64, seed=1)
    want = sinkhorn(C, a, b, reg=0.3, max_iter=3, tol=0.0)
    plan = np.full_like(C, np.nan)
    p = device.transport.SinkhornParams()
    p.eps, p.max_iter, p.tol = 0.3, 3, 0.0
    out = device.ArrayRef(plan.ctypes.data, [1, 4, 5], [20, 5, 1], device.DType.float64, True)
    r = device.transport.sinkhorn(
        C, None, np.log(a).ravel(), np.log(b).ravel(), None, None,
        np.zeros(4), np.zeros(5), np.zeros(1), np.zeros(1), p, out,
    )  # fmt: skip
    np.testing.assert_allclose(plan, want.plan, rtol=1e-12)
    np.testing.assert_allclose(r.f, want.f[0], atol=1e-12)


@pytest.mark.parametrize("backend, dtype", SCHEDULES_BY_DTYPE)
@pytest.mark.parametrize("variant", ["balanced", "relaxed", "partial"])
def test_point_clouds_give_the_stored_costs_solution(backend, device, dtype, variant):
    from partita.transport import sinkhorn_points

    rng = np.random.default_rng(5)
    X, Y = rng.random((2, 11, 3)).astype(dtype), rng.random((2, 7, 3)).astype(dtype)
    _, a, b = batch(2, 11, 7, np.float64, seed=6)
    kw = dict(reg=0.1, max_iter=5, tol=0.0, return_plan=True, **VARIANTS[variant])
    C = ((X[:, :, None, :].astype(np.float64) - Y[:, None, :, :]) ** 2).sum(-1)
    want = sinkhorn(C, a, b, method="sinkhorn_log", **kw)
    r = sinkhorn_points(X, Y, a, b, device="cuda", **kw)
    assert r.plan.dtype == dtype
    assert_same_solution(r, want, dtype)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_point_clouds_of_more_than_a_tile(backend, device):
    # 300 and 260 points: two tiles of the other side, the second partly filled; one problem.
    from partita.transport import sinkhorn_points

    rng = np.random.default_rng(9)
    X, Y = rng.random((300, 2)), rng.random((260, 2))
    r = sinkhorn_points(X, Y, reg=0.05, max_iter=3, tol=0.0, device="cuda")
    want = sinkhorn_points(X, Y, reg=0.05, max_iter=3, tol=0.0)
    assert r.plan is None and r.f.shape == (300,)
    assert_same_solution(r, want, np.float64, plan=False)


@pytest.mark.parametrize("backend, dtype", SCHEDULES_BY_DTYPE)
def test_equipartition_on_the_device(backend, device, dtype):
    from partita.transport import equipartition

    S = np.random.default_rng(3).normal(size=(2, 12, 5)).astype(dtype)
    Q = equipartition(S, device="cuda")
    want = equipartition(S)
    assert Q.dtype == dtype and Q.shape == S.shape
    np.testing.assert_allclose(Q, want, rtol=1e-10 if dtype == np.float64 else 1e-4)


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[:1] + CUDA_BACKENDS[3:])
@pytest.mark.parametrize("params", [{}, {"mass": 0.8}, {"reg_m": 1.0}], ids=str)
def test_sinkhorn_kmeans_on_the_device(backend, device, params):
    # The device solves every assignment by Sinkhorn (the CPU by Newton's method for few
    # clusters): the same fixed points to the assignment tolerance, so the same clustering.
    from sklearn.datasets import make_blobs

    from partita import SinkhornKMeans

    X, _ = make_blobs(40, centers=3, cluster_std=2.0, random_state=0)
    kw = dict(n_clusters=3, reg=1.0, random_state=0, max_iter=10, tol=1e-3, **params)
    cpu = SinkhornKMeans(**kw).fit(X)
    gpu = SinkhornKMeans(device="cuda", **kw).fit(X)
    np.testing.assert_array_equal(gpu.labels_, cpu.labels_)
    np.testing.assert_allclose(gpu.cluster_centers_, cpu.cluster_centers_, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gpu.cluster_sizes_, cpu.cluster_sizes_, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(gpu.predict(X), gpu.labels_)


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[:1] + CUDA_BACKENDS[3:])
@pytest.mark.parametrize("variant", ["balanced", "relaxed"])
def test_reg_below_the_costs_precision_warns_and_reports_as_on_the_cpu(backend, device, variant):
    # float32 costs up to 1e4 with reg 1e-2: the exponents carry ~0.06 of rounding (so the two
    # plans differ by about that). Balanced: err becomes the plan's own marginal violation;
    # relaxed: never converged.
    C, a, b = batch(1, 5, 6, np.float32, seed=12)
    C = C * np.float32(1e4)
    kw = dict(reg=1e-2, max_iter=3, tol=1e-3, **VARIANTS[variant])
    with pytest.warns(UserWarning, match="below the precision"):
        want = sinkhorn(C, a, b, method="sinkhorn_log", **kw)
    with pytest.warns(UserWarning, match="below the precision"):
        r = sinkhorn(C, a, b, device="cuda", **kw)
    np.testing.assert_array_equal(r.converged, want.converged)
    if variant == "balanced":  # the violation of the plan as returned (not the CPU's plan's)
        P = r.plan[0].astype(np.float64)
        own = np.abs(P.sum(1) - a[0]).sum() + np.abs(P.sum(0) - b[0]).sum()
        np.testing.assert_allclose(r.err, own, rtol=1e-6)
    else:
        assert not r.converged and not want.converged


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[:1])
def test_device_input_is_validated(backend, device):
    from partita.transport import sinkhorn_points

    C, a, b = batch(1, 3, 4, np.float64, seed=0)
    with pytest.raises(ValueError, match="sinkhorn_stabilized"):
        sinkhorn(C[0], reg=1.0, method="sinkhorn_stabilized", device="cuda")
    bad = C.copy()
    bad[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sinkhorn(FakeGPUArray(bad), reg=1.0, device="cuda")
    with pytest.raises(ValueError, match="non-negative"):
        sinkhorn(FakeGPUArray(C - 1.0), reg=1.0, device="cuda")
    with pytest.raises(ValueError, match="float32 or float64"):
        sinkhorn(FakeGPUArray(np.ones((2, 2), np.int32)), reg=1.0, device="cuda")
    with pytest.raises(ValueError, match="at most 16"):
        sinkhorn_points(np.ones((2, 17)), np.ones((3, 17)), reg=1.0, device="cuda")
    with pytest.raises(ValueError, match="sum"):
        sinkhorn(C[0], a[0], 2 * b[0], reg=1.0, device="cuda")


def test_sinkhorn_kmeans_on_cuda_without_a_gpu_is_an_error():
    from partita import SinkhornKMeans, _backend

    if _backend.cuda_available():
        pytest.skip("a GPU is usable here")
    X = np.random.RandomState(0).rand(20, 2)
    with pytest.raises(ValueError, match="device='cuda'"):
        SinkhornKMeans(2, device="cuda").fit(X)
    with pytest.raises(ValueError, match="device='cuda'"):
        sinkhorn(np.ones((2, 2)), reg=1.0, device="cuda")
