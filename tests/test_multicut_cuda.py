"""The dense multicut GPU kernels (partita._cuda.multicut) against the CPU kernels
(partita._core.multicut) and the NumPy oracles, on the CPU emulator under its three thread
schedules and on a real GPU when there is one: the exact kNN search (the CPU's lists, bit for
bit), the objective (the CPU's value, bit for bit), and DenseMulticut(device="cuda") (the CPU's
lazy result)."""

import warnings

import numpy as np
import pytest
from cuda_backends import CUDA_BACKENDS, EMULATED_BACKENDS

from partita import DenseMulticut, _backend, _core
from partita.multicut import multicut_objective

from oracles import multicut as oracle
from oracles.multicut import embeddings

CPU = _core.multicut


def cpu_knn(F, sizes, offset, k):
    r = CPU.knn_positive(F, sizes, offset, k, CPU.Metric.dot, 1)
    return r.indices, r.costs


def features(m, d, seed, duplicates=False):
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(m, d))
    if duplicates:  # equal rows: equal costs, ties broken by the smaller index
        F[1::3] = F[0]
        F = np.round(F)
    return F


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize(
    "m, d, k", [(2, 1, 1), (5, 3, 10), (31, 5, 3), (33, 17, 4), (65, 16, 7), (70, 33, 1)]
)
@pytest.mark.parametrize("offset", [0.0, 0.4])
def test_knn_is_the_cpus_bit_for_bit(backend, m, d, k, offset):
    # float32 screening with the float64 recheck of the candidates (norms moderate)
    mod = backend.module()
    F = features(m, d, seed=m * d)
    sizes = np.random.default_rng(m).integers(1, 4, size=m).astype(np.float64)
    idx, val = mod.multicut.knn_positive(F, sizes, offset, k)
    want_idx, want_val = cpu_knn(F, sizes, offset, k)
    assert idx.shape == (m, k) and idx.dtype == np.int64 and val.dtype == np.float64
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(val, want_val)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("m, d, k", [(5, 3, 10), (33, 17, 4), (70, 20, 3)])
def test_knn_in_float64_when_the_norms_are_large(backend, m, d, k):
    # Row norms above 1e15: no float32 screening, every score float64 (as on the CPU).
    mod = backend.module()
    F = features(m, d, seed=m + d) * 1e16
    sizes = np.random.default_rng(m).integers(1, 4, size=m).astype(np.float64)
    offset = 1e31
    idx, val = mod.multicut.knn_positive(F, sizes, offset, k)
    want_idx, want_val = cpu_knn(F, sizes, offset, k)
    assert np.any(want_idx >= 0)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(val, want_val)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_knn_orders_what_float32_cannot_tell_apart(backend):
    # Rows equal in float32 that differ in float64: every score ties in the screen, and the
    # float64 recheck must give the CPU's order.
    mod = backend.module()
    m, d, k = 45, 7, 5
    F = 1.0 + 1e-11 * np.random.default_rng(9).normal(size=(m, d))
    assert np.all(F.astype(np.float32) == 1.0)
    idx, val = mod.multicut.knn_positive(F, np.ones(m), 2.0, k)
    want_idx, want_val = cpu_knn(F, np.ones(m), 2.0, k)
    assert np.all(want_idx >= 0)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(val, want_val)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_knn_against_the_explicit_cost_matrix_with_ties(backend):
    # Integer features: every cost is exact, and duplicated rows tie.
    mod = backend.module()
    m, k, offset = 40, 6, 1.0
    F = features(m, 4, seed=3, duplicates=True)
    sizes = np.ones(m)
    idx, val = mod.multicut.knn_positive(F, sizes, offset, k)
    C = oracle.edge_costs(F, offset)
    for r in range(m):
        cand = [(-C[r, j], j) for j in range(m) if j != r and C[r, j] > 0]
        best = sorted(cand)[:k]
        got = [(-v, j) for v, j in zip(val[r], idx[r]) if j >= 0]
        assert got == best
        assert np.all(idx[r, len(best) :] == -1) and np.all(val[r, len(best) :] == 0.0)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_knn_edge_sizes(backend):
    mod = backend.module()
    F = features(3, 2, seed=0)
    for m, k in [(0, 2), (1, 3), (3, 0)]:
        idx, val = mod.multicut.knn_positive(F[:m], np.ones(m), 0.0, k)
        assert idx.shape == (m, k) and np.all(idx == -1) and np.all(val == 0.0)
    # Every cost negative: empty lists.
    idx, _ = mod.multicut.knn_positive(F, np.ones(3), 1e6, 2)
    assert np.all(idx == -1)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_knn_rejects_bad_input(backend):
    mod = backend.module()
    with pytest.raises(ValueError, match="sizes"):
        mod.multicut.knn_positive(np.ones((4, 2)), np.ones(3), 0.0, 2)
    with pytest.raises(ValueError, match="k must be"):
        mod.multicut.knn_positive(np.ones((4, 2)), np.ones(4), 0.0, -1)
    with pytest.raises(ValueError, match="F"):
        mod.multicut.knn_positive(np.ones(4), np.ones(4), 0.0, 1)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n, d, c", [(1, 1, 1), (37, 5, 4), (60, 17, 60), (50, 3, 9)])
