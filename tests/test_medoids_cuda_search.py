"""The k-medoids search on the device (partita._cuda.medoids: optimise, clarans, label, build,
lab, kmedoids_plusplus) against the CPU kernels (_core.medoids), bit for bit, and the NumPy
oracle; and the estimators with device="cuda". On the CPU emulator under its three thread
schedules, and on a real GPU when there is one."""

import warnings

import numpy as np
import pytest
from cuda_backends import CUDA_BACKENDS, EMULATED_BACKENDS

from partita import CLARA, CLARANS, KMedoids, _backend, _core
from partita._backend import GPUNotValidatedWarning
from partita.medoids import _DeviceKernels

from oracles import medoids as oracle

cpu = _core.medoids
# The wide sweeps (metrics x dtypes x sizes) on one emulator schedule and the GPU; the schedules'
# differences are exercised by the tests that take every backend.
FORWARD_AND_GPU = [CUDA_BACKENDS[0], CUDA_BACKENDS[-1]]
METRICS = ["euclidean", "sqeuclidean", "manhattan", "cosine"]


def points(n, d, dtype, seed):
    return np.random.default_rng(seed).random((n, d)).astype(dtype)


def distance_matrix(X):
    D = np.sqrt(((X[:, None, :].astype(np.float64) - X[None, :, :]) ** 2).sum(-1))
    return np.ascontiguousarray(D.astype(X.dtype))


def tied_matrix(n, seed):
    """Small integer distances: many ties, and duplicate points (zero off the diagonal)."""
    v = np.random.default_rng(seed).integers(0, 4, size=n)
    return np.abs(v[:, None] - v[None, :]).astype(np.float64)


def feature_space(X, metric):
    space = cpu.FeatureSpace32 if X.dtype == np.float32 else cpu.FeatureSpace64
    return space(X, getattr(cpu.Metric, metric), 0)


def weights(n, seed, kind="random"):
    rng = np.random.default_rng(seed)
    if kind == "integer":
        return rng.integers(0, 3, size=n).astype(np.float64)
    return rng.random(n) + 0.25


def assert_same_result(gpu, ref):
    np.testing.assert_array_equal(gpu.medoids, ref.medoids)
    np.testing.assert_array_equal(gpu.labels, ref.labels)
    assert gpu.loss == ref.loss
    assert (gpu.n_iter, gpu.n_swaps, gpu.converged) == (ref.n_iter, ref.n_swaps, ref.converged)
    np.testing.assert_array_equal(gpu.pass_loss, ref.pass_loss)
    np.testing.assert_array_equal(gpu.pass_swaps, ref.pass_swaps)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["fasterpam", "fastpam1"])
@pytest.mark.parametrize("n, k", [(1, 1), (40, 1), (45, 3), (61, 5), (33, 32), (20, 20)])
def test_swaps_from_a_stored_matrix_are_the_cpus(backend, dtype, method, n, k):
    mod = backend.module()
    D = distance_matrix(points(n, 3, dtype, seed=n + k))
    w = weights(n, seed=k)
    med = np.random.default_rng(k).permutation(n)[:k].astype(np.int64)
    gpu = mod.medoids.optimise(D, None, med, w, getattr(mod.medoids.Method, method), 100)
    ref = cpu.optimise(D, med, w, getattr(cpu.Method, method), 100, 1)
    assert_same_result(gpu, ref)
    # The oracle: the same medoids and loss (float64: exactly the same sums).
    expect = getattr(oracle, method)(D.astype(np.float64), med, max_iter=100, w=w)
    if dtype == np.float64:
        np.testing.assert_array_equal(gpu.medoids, expect["medoids"])
        assert gpu.loss == pytest.approx(expect["loss"], rel=1e-12)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("method", ["fasterpam", "fastpam1"])
def test_swaps_with_ties_duplicates_and_zero_weights_are_the_cpus(backend, seed, method):
    mod = backend.module()
    D = tied_matrix(48, seed)
    w = weights(48, seed, "integer")
    med = np.random.default_rng(seed).permutation(48)[:5].astype(np.int64)
    gpu = mod.medoids.optimise(D, None, med, w, getattr(mod.medoids.Method, method), 100)
    assert_same_result(gpu, cpu.optimise(D, med, w, getattr(cpu.Method, method), 100, 1))


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_the_eager_schedule_is_never_worse_than_cpu_fasterpam_and_best_swap_is_fastpam1(backend):
    # The device's two schedules against the CPU's FasterPAM from the same start: the eager one is
    # FasterPAM's own, the best-swap one FastPAM1's, so each equals its CPU twin exactly.
    mod = backend.module()
    for seed in range(2):
        D = distance_matrix(points(40, 2, np.float64, seed))
        w = weights(40, seed)
        med = np.random.default_rng(seed).permutation(40)[:4].astype(np.int64)
        eager = mod.medoids.optimise(D, None, med, w, mod.medoids.Method.fasterpam, 300)
        best = mod.medoids.optimise(D, None, med, w, mod.medoids.Method.fastpam1, 300)
        assert eager.loss <= cpu.optimise(D, med, w, cpu.Method.fasterpam, 300, 1).loss
        assert best.loss == cpu.optimise(D, med, w, cpu.Method.fastpam1, 300, 1).loss


