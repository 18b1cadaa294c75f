"""The kernel k-means GPU kernels (partita._cuda.kernel_kmeans) and KernelKMeans(device="cuda")
against the CPU kernels (partita._core.kernel_kmeans) on the same input, on the CPU emulator
under its three thread schedules and on a real GPU when there is one."""

import warnings

import numpy as np
import pytest
from cuda_backends import CUDA_BACKENDS

from partita import KernelKMeans, _backend, _core

_cpu = _core.kernel_kmeans
KERNELS = ["linear", "rbf", "polynomial", "sigmoid", "laplacian"]
# Entries computed with the device's own pow / tanh: on a GPU they may differ in the last bit.
LIBM_KERNELS = {"polynomial", "sigmoid"}

# The emulator's three schedules for float64, forward only for float32 (the same code paths).
SCHEDULES_BY_DTYPE = [
    pytest.param(
        backend.values[0], dtype, id=f"{backend.id}-{np.dtype(dtype).name}", marks=backend.marks
    )
    for backend in CUDA_BACKENDS
    for dtype in (np.float64, np.float32)
    if dtype == np.float64 or backend.id in ("emulated-forward", "cuda")
]


@pytest.fixture
def device(backend, monkeypatch):
    """Makes `backend`'s module the CUDA module partita uses (the emulator stands in for a GPU)."""
    mod = backend.module()
    if backend.emulated:
        monkeypatch.setattr(_backend, "_cuda", mod)
        monkeypatch.setattr(_backend, "cuda_available", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _backend.GPUNotValidatedWarning)
        yield mod


def cpu_features(X, kernel, gamma=0.3, degree=3.0, coef0=1.0):
    space = _cpu.KernelFeatures32 if X.dtype == np.float32 else _cpu.KernelFeatures64
    return space(X, _cpu.KernelParams(getattr(_cpu.Kernel, kernel), gamma, degree, coef0))


def assert_entries_equal(backend, kernel, got, want):
    if not backend.emulated and kernel in LIBM_KERNELS:
        rtol = 1e-6 if got.dtype == np.float32 else 1e-14
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
    else:
        np.testing.assert_array_equal(got, want)


# ---- Gram entries -------------------------------------------------------------------------


