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