@pytest.mark.parametrize("backend", FORWARD_AND_GPU)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric", METRICS)
def test_swaps_on_the_fly_are_the_cpus(backend, dtype, metric):
    mod = backend.module()
    X = points(37, 19, dtype, seed=1)  # 19 features: more than one feature chunk
    X[5] = X[9]  # a duplicate point
    w = weights(37, seed=2)
    med = np.array([3, 5, 30, 11], dtype=np.int64)
    space = feature_space(X, metric)
    gpu_metric = getattr(mod.medoids.Metric, metric)
    for method in ("fasterpam", "fastpam1"):
        gpu = mod.medoids.optimise(X, gpu_metric, med, w, getattr(mod.medoids.Method, method), 50)
        assert_same_result(gpu, cpu.optimise(space, med, w, getattr(cpu.Method, method), 50, 1))
    # The same numbers as from the matrix the CPU fills with these distances.
    D = space.distance_matrix(1)
    stored = mod.medoids.optimise(D, None, med, w, mod.medoids.Method.fasterpam, 50)
    on_the_fly = mod.medoids.optimise(X, gpu_metric, med, w, mod.medoids.Method.fasterpam, 50)
    assert_same_result(on_the_fly, stored)


@pytest.mark.parametrize("backend", FORWARD_AND_GPU)
@pytest.mark.parametrize("max_iter", [0, 1, 2])
def test_iteration_caps_are_the_cpus(backend, max_iter):
    mod = backend.module()
    D = distance_matrix(points(50, 2, np.float64, seed=5))
    w = weights(50, seed=5)
    med = np.arange(6, dtype=np.int64)
    for method in ("fasterpam", "fastpam1"):
        gpu = mod.medoids.optimise(D, None, med, w, getattr(mod.medoids.Method, method), max_iter)
        assert_same_result(gpu, cpu.optimise(D, med, w, getattr(cpu.Method, method), max_iter, 1))


@pytest.mark.parametrize("backend", FORWARD_AND_GPU)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("source", ["stored", "tied", "euclidean", "cosine"])
@pytest.mark.parametrize("k", [1, 7])
def test_build_lab_and_kmedoids_plusplus_are_the_cpus(backend, dtype, source, k):
    mod = backend.module()
    n = 24
    w = weights(n, seed=k, kind="integer" if source == "tied" else "random")
    if source in ("stored", "tied"):
        data = distance_matrix(points(n, 3, dtype, seed=k))
        if source == "tied":
            data = tied_matrix(n, seed=k).astype(dtype)
        gpu_src, cpu_src = (data, None), data
    else:
        X = points(n, 5, dtype, seed=k)
        gpu_src, cpu_src = (X, getattr(mod.medoids.Metric, source)), feature_space(X, source)
    np.testing.assert_array_equal(mod.medoids.build(*gpu_src, k, w), cpu.build(cpu_src, k, w, 1))
    samples = np.stack([np.random.default_rng(i).permutation(n)[:12] for i in range(k)])
    np.testing.assert_array_equal(
        mod.medoids.lab(*gpu_src, samples, w), cpu.lab(cpu_src, samples, w, 1)
    )
    np.testing.assert_array_equal(
        mod.medoids.kmedoids_plusplus(*gpu_src, k, w, 11),
        cpu.kmedoids_plusplus(cpu_src, k, w, 11, 1),
    )
    if source == "stored" and dtype == np.float64:
        np.testing.assert_array_equal(mod.medoids.build(*gpu_src, k, w), oracle.build(data, k, w))


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("source", ["stored", "manhattan"])
@pytest.mark.parametrize("k", [1, 3])
def test_clarans_is_the_cpus(backend, source, k):
    mod = backend.module()
    X = points(40, 3, np.float64, seed=k)
    w = weights(40, seed=3)
    if source == "stored":
        gpu_src, cpu_src = (distance_matrix(X), None), distance_matrix(X)
    else:
        gpu_src, cpu_src = (X, mod.medoids.Metric.manhattan), feature_space(X, "manhattan")
    gpu = mod.medoids.clarans(*gpu_src, w, k, 2, 8, 1234)
    ref = cpu.clarans(cpu_src, w, cpu.ClaransParams(k, 2, 8, 1234), 1)
    np.testing.assert_array_equal(gpu.medoids, ref.medoids)
    np.testing.assert_array_equal(gpu.labels, ref.labels)
    assert (gpu.loss, gpu.n_iter, gpu.n_swaps) == (ref.loss, ref.n_iter, ref.n_swaps)