def test_objective_is_the_cpus_bit_for_bit(backend, weighted, n, d, c):
    mod = backend.module()
    rng = np.random.default_rng(n + d)
    X = rng.normal(size=(n, d))
    labels = rng.integers(0, c, size=n).astype(np.int64)  # some clusters may be empty
    w = rng.random(n) * 2 if weighted else None
    got = mod.multicut.objective(X, labels, c, 0.3, w)
    assert got == CPU.objective(X, labels, c, 0.3, CPU.Metric.dot, w)
    assert got == pytest.approx(oracle.objective(X, labels, 0.3, w=w), rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_objective_rejects_bad_input(backend):
    mod = backend.module()
    with pytest.raises(ValueError, match="labels"):
        mod.multicut.objective(np.ones((3, 2)), np.array([0, 1, 2]), 2, 0.0)
    with pytest.raises(ValueError, match="weights"):
        mod.multicut.objective(np.ones((3, 2)), np.zeros(3, np.int64), 1, 0.0, np.ones(2))


# ---- the estimator: DenseMulticut(device="cuda") and multicut_objective(device="cuda") -------


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


FIT_CASES = {
    "plain": dict(offset=0.3),
    "no-refine": dict(offset=0.3, refine=False),
    "k=1": dict(offset=0.5, n_neighbors=1),
    "cosine": dict(offset=0.6, metric="cosine", n_neighbors=3),
}


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("case", list(FIT_CASES))
def test_dense_multicut_on_the_device_is_the_cpus_lazy_result(backend, device, case):
    X, _ = embeddings(45, d=6, n_centres=4, spread=2.0, seed=1)
    kw = FIT_CASES[case]
    cpu = DenseMulticut(**kw).fit(X)
    gpu = DenseMulticut(device="cuda", **kw).fit(X)
    np.testing.assert_array_equal(gpu.labels_, cpu.labels_)
    assert gpu.objective_ == cpu.objective_
    assert (gpu.n_merges_, gpu.n_rounds_, gpu.n_moves_) == (
        cpu.n_merges_,
        cpu.n_rounds_,
        cpu.n_moves_,
    )
    np.testing.assert_array_equal(gpu.cluster_sums_, cpu.cluster_sums_)
    assert gpu.objective_ == pytest.approx(
        oracle.objective(X, gpu.labels_, kw["offset"], kw.get("metric", "dot")), abs=1e-9
    )


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[:1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_multicut_on_the_device_with_weights_and_float32(backend, device, dtype):
    X, _ = embeddings(40, d=5, n_centres=3, spread=2.0, seed=4)
    X = X.astype(dtype)
    w = np.random.default_rng(0).random(40) * 2
    w[::7] = 0.0  # weight-0 samples are placed afterwards, on the host
    cpu = DenseMulticut(offset=0.4).fit(X, sample_weight=w)
    gpu = DenseMulticut(offset=0.4, device="cuda").fit(X, sample_weight=w)
    np.testing.assert_array_equal(gpu.labels_, cpu.labels_)
    assert gpu.objective_ == cpu.objective_


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[:1])
def test_duplicates_and_ties_on_the_device(backend, device):
    X = np.round(np.random.default_rng(2).normal(size=(30, 3)))
    X[10:20] = X[0]
    cpu = DenseMulticut(offset=1.0, n_neighbors=2).fit(X)
    gpu = DenseMulticut(offset=1.0, n_neighbors=2, device="cuda").fit(X)
    np.testing.assert_array_equal(gpu.labels_, cpu.labels_)
    assert gpu.objective_ == cpu.objective_


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_multicut_objective_on_the_device(backend, device):
    X, labels = embeddings(50, d=4, n_centres=5, spread=2.0, seed=3)
    w = np.random.default_rng(1).random(50)
    for kw in (dict(offset=0.2), dict(offset=0.2, sample_weight=w)):
        assert multicut_objective(X, labels, device="cuda", **kw) == multicut_objective(
            X, labels, **kw
        )
    got = multicut_objective(X, labels, offset=0.5, metric="cosine", device="cuda")
    assert got == pytest.approx(multicut_objective(X, labels, offset=0.5, metric="cosine"))


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[:1])
def test_device_path_warns_not_validated_and_rejects_gaec(backend, monkeypatch):
    monkeypatch.setattr(_backend, "_cuda", backend.module())
    monkeypatch.setattr(_backend, "cuda_available", lambda: True)
    X, _ = embeddings(20, d=3, seed=0)
    with pytest.warns(_backend.GPUNotValidatedWarning, match="multicut"):
        DenseMulticut(offset=0.3, device="cuda").fit(X)
    with pytest.raises(ValueError, match="algorithm='lazy'"):
        DenseMulticut(offset=0.3, device="cuda", algorithm="gaec").fit(X)
    assert DenseMulticut(offset=0.3, device="auto", algorithm="gaec").fit(X).n_clusters_ >= 1
    assert _backend.supported_devices("multicut", "DenseMulticut") == ("cpu", "cuda")