@pytest.mark.parametrize("backend, dtype", SCHEDULES_BY_DTYPE)
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n, d", [(1, 1), (37, 5), (130, 33)])
def test_gram_rows_are_the_cpus_entries(backend, device, dtype, kernel, n, d):
    """Stored and recomputed rows and the diagonal: the CPU's bits (sizes that are not multiples
    of the point block, the row tile or the feature chunk; data far from the origin for rbf)."""
    rng = np.random.default_rng(n + d)
    X = (rng.normal(size=(n, d)) + 4.0).astype(dtype)
    F = cpu_features(X, kernel)
    want = np.asarray(F.gram(1))
    params = device.kernel_kmeans.KernelParams(
        getattr(device.kernel_kmeans.Kernel, kernel), 0.3, 3.0, 1.0
    )
    js = np.array([n - 1, 0, n // 2, n - 1][: max(1, min(4, n))], dtype=np.int64)
    for store in (False, True):
        P = device.kernel_kmeans.Problem(X, params, store)
        assert P.stored == store and P.size == n and P.dtype == np.dtype(dtype).name
        rows = P.rows(js)
        assert rows.dtype == dtype and rows.shape == (js.size, n)
        assert_entries_equal(backend, kernel, rows, want[js])
        assert_entries_equal(backend, kernel, P.diagonal(), np.asarray(F.diagonal()))
        if store:
            assert_entries_equal(backend, kernel, P.rows(np.arange(n)), want)


@pytest.mark.parametrize("backend, dtype", SCHEDULES_BY_DTYPE)
def test_precomputed_gram_is_read_as_stored(backend, device, dtype):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(19, 4))
    K = (A @ A.T).astype(dtype)
    P = device.kernel_kmeans.Problem.precomputed(K)
    assert P.stored
    np.testing.assert_array_equal(P.rows(np.array([3, 0, 18])), K[[3, 0, 18]])
    np.testing.assert_array_equal(P.diagonal(), np.diag(K))


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_sums_and_assignment_follow_the_definition(backend, device):
    """E after adds and incremental moves is the weighted one-hot product K Z, and the
    assignment is the CPU's formula with ties to the lowest cluster and empty clusters skipped."""
    rng = np.random.default_rng(1)
    n, k = 23, 4
    X = rng.normal(size=(n, 3))
    K = X @ X.T
    w = rng.uniform(0.5, 2.0, size=n)
    P = device.kernel_kmeans.Problem.precomputed(K)
    P.reset_sums(k)
    L = rng.integers(0, k, size=n).astype(np.int32)
    L[:k] = np.arange(k)
    P.accumulate(np.arange(n), np.full(n, -1, np.int32), L, w)
    moved = np.array([5, 9, 20])
    L2 = L.copy()
    L2[moved] = (L[moved] + 1) % k
    P.accumulate(moved, L[moved], L2[moved], w[moved])
    Z = np.zeros((n, k))
    Z[np.arange(n), L2] = w
    E = K @ Z
    np.testing.assert_allclose(P.own_sums(L2), E[np.arange(n), L2], rtol=1e-12, atol=1e-12)
    s = Z.sum(0)
    s[2] = 0.0  # an empty cluster is never chosen
    norms = np.array([1.0, 0.5, -3.0, 0.25])
    a = P.assign(s, norms)
    with np.errstate(divide="ignore", invalid="ignore"):
        D = np.maximum(np.diag(K)[:, None] - 2.0 * E / s + norms, 0.0)
    D[:, 2] = np.inf
    np.testing.assert_array_equal(a.labels, np.argmin(D, axis=1))
    np.testing.assert_allclose(a.distances, D.min(axis=1), rtol=1e-10, atol=1e-10)
    # Equal distances: the lower cluster.
    P.reset_sums(2)
    P.accumulate(
        np.array([0, 0]), np.array([-1, -1], np.int32), np.array([0, 1], np.int32), np.ones(2)
    )
    assert np.all(P.assign(np.ones(2), np.zeros(2)).labels == 0)


@pytest.mark.parametrize("backend", CUDA_BACKENDS[:1] + CUDA_BACKENDS[3:])
def test_bad_arguments_are_errors(backend, device):
    kk = device.kernel_kmeans
    P = kk.Problem.precomputed(np.eye(3))
    with pytest.raises(ValueError, match="reset_sums"):
        P.assign(np.ones(1), np.zeros(1))
    P.reset_sums(2)
    with pytest.raises(ValueError, match="differ in length"):
        P.accumulate(
            np.array([0]), np.array([-1, -1], np.int32), np.array([0], np.int32), np.ones(1)
        )
    with pytest.raises(ValueError, match="out of range"):
        P.accumulate(np.array([3]), np.array([-1], np.int32), np.array([0], np.int32), np.ones(1))
    with pytest.raises(ValueError, match="out of range"):
        P.rows(np.array([5]))
    with pytest.raises(ValueError, match="square"):
        kk.Problem.precomputed(np.ones((2, 3)))
    with pytest.raises(ValueError, match="float32 or float64"):
        kk.Problem.precomputed(np.eye(3, dtype=np.int64))


# ---- KernelKMeans(device="cuda") ------------------------------------------------------------


def blobs(n, dtype, seed=0, d=3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(4, d))
    return (centres[rng.integers(0, 4, size=n)] + rng.normal(size=(n, d))).astype(dtype)


def assert_same_fit(a, b, backend, kernel=None):
    if not backend.emulated and kernel in ("poly", "sigmoid"):
        # The device's pow / tanh may differ from the CPU's in the last bit.
        assert np.mean(a.labels_ != b.labels_) <= 0.02
        return
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a._centre_labels, b._centre_labels)
    np.testing.assert_array_equal(a._centre_norms, b._centre_norms)
    np.testing.assert_array_equal(a._centre_weights, b._centre_weights)
    assert a.inertia_ == b.inertia_
    assert (a.n_iter_, a.converged_, a.n_reseeded_) == (b.n_iter_, b.converged_, b.n_reseeded_)