@pytest.mark.parametrize("backend", FORWARD_AND_GPU)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, k", [(1, 1), (70, 5), (33, 33)])
def test_label_scores_medoids_on_all_points_as_the_cpu(backend, dtype, n, k):
    mod = backend.module()
    X = points(n, 4, dtype, seed=n)
    if n > 10:
        X[7] = X[3]  # a duplicate of a medoid: ties go to the lowest slot
    order = [3, 7, *(i for i in range(n) if i not in (3, 7))] if n > 10 else [0]
    med = np.array(order[:k], dtype=np.int64)
    w = weights(n, seed=1)
    space = feature_space(X, "euclidean")
    gpu = mod.medoids.label(X, mod.medoids.Metric.euclidean, med, w)
    ref = cpu.label(space, med, w, 1)
    np.testing.assert_array_equal(gpu.labels, ref.labels)
    assert gpu.loss == ref.loss
    D = space.distance_matrix(1)
    stored = mod.medoids.label(D, None, med, w)
    np.testing.assert_array_equal(stored.labels, oracle.lowest_cluster_labels(D, med))
    assert stored.loss == ref.loss


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_search_rejects_bad_input(backend):
    mod = backend.module()
    D = distance_matrix(points(10, 2, np.float64, seed=0))
    w = np.ones(10)
    fp = mod.medoids.Method.fasterpam
    with pytest.raises(ValueError, match="square"):
        mod.medoids.optimise(D[:, :9].copy(), None, np.array([0]), w, fp, 10)
    with pytest.raises(ValueError, match="repeated"):
        mod.medoids.optimise(D, None, np.array([1, 1]), w, fp, 10)
    with pytest.raises(ValueError, match="out of range"):
        mod.medoids.optimise(D, None, np.array([10]), w, fp, 10)
    with pytest.raises(ValueError, match="one weight per point"):
        mod.medoids.optimise(D, None, np.array([0]), w[:9], fp, 10)
    with pytest.raises(ValueError, match="float32 or float64"):
        mod.medoids.label(D.astype(np.int64), None, np.array([0]), w)
    with pytest.raises(ValueError, match="k: expected"):
        mod.medoids.build(D, None, 11, w)
    with pytest.raises(ValueError, match="samples"):
        mod.medoids.lab(D, None, np.array([[0, 10]]), w)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_a_device_copy_reads_as_the_host_array(backend):
    mod = backend.module()
    D = distance_matrix(points(30, 2, np.float64, seed=8))
    padded = np.zeros((30, 35))
    padded[:, :30] = D
    w = weights(30, seed=8)
    med = np.array([4, 0, 17], dtype=np.int64)
    copy = mod.medoids.to_device(padded[:, :30])
    assert copy.ref.on_device and list(copy.ref.strides) == [35, 1]
    gpu = mod.medoids.optimise(copy.ref, None, med, w, mod.medoids.Method.fasterpam, 50)
    assert_same_result(gpu, cpu.optimise(D, med, w, cpu.Method.fasterpam, 50, 1))
    del copy


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[:1])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric", METRICS)
def test_the_device_distance_matrix_is_the_cpus(backend, dtype, metric):
    # The emulator's device memory is host memory: the matrix made there can be read back.
    import ctypes

    mod = backend.module()
    X = points(35, 6, dtype, seed=9)
    X[4] = X[8]
    copy = mod.medoids.distance_matrix(X, getattr(mod.medoids.Metric, metric))
    item = ctypes.c_double if dtype == np.float64 else ctypes.c_float
    D = np.ctypeslib.as_array(ctypes.cast(copy.ref.data, ctypes.POINTER(item)), shape=(35, 35))
    np.testing.assert_array_equal(D, feature_space(X, metric).distance_matrix(1))
    del copy