def test_device_cuda_without_a_gpu_is_an_error(monkeypatch):
    monkeypatch.setattr(_backend, "cuda_available", lambda: False)
    X, _ = embeddings(10, d=3, seed=0)
    with pytest.raises(ValueError, match="device='cuda'"):
        DenseMulticut(device="cuda").fit(X)
    with pytest.raises(ValueError, match="device='cuda'"):
        multicut_objective(X, np.zeros(10, np.int64), device="cuda")


def test_solve_takes_its_knn_search_from_a_callable():
    # The hook the device path uses: the CPU's own search through it gives the CPU's result, and
    # lists of the wrong shape or range are an error, not a contraction on garbage.
    X, _ = embeddings(40, d=5, n_centres=3, spread=2.0, seed=6)
    params = CPU.Params(offset=0.3, n_neighbors=4)
    calls = []

    def search(F, sizes, offset, k):
        calls.append(F.shape[0])
        return cpu_knn(F, sizes, offset, k)

    want = CPU.solve(X, params)
    got = CPU.solve(X, params, None, knn=search)
    np.testing.assert_array_equal(got.labels, want.labels)
    assert got.objective == want.objective and len(calls) == got.n_rounds
    with pytest.raises(ValueError, match="knn: expected"):
        CPU.solve(X, params, None, knn=lambda F, s, a, k: (np.zeros(3, np.int64), np.zeros(3)))
    with pytest.raises(ValueError, match="knn: index out of range"):
        CPU.solve(X, params, None, knn=lambda F, s, a, k: (np.full((len(F), k), len(F)),) * 2)