@pytest.mark.parametrize("backend, dtype", SCHEDULES_BY_DTYPE)
@pytest.mark.parametrize("kernel", ["rbf", "linear", "poly", "sigmoid", "laplacian"])
@pytest.mark.parametrize("gram", ["stored", "blocked"])
def test_fit_equals_the_cpus(backend, device, dtype, kernel, gram):
    """Random init (several iterations, incremental updates), weights with zeros."""
    X = blobs(61, dtype)
    w = np.random.default_rng(2).uniform(0.0, 3.0, size=61)
    w[[4, 17]] = 0.0
    kw = dict(n_clusters=5, kernel=kernel, init="random", random_state=3, gram=gram, tol=0.0)
    want = KernelKMeans(**kw).fit(X, sample_weight=w)
    got = KernelKMeans(device="cuda", **kw).fit(X, sample_weight=w)
    assert got.gram_ == gram
    assert_same_fit(want, got, backend, kernel)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("kernel", ["precomputed", "cosine"])
def test_fit_of_a_stored_gram_equals_the_cpus(backend, device, kernel):
    X = blobs(40, np.float64, seed=1)
    Xin = X @ X.T if kernel == "precomputed" else X
    kw = dict(n_clusters=4, kernel=kernel, random_state=0, n_init=2)
    assert_same_fit(
        KernelKMeans(**kw).fit(Xin), KernelKMeans(device="cuda", **kw).fit(Xin), backend
    )


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_empty_clusters_are_reseeded_as_on_the_cpu(backend, device):
    """Two seeds at coincident points leave one cluster empty (ties go to the lower one)."""
    X = blobs(30, np.float64, seed=4)
    X[7] = X[3]
    X[12] = X[3]
    kw = dict(n_clusters=4, kernel="rbf", init=np.array([3, 7, 12, 20]), max_iter=20)
    want = KernelKMeans(**kw).fit(X)
    assert want.n_reseeded_ > 0
    assert_same_fit(want, KernelKMeans(device="cuda", **kw).fit(X), backend)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("n, k", [(1, 1), (9, 1), (9, 9), (6, 3)])
def test_edge_sizes(backend, device, n, k):
    X = blobs(n, np.float64, seed=n)
    X[-1] = X[0]  # duplicates
    kw = dict(n_clusters=k, kernel="laplacian", random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer distinct clusters than k
        want = KernelKMeans(**kw).fit(X)
        got = KernelKMeans(device="cuda", **kw).fit(X)
    assert_same_fit(want, got, backend)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_kmeans_plusplus_and_prediction(backend, device):
    """k-means++ reads the device's Gram rows (the same seeds); new data is scored on the CPU."""
    X = blobs(50, np.float32, seed=5)
    kw = dict(n_clusters=4, kernel="rbf", random_state=7, n_init=2)
    want = KernelKMeans(**kw).fit(X)
    got = KernelKMeans(device="cuda", **kw).fit(X)
    assert_same_fit(want, got, backend)
    np.testing.assert_array_equal(got.predict(X[:10]), want.predict(X[:10]))
    np.testing.assert_array_equal(got.predict(X), got.labels_)


@pytest.mark.parametrize("backend", CUDA_BACKENDS[:1])
def test_device_fit_warns_not_validated(backend, monkeypatch):
    mod = backend.module()
    monkeypatch.setattr(_backend, "_cuda", mod)
    monkeypatch.setattr(_backend, "cuda_available", lambda: True)
    with pytest.warns(_backend.GPUNotValidatedWarning):
        KernelKMeans(n_clusters=2, device="cuda", random_state=0).fit(blobs(10, np.float64))


def test_a_poly_gram_that_overflows_is_refused_on_the_device(monkeypatch):
    from cuda_backends import _cuda_emulated

    if _cuda_emulated is None:
        pytest.skip("partita._cuda_emulated not built")
    monkeypatch.setattr(_backend, "_cuda", _cuda_emulated)
    monkeypatch.setattr(_backend, "cuda_available", lambda: True)
    X = blobs(12, np.float64) * 1e3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _backend.GPUNotValidatedWarning)
        with pytest.raises(ValueError, match="overflows"):
            KernelKMeans(
                n_clusters=2, kernel="poly", degree=2.5, coef0=-1e9, device="cuda", gram="blocked"
            ).fit(X)