# ---- the estimators with device="cuda", the emulated module standing in for the GPU's -------


@pytest.fixture
def emulated_gpu(monkeypatch):
    backend = EMULATED_BACKENDS[0].values[0]
    if backend.module is None:  # pragma: no cover
        pytest.skip("no emulator")
    try:
        module = backend.module()
    except AttributeError:
        pytest.skip("partita._cuda_emulated not built")
    monkeypatch.setattr(_backend, "_cuda", module)
    monkeypatch.setattr(_backend, "cuda_available", lambda: True)
    return module


def fit_on(estimator, device, X, **fit_params):
    est = estimator.set_params(device=device)
    if device == "cuda":
        with pytest.warns(GPUNotValidatedWarning):
            return est.fit(X, **fit_params)
    return est.fit(X, **fit_params)


def assert_same_fit(a, b, exact_loss=True):
    np.testing.assert_array_equal(a.medoid_indices_, b.medoid_indices_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_ if exact_loss else a.inertia_ == pytest.approx(b.inertia_)
    assert (a.n_iter_, a.n_swaps_) == (b.n_iter_, b.n_swaps_)


@pytest.mark.cuda_emulated
@pytest.mark.parametrize("init", ["build", "lab", "k-medoids++", "random"])
@pytest.mark.parametrize(
    "metric, distances",
    [("euclidean", "matrix"), ("cosine", "on-the-fly"), ("precomputed", "auto")],
)
@pytest.mark.parametrize("method", ["fasterpam", "fastpam1"])
def test_kmedoids_on_cuda_is_the_cpu_fit(emulated_gpu, init, metric, distances, method):
    X = points(45, 3, np.float32, seed=2)
    if metric == "precomputed":
        X = distance_matrix(X)
    w = weights(45, seed=4)
    est = KMedoids(4, metric=metric, init=init, method=method, distances=distances, random_state=0)
    gpu = fit_on(est, "cuda", X, sample_weight=w)
    ref = fit_on(KMedoids(**est.get_params()), "cpu", X, sample_weight=w)
    assert_same_fit(gpu, ref)
    assert gpu.converged_ == ref.converged_
    assert emulated_gpu.allocated_bytes() == 0  # the fit's device copies are gone with it


@pytest.mark.cuda_emulated
@pytest.mark.parametrize("metric", ["manhattan", "precomputed", "chebyshev"])
def test_clara_on_cuda_is_the_cpu_fit(emulated_gpu, metric):
    X = points(80, 2, np.float64, seed=3)
    if metric == "precomputed":
        X = distance_matrix(X)
    w = weights(80, seed=5)
    est = CLARA(3, metric=metric, n_sampling=3, sample_size=25, init="k-medoids++", random_state=1)
    gpu = fit_on(est, "cuda", X, sample_weight=w)
    ref = fit_on(CLARA(**est.get_params()), "cpu", X, sample_weight=w)
    # The CPU scores a precomputed matrix with NumPy's pairwise sum, the device in point order.
    assert_same_fit(gpu, ref, exact_loss=metric != "precomputed")
    np.testing.assert_allclose(gpu.sample_losses_, ref.sample_losses_, rtol=1e-12)


@pytest.mark.cuda_emulated
@pytest.mark.parametrize("metric", ["sqeuclidean", "precomputed"])
def test_clarans_on_cuda_is_the_cpu_fit(emulated_gpu, metric):
    X = points(40, 2, np.float64, seed=6)
    if metric == "precomputed":
        X = distance_matrix(X)
    est = CLARANS(3, metric=metric, n_local=2, max_neighbors=6, random_state=2)
    assert_same_fit(fit_on(est, "cuda", X), fit_on(CLARANS(**est.get_params()), "cpu", X))


@pytest.mark.cuda_emulated
def test_cuda_refuses_what_it_cannot_run_and_auto_falls_back(emulated_gpu):
    X = points(30, 2, np.float64, seed=0)
    for method in ("pam", "alternate"):
        with pytest.raises(ValueError, match="device='cuda' runs method"):
            KMedoids(3, method=method, device="cuda").fit(X)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no GPU warning: the CPU ran
            auto = KMedoids(3, method=method, device="auto").fit(X)
        cpu_fit = KMedoids(3, method=method).fit(X)
        assert_same_fit(auto, cpu_fit)
    # Features whose metric only the CPU computes cannot go to the device on the fly.
    device = _DeviceKernels(emulated_gpu.medoids)
    with pytest.raises(ValueError, match="on the fly only"):
        device.source(object(), X, "chebyshev")
