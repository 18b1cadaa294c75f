"""k-medoids for data too large for an n x n matrix: distances on the fly, numba metrics, CLARA
and CLARANS (docs/algorithms.md, "CLARA", "CLARANS", "On-the-fly distances").

* ``KMedoids(distances="on-the-fly")`` gives bit for bit the result of ``distances="matrix"``
  (medoids, labels, loss, passes, swaps) and both equal the NumPy oracle run on partita's own
  distance matrix ``FeatureSpace(X, metric, 0).distance_matrix(1)``;
* the C++ FeatureSpace distances agree with scikit-learn and are exactly symmetric;
* numba-jitted metrics run in the C++ kernels, on a matrix or on the fly, and are validated;
* CLARA and CLARANS: invariants (labels, loss, determinism, threads); their
  scikit-learn estimator checks are in test_sklearn_checks.py.

Checks that could crash the interpreter run in a child process (``run_isolated``) so that a
crash fails the test instead of ending the whole pytest run.
"""

import concurrent.futures
import math
import multiprocessing
import warnings

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs
from sklearn.metrics import pairwise_distances

import partita
import partita._validation
from partita import CLARA, CLARANS, KMedoids, _core

from conftest import assert_unfitted
from oracles import medoids as om

METRICS = {
    name: _core.medoids.Metric.__members__[name]
    for name in ("euclidean", "sqeuclidean", "manhattan", "cosine")
}
BUILTIN = tuple(METRICS)
DTYPES = (np.float64, np.float32)
ORACLE = {
    "fasterpam": om.fasterpam,
    "fastpam1": om.fastpam1,
    "pam": om.pam,
    "alternate": om.alternate,
}


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def feature_space(X, metric):
    space_type = (
        _core.medoids.FeatureSpace32 if X.dtype == np.float32 else _core.medoids.FeatureSpace64
    )
    return space_type(np.ascontiguousarray(X), METRICS[metric], 0)


def own_matrix(X, metric):
    """partita's C++ distance matrix, in the dtype of X (what KMedoids stores)."""
    return feature_space(X, metric).distance_matrix(1)


def oracle_matrix(X, metric):
    """The matrix the oracle runs on: for float64 X exactly FeatureSpace64(X, metric, 0)'s; for
    float32 X the float32 distances the kernels compare (upcast, so every comparison and every
    float64 sum of the oracle is the kernel's)."""
    return own_matrix(X, metric).astype(np.float64)


def blobs(n, centers, n_features, seed, dtype=np.float64, duplicates=True):
    X, _ = make_blobs(
        n_samples=n, centers=centers, n_features=n_features, cluster_std=1.5, random_state=seed
    )
    if duplicates and n > 10:  # a few exact duplicates: tied distances in both modes
        X[7] = X[3]
        X[n - 1] = X[n // 2]
    return np.ascontiguousarray(X, dtype=dtype)


def some_weights(n, seed):
    """Positive weights with about 10% zeros."""
    rng = np.random.RandomState(seed)
    w = rng.uniform(0.2, 3.0, n)
    w[rng.rand(n) < 0.1] = 0.0
    return w


def result_of(est):
    assert est.medoid_indices_.dtype == np.int64 and est.labels_.dtype == np.int64
    assert isinstance(est.inertia_, float)
    return {
        "medoids": est.medoid_indices_,
        "labels": est.labels_,
        "loss": est.inertia_,
        "n_iter": est.n_iter_,
        "n_swaps": est.n_swaps_,
    }


def assert_identical(a, b, what=""):
    """Same medoids, labels, iteration and swap counts, and bit-identical loss."""
    np.testing.assert_array_equal(a["medoids"], b["medoids"], err_msg=what)
    np.testing.assert_array_equal(a["labels"], b["labels"], err_msg=what)
    assert a["loss"] == b["loss"], (what, a["loss"], b["loss"])
    assert (a["n_iter"], a["n_swaps"]) == (b["n_iter"], b["n_swaps"]), what


def assert_valid_partition(est, X, metric, k):
    """k distinct medoids; every label is the slot of a nearest medoid (by argmin over
    scikit-learn's distances, with no near-ties in the data used here)."""
    med = est.medoid_indices_
    assert med.shape == (k,) and len(np.unique(med)) == k
    assert med.min() >= 0 and med.max() < X.shape[0]
    assert est.labels_.shape == (X.shape[0],)
    np.testing.assert_array_equal(est.labels_[med], np.arange(k))
    if metric == "precomputed":
        to_medoids = X[:, med]
    else:
        np.testing.assert_array_equal(est.cluster_centers_, X[med])
        to_medoids = pairwise_distances(
            X.astype(np.float64), est.cluster_centers_.astype(np.float64), metric=metric
        )
    np.testing.assert_array_equal(est.labels_, np.argmin(to_medoids, axis=1))


_FORKSERVER = {}


def run_isolated(fn, *args):
    """fn(*args) in a child process forked from a clean server (partita and scikit-learn
    preloaded, no OpenMP state): an abort or a segfault there fails the calling test instead of
    killing the pytest process. Exceptions are re-raised here; the result is returned."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        if not _FORKSERVER:
            ctx.set_forkserver_preload(["partita", "sklearn.utils.estimator_checks"])
            _FORKSERVER["started"] = True
    else:  # pragma: no cover - Windows
        ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        future = pool.submit(fn, *args)
        try:
            return future.result(timeout=300)
        except concurrent.futures.process.BrokenProcessPool:
            pytest.fail(
                f"{getattr(fn, '__qualname__', fn)!s} crashed the Python process "
                "(abort / segfault: memory corruption in the compiled kernel)"
            )


# ----------------------------------------------------------------------------------------------
# 1. on-the-fly distances: exactly the matrix's result, and the oracle's
# ----------------------------------------------------------------------------------------------


def fit_km(X, k, *, distances, w=None, **kw):
    kw.setdefault("n_jobs", 1)
    kw.setdefault("random_state", 7)
    km = KMedoids(n_clusters=k, distances=distances, **kw)
    with warnings.catch_warnings():
        warnings.filterwarnings("error")  # no max_iter warning: every run converges
        return km.fit(X, sample_weight=w)


@pytest.mark.parametrize("method", ["fasterpam", "fastpam1", "alternate", "pam"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("metric", BUILTIN)
def test_on_the_fly_equals_matrix_and_oracle(metric, dtype, weighted, method):
    case = BUILTIN.index(metric) * 8 + DTYPES.index(dtype) * 4 + weighted * 2
    n = 50 if method == "pam" else 60 + 10 * case  # 60 .. 290
    k = 3 + case % 4
    X = blobs(n, k + 1, 3 + case % 3, seed=100 + case, dtype=dtype)
    w = some_weights(n, 200 + case) if weighted else None
    D = oracle_matrix(X, metric)
    for init in ("build", "lab", "k-medoids++"):
        what = f"{metric} {np.dtype(dtype).name} {method} {init} n={n} k={k}"
        # The initial medoids (max_iter=0) are the same either way ...
        kw = dict(metric=metric, init=init, w=w)
        m0 = fit_km(X, k, distances="matrix", max_iter=0, **kw).medoid_indices_
        m0_fly = fit_km(X, k, distances="on-the-fly", max_iter=0, **kw).medoid_indices_
        np.testing.assert_array_equal(m0, m0_fly, err_msg=what)
        if init == "build":
            assert m0.tolist() == om.build(D, k, w=w), what
        # ... and so is the optimised result, bit for bit.
        km = fit_km(X, k, distances="matrix", method=method, **kw)
        fly = fit_km(X, k, distances="on-the-fly", method=method, **kw)
        assert (km.distances_, fly.distances_) == ("matrix", "on-the-fly")
        assert_identical(result_of(fly), result_of(km), what)
        # The oracle on partita's own matrix, from the same initial medoids.
        ref = ORACLE[method](D, m0, max_iter=300, w=w)
        assert_identical(result_of(km), ref, what + " vs oracle")
        assert km.inertia_ == om.total_deviation(D, km.medoid_indices_, w=w)


LARGER_CASES = [
    # n, k, n_features, metric, dtype, method, init, weighted
    (500, 6, 4, "euclidean", np.float64, "fasterpam", "build", True),
    (700, 5, 3, "cosine", np.float32, "fastpam1", "lab", False),
    (1000, 8, 5, "manhattan", np.float64, "alternate", "k-medoids++", True),
    (1500, 7, 3, "sqeuclidean", np.float32, "fasterpam", "k-medoids++", False),
    (2100, 9, 6, "cosine", np.float64, "fasterpam", "build", False),
    (3000, 8, 4, "euclidean", np.float32, "fasterpam", "lab", True),
    (1200, 6, 2, "manhattan", np.float64, "fastpam1", "build", False),
]


@pytest.mark.parametrize("n, k, n_features, metric, dtype, method, init, weighted", LARGER_CASES)
def test_on_the_fly_equals_matrix_larger_n_and_threads(
    n, k, n_features, metric, dtype, method, init, weighted
):
    X = blobs(n, k, n_features, seed=n + k, dtype=dtype)
    w = some_weights(n, n) if weighted else None
    kw = dict(metric=metric, method=method, init=init, w=w)
    km = fit_km(X, k, distances="matrix", **kw)
    ref = result_of(km)
    for n_jobs in (1, 2):
        fly = fit_km(X, k, distances="on-the-fly", n_jobs=n_jobs, **kw)
        assert fly.distances_ == "on-the-fly"
        assert_identical(result_of(fly), ref, f"on the fly, n_jobs={n_jobs}")
    assert_identical(result_of(fit_km(X, k, distances="matrix", n_jobs=2, **kw)), ref, "matrix 2")
    # The loss is the weighted distance to the nearest medoid (partita's own distances).
    near = own_matrix(X, metric)[:, km.medoid_indices_].astype(np.float64).min(axis=1)
    wt = np.ones(n) if w is None else w
    assert km.inertia_ == pytest.approx(float(np.dot(wt, near)), rel=1e-9)
    assert len(np.unique(km.medoid_indices_)) == k


def test_on_the_fly_blocked_rows_n_above_4096():
    # n > 4096: blocks of rows on the fly, speculative candidate blocks on the matrix with
    # several threads, and the distance rows split between threads.
    # (BUILD is covered up to n = 3000 above; k-medoids++ keeps this one cheap.)
    n, k = 5000, 10
    X = blobs(n, k, 3, seed=4097)
    ref = result_of(fit_km(X, k, distances="matrix", n_jobs=1, init="k-medoids++"))
    assert ref["n_swaps"] > 0
    for distances, n_jobs in (("matrix", 2), ("on-the-fly", 1), ("on-the-fly", 2)):
        est = fit_km(X, k, distances=distances, n_jobs=n_jobs, init="k-medoids++")
        assert est.distances_ == distances
        assert_identical(result_of(est), ref, f"{distances}, n_jobs={n_jobs}")


@pytest.mark.parametrize("metric", BUILTIN)
def test_on_the_fly_transform_predict_score_equal_matrix(metric):
    X = blobs(300, 5, 4, seed=31)
    Xn = blobs(40, 5, 4, seed=32)
    km = fit_km(X, 5, distances="matrix", metric=metric)
    fly = fit_km(X, 5, distances="on-the-fly", metric=metric)
    np.testing.assert_array_equal(fly.transform(Xn), km.transform(Xn))
    np.testing.assert_array_equal(fly.predict(Xn), km.predict(Xn))
    assert fly.score(Xn) == km.score(Xn)
    np.testing.assert_array_equal(fly.cluster_centers_, X[fly.medoid_indices_])


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("method", ["fasterpam", "fastpam1", "alternate"])
def test_on_the_fly_k1_and_k_equals_n(method, weighted):
    X = blobs(40, 3, 3, seed=35)
    w = some_weights(40, 35) if weighted else None
    D = oracle_matrix(X, "euclidean")
    for k in (1, 2, 39, 40):
        km = fit_km(X, k, distances="matrix", method=method, w=w)
        fly = fit_km(X, k, distances="on-the-fly", method=method, w=w)
        assert_identical(result_of(fly), result_of(km), f"k={k}")
        m0 = fit_km(X, k, distances="matrix", max_iter=0, w=w).medoid_indices_
        ref = ORACLE[method](D, m0, max_iter=300, w=w)
        # k near n: coincident medoids (the duplicates), their samples in the lowest cluster.
        ref["labels"] = om.lowest_cluster_labels(D, ref["medoids"])
        assert_identical(result_of(km), ref, f"k={k}")


@pytest.mark.parametrize(
    "alias, name", [("l2", "euclidean"), ("l1", "manhattan"), ("cityblock", "manhattan")]
)
def test_metric_aliases_on_the_fly(alias, name):
    X = blobs(200, 4, 3, seed=33)
    a = fit_km(X, 4, distances="on-the-fly", metric=alias)
    b = fit_km(X, 4, distances="matrix", metric=name)
    assert_identical(result_of(a), result_of(b))


def test_distances_attribute_reports_the_mode(monkeypatch):
    X = blobs(120, 3, 3, seed=34)
    D = own_matrix(X, "euclidean")
    assert KMedoids(3, distances="auto").fit(X).distances_ == "matrix"
    assert KMedoids(3, distances="matrix").fit(X).distances_ == "matrix"
    assert KMedoids(3, distances="on-the-fly").fit(X).distances_ == "on-the-fly"
    assert KMedoids(3, metric="precomputed").fit(D).distances_ == "matrix"
    auto_matrix = KMedoids(3, distances="auto", n_jobs=1).fit(X)
    # "auto" goes on the fly when the matrix would take more than half the memory.
    monkeypatch.setattr(partita._validation, "available_memory", lambda: 2 * 120 * 120 * 8 - 8)
    auto_fly = KMedoids(3, distances="auto", n_jobs=1).fit(X)
    assert auto_fly.distances_ == "on-the-fly"
    assert_identical(result_of(auto_fly), result_of(auto_matrix))
    monkeypatch.setattr(partita._validation, "available_memory", lambda: 2 * 120 * 120 * 8)
    assert KMedoids(3, distances="auto").fit(X).distances_ == "matrix"
    monkeypatch.setattr(partita._validation, "available_memory", lambda: None)
    assert KMedoids(3, distances="auto").fit(X).distances_ == "matrix"


# ----------------------------------------------------------------------------------------------
# 2. the C++ FeatureSpace distances
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def features():
    rng = np.random.RandomState(3)
    X = rng.randn(1031, 6) * 3 + 1  # n not a multiple of any vector width, > 1024 (2 parts)
    X[10] = X[20]  # a duplicate
    X[30] = 0.0  # a zero row (cosine distance 1 to everything)
    return X


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("metric", BUILTIN)
def test_feature_space_equals_sklearn(features, metric, dtype):
    X = features.astype(dtype)
    space = feature_space(X, metric)
    assert space.n_samples == X.shape[0]
    D = space.distance_matrix(1)
    assert D.dtype == dtype and D.shape == (X.shape[0],) * 2
    ref = pairwise_distances(X.astype(np.float64), metric=metric)
    # scikit-learn's euclidean uses |x|^2 - 2 x.y + |y|^2, which gives ~1e-7 instead of 0 for
    # the duplicate pair (10, 20); there the exact direct formula is the reference.
    if metric == "cosine":  # (scipy's cosine is NaN for the zero row)
        exact = ref
    else:
        exact = cdist(
            X.astype(np.float64),
            X.astype(np.float64),
            metric={"manhattan": "cityblock"}.get(metric, metric),
        )
        ref[10, 20] = ref[20, 10] = exact[10, 20]
    scale = ref.max()
    if dtype == np.float64:
        np.testing.assert_allclose(D, ref, rtol=1e-12, atol=1e-14 * scale)
        np.testing.assert_allclose(D, exact, rtol=1e-12, atol=1e-14 * scale)
    else:
        np.testing.assert_allclose(D, ref, rtol=1e-5, atol=1e-6 * scale)
    assert np.all(np.diag(D) == 0)
    np.testing.assert_array_equal(D, D.T)  # exact symmetry
    assert D.min() >= 0
    if metric in ("euclidean", "sqeuclidean", "manhattan"):
        assert D[10, 20] == 0
    # Every thread count and every way of asking gives the same bits.
    np.testing.assert_array_equal(space.distance_matrix(2), D)
    np.testing.assert_array_equal(space.distance_matrix(0), D)
    for idx in (
        [5],
        [1030, 0, 17, 17, 3, 999, 512],
        list(range(100, 133)),
        list(range(X.shape[0] - 1, -1, -37)),
    ):
        idx = np.asarray(idx, dtype=np.int64)
        for n_threads in (1, 2):
            rows = space.distances_to(idx, n_threads)
            assert rows.shape == (len(idx), X.shape[0]) and rows.dtype == dtype
            np.testing.assert_array_equal(rows, D[idx])


def test_feature_space_does_not_alias_the_input():
    X = np.random.RandomState(4).rand(50, 3)
    space = _core.medoids.FeatureSpace64(X, METRICS["cosine"], 0)
    D = space.distance_matrix(1)
    X += 1.0  # the space holds its own (normalised) copy
    np.testing.assert_array_equal(space.distance_matrix(1), D)


def assert_fit_raises(est, X, match, exc=ValueError):
    with pytest.raises(exc, match=match) as info:
        est.fit(X)
    assert_unfitted(est)
    return str(info.value)


# ----------------------------------------------------------------------------------------------
# 3. numba-jitted metrics
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb():
    """numba-jitted metrics (compiled once for the module)."""
    numba = pytest.importorskip("numba")

    @numba.njit
    def manhattan(x, y):
        s = 0.0
        for i in range(x.shape[0]):
            s += abs(x[i] - y[i])
        return s

    @numba.njit
    def chebyshev(x, y):
        m = 0.0
        for i in range(x.shape[0]):
            v = abs(x[i] - y[i])
            if v > m:
                m = v
        return m

    @numba.njit
    def asymmetric(x, y):
        # d(x, y) - d(y, x) = +-1 for every pair with x0 != y0: certain to show in any sample.
        return abs(x[0] - y[0]) + (1.0 if x[0] > y[0] else 0.0)

    @numba.njit
    def nonzero_self(x, y):
        # Symmetric, but d(x, x) = 1.
        s = 1.0
        for i in range(x.shape[0]):
            s += abs(x[i] - y[i])
        return s

    class Metrics:
        pass

    m = Metrics()
    m.manhattan, m.chebyshev = manhattan, chebyshev
    m.asymmetric, m.nonzero_self = asymmetric, nonzero_self
    return m


def python_chebyshev(x, y):
    return float(np.abs(x - y).max())


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name", ["manhattan", "chebyshev"])
def test_numba_metric_matrix_equals_on_the_fly_and_reference(nb, name, dtype):
    fn = getattr(nb, name)
    X = blobs(400, 5, 3, seed=50, duplicates=False).astype(dtype)
    for method in ("fasterpam", "fastpam1"):
        km = fit_km(X, 5, distances="matrix", metric=fn, method=method)
        fly = fit_km(X, 5, distances="on-the-fly", metric=fn, method=method)
        assert (km.distances_, fly.distances_) == ("matrix", "on-the-fly")
        assert_identical(result_of(fly), result_of(km), f"{name} {method}")
        assert fit_km(X, 5, distances="auto", metric=fn, method=method).distances_ == "matrix"
        # The same medoids as the built-in metric / scikit-learn's.
        ref = fit_km(X, 5, distances="matrix", metric=name, method=method)
        np.testing.assert_array_equal(km.medoid_indices_, ref.medoid_indices_)
        np.testing.assert_array_equal(km.labels_, ref.labels_)
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        assert km.inertia_ == pytest.approx(ref.inertia_, rel=rtol)
        assert km.cluster_centers_.dtype == dtype


def test_numba_metric_equals_python_callable(nb):
    X = blobs(120, 4, 3, seed=58, duplicates=False)
    for method in ("fasterpam", "alternate"):
        py = fit_km(X, 4, distances="matrix", metric=python_chebyshev, method=method)
        for distances in ("matrix", "on-the-fly"):
            jit = fit_km(X, 4, distances=distances, metric=nb.chebyshev, method=method)
            np.testing.assert_array_equal(jit.medoid_indices_, py.medoid_indices_)
            np.testing.assert_array_equal(jit.labels_, py.labels_)
            assert (jit.n_iter_, jit.n_swaps_) == (py.n_iter_, py.n_swaps_)
            assert jit.inertia_ == pytest.approx(py.inertia_, rel=1e-12)


@pytest.mark.parametrize("init", ["lab", "k-medoids++", "random"])
def test_numba_metric_random_init_same_either_way(nb, init):
    # KNOWN BUG: "The medoids are the same either way" (KMedoids.distances). With a numba
    # metric the on-the-fly spot check (_spot_check_metric) draws its 64 samples from the
    # estimator's RandomState, so the random initialisations then see another stream than with
    # the matrix: other initial medoids, and in general another result for the same
    # random_state (also when distances="auto" switches mode with the available memory).
    X = blobs(400, 8, 3, seed=57, duplicates=False)
    for seed in range(2):
        kw = dict(metric=nb.manhattan, init=init, random_state=seed)
        m0 = fit_km(X, 8, distances="matrix", max_iter=0, **kw)
        fly0 = fit_km(X, 8, distances="on-the-fly", max_iter=0, **kw)
        np.testing.assert_array_equal(fly0.medoid_indices_, m0.medoid_indices_)
        km = fit_km(X, 8, distances="matrix", **kw)
        fly = fit_km(X, 8, distances="on-the-fly", **kw)
        assert_identical(result_of(fly), result_of(km), f"{init} seed={seed}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_numba_feature_space_matrix(nb, dtype):
    X = blobs(150, 3, 4, seed=51, duplicates=False).astype(dtype)
    address = partita.medoids._numba_address(nb.chebyshev, X.dtype)
    space_type = (
        _core.medoids.FeatureSpace32 if dtype == np.float32 else _core.medoids.FeatureSpace64
    )
    space = space_type(X, _core.medoids.Metric.callback, address)
    D = space.distance_matrix(2)
    assert D.dtype == dtype
    ref = pairwise_distances(X.astype(np.float64), metric="chebyshev")
    np.testing.assert_allclose(D, ref, rtol=1e-12 if dtype == np.float64 else 1e-6, atol=0)
    np.testing.assert_array_equal(D, D.T)
    idx = np.array([149, 0, 75, 75], dtype=np.int64)
    np.testing.assert_array_equal(space.distances_to(idx, 2), D[idx])


@pytest.mark.parametrize("distances", ["matrix", "on-the-fly"])
def test_numba_asymmetric_metric_rejected(nb, distances):
    X = blobs(300, 3, 2, seed=52)
    for seed in range(3):  # the on-the-fly spot check draws its sample from random_state
        assert_fit_raises(
            KMedoids(3, metric=nb.asymmetric, distances=distances, random_state=seed),
            X,
            "symmetric",
        )
    assert_fit_raises(CLARA(3, metric=nb.asymmetric, random_state=0), X, "symmetric")
    assert_fit_raises(CLARANS(3, metric=nb.asymmetric, random_state=0), X, "symmetric")


def test_python_callable_with_nonzero_self_distance_rejected():
    # The reference behaviour for the numba test below.
    X = blobs(60, 3, 2, seed=53)
    assert_fit_raises(
        KMedoids(3, metric=lambda x, y: 1.0 + float(np.abs(x - y).sum())), X, r"d\(x, x\)"
    )


@pytest.mark.parametrize("distances", ["matrix", "on-the-fly"])
def test_numba_metric_with_nonzero_self_distance_rejected(nb, distances):
    # KNOWN BUG: the C++ FeatureSpace never evaluates f(x, x) (it writes 0 on the diagonal),
    # so the zero-diagonal check of _check_metric_values can never fire for a numba metric
    # and this metric is accepted, while the same plain Python function is rejected.
    X = blobs(60, 3, 2, seed=53)
    assert_fit_raises(KMedoids(3, metric=nb.nonzero_self, distances=distances), X, r"d\(x, x\)")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_numba_metric_transform_predict(nb, dtype):
    X = blobs(250, 4, 3, seed=54, duplicates=False).astype(dtype)
    Xn = blobs(30, 4, 3, seed=55, duplicates=False).astype(dtype)
    for distances in ("matrix", "on-the-fly"):
        km = fit_km(X, 4, distances=distances, metric=nb.manhattan)
        T = km.transform(Xn)
        assert T.dtype == dtype and T.shape == (30, 4)
        ref = np.array([[nb.manhattan(x, c) for c in km.cluster_centers_] for x in Xn])
        np.testing.assert_allclose(T, ref, rtol=1e-12 if dtype == np.float64 else 1e-6)
        np.testing.assert_array_equal(km.predict(Xn), np.argmin(T, axis=1))
        # predict on the training data reproduces labels_ (the same C++ arithmetic).
        np.testing.assert_array_equal(km.predict(X), km.labels_)
        builtin = fit_km(X, 4, distances=distances, metric="manhattan")
        np.testing.assert_array_equal(km.predict(Xn), builtin.predict(Xn))


def test_numba_metric_in_clara_and_clarans(nb):
    X = blobs(400, 4, 3, seed=56, duplicates=False)
    D = pairwise_distances(X, metric="manhattan")
    for est in (
        CLARA(4, metric=nb.manhattan, random_state=0, n_jobs=1),
        CLARANS(4, metric=nb.manhattan, random_state=0, n_jobs=1),
    ):
        est.fit(X)
        assert_valid_partition(est, X, "manhattan", 4)
        assert est.inertia_ == pytest.approx(om.total_deviation(D, est.medoid_indices_), rel=1e-9)


# ----------------------------------------------------------------------------------------------
# 4. CLARA
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def clara_spy(monkeypatch):
    """Records every CLARA round: the sample drawn, and the medoids and full-data loss scored."""
    log = {"samples": [], "scored": []}
    sample_distances, score = CLARA._sample_distances, CLARA._score

    def spy_sample(self, X, space, sample, threads):
        log["samples"].append(np.array(sample))
        return sample_distances(self, X, space, sample, threads)

    def spy_score(self, X, space, medoids, weights, threads):
        labels, loss = score(self, X, space, medoids, weights, threads)
        log["scored"].append((np.array(medoids), loss))
        return labels, loss

    monkeypatch.setattr(CLARA, "_sample_distances", spy_sample)
    monkeypatch.setattr(CLARA, "_score", spy_score)
    return log


@pytest.mark.parametrize("k", [1, 3, 10])
def test_clara_default_sample_size(clara_spy, k):
    X = blobs(400, 5, 2, seed=60 + k)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = CLARA(k, n_sampling=3, random_state=0).fit(X)
    assert [len(s) for s in clara_spy["samples"]] == [80 + 4 * k] * 3
    for s in clara_spy["samples"]:
        assert len(np.unique(s)) == len(s)
    assert est.n_iter_ == 3


def test_clara_sample_size_clamped_to_n(clara_spy):
    X = blobs(50, 3, 2, seed=63)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default (92 > 50) is clamped silently
        CLARA(3, n_sampling=2, random_state=0).fit(X)
    assert [len(s) for s in clara_spy["samples"]] == [50, 50]
    clara_spy["samples"].clear()
    with pytest.warns(UserWarning, match="sample_size=60 is larger than n_samples=50"):
        CLARA(3, n_sampling=2, sample_size=60, random_state=0).fit(X)
    assert [len(s) for s in clara_spy["samples"]] == [50, 50]
    clara_spy["samples"].clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # == n: no warning
        CLARA(3, n_sampling=1, sample_size=50, random_state=0).fit(X)
        CLARA(3, n_sampling=1, sample_size=7, random_state=0).fit(X)
    assert [len(s) for s in clara_spy["samples"]] == [50, 7]


def test_clara_rounds_keep_the_best_medoids(clara_spy):
    X = blobs(600, 6, 3, seed=64)
    w = some_weights(600, 64)
    est = CLARA(6, n_sampling=6, sample_size=60, random_state=1, n_jobs=1).fit(X, sample_weight=w)
    D = oracle_matrix(X, "euclidean")
    samples, scored = clara_spy["samples"], clara_spy["scored"]
    assert len(samples) == len(scored) == 6
    losses = [loss for _, loss in scored]
    np.testing.assert_array_equal(est.sample_losses_, losses)
    best = None
    for r, (medoids, loss) in enumerate(scored):
        if best is not None:  # each sample contains the best medoids so far
            assert set(best[0]) <= set(samples[r])
        assert set(medoids) <= set(samples[r])  # medoids come from the sample
        assert loss == pytest.approx(om.total_deviation(D, medoids, w=w), rel=1e-9)
        if best is None or loss < best[1]:
            best = (medoids, loss)
    np.testing.assert_array_equal(est.medoid_indices_, best[0])
    assert est.inertia_ == best[1] == min(losses)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "chebyshev"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_clara_result_invariants(metric, weighted):
    n, k = 700, 5
    X = blobs(n, k, 3, seed=66, duplicates=False)
    w = some_weights(n, 66) if weighted else None
    est = CLARA(k, metric=metric, n_sampling=4, random_state=3, n_jobs=1).fit(X, sample_weight=w)
    assert_valid_partition(est, X, metric, k)
    D = oracle_matrix(X, metric) if metric in METRICS else pairwise_distances(X, metric=metric)
    assert est.inertia_ == pytest.approx(om.total_deviation(D, est.medoid_indices_, w=w), rel=1e-9)
    assert est.sample_losses_.shape == (4,)
    assert est.inertia_ == est.sample_losses_.min()
    assert est.inertia_ <= est.sample_losses_[0]
    assert est.n_iter_ == 4
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    # deterministic, and independent of the thread count
    for n_jobs in (1, 2):
        again = CLARA(k, metric=metric, n_sampling=4, random_state=3, n_jobs=n_jobs)
        again.fit(X, sample_weight=w)
        assert_identical(result_of(again), result_of(est), f"n_jobs={n_jobs}")
        np.testing.assert_array_equal(again.sample_losses_, est.sample_losses_)


def test_clara_random_state():
    X = blobs(800, 8, 3, seed=67)
    runs = [CLARA(8, n_sampling=2, random_state=s, n_jobs=1).fit(X) for s in range(5)]
    assert len({tuple(r.sample_losses_) for r in runs}) > 1  # the samples depend on the seed
    rs = np.random.RandomState(5)
    a = CLARA(8, n_sampling=2, random_state=rs).fit(X)
    b = CLARA(8, n_sampling=2, random_state=np.random.RandomState(5)).fit(X)
    assert_identical(result_of(a), result_of(b))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_clara_precomputed_samples_the_matrix(dtype):
    X = blobs(500, 5, 3, seed=68, duplicates=False).astype(dtype)
    D = own_matrix(X, "euclidean")
    feat = CLARA(5, random_state=2, n_jobs=1).fit(X)
    pre = CLARA(5, metric="precomputed", random_state=2, n_jobs=1).fit(D)
    assert pre.cluster_centers_ is None
    np.testing.assert_array_equal(pre.medoid_indices_, feat.medoid_indices_)
    np.testing.assert_array_equal(pre.labels_, feat.labels_)
    assert pre.n_swaps_ == feat.n_swaps_
    # The precomputed loss is summed by NumPy, the feature one sequentially: equal up to rounding.
    assert pre.inertia_ == pytest.approx(feat.inertia_, rel=1e-9)
    np.testing.assert_allclose(pre.sample_losses_, feat.sample_losses_, rtol=1e-9)
    assert_valid_partition(pre, D.astype(np.float64), "precomputed", 5)
    np.testing.assert_array_equal(pre.transform(D[:10]), D[:10][:, pre.medoid_indices_])


def test_clara_zero_weights_do_not_count():
    X = blobs(300, 3, 2, seed=69, duplicates=False)
    far = X[:40] + 1000.0  # a far group with zero weight
    Xa = np.vstack([X, far])
    w = np.concatenate([some_weights(300, 69) + 0.1, np.zeros(40)])
    est = CLARA(3, n_sampling=3, sample_size=120, random_state=0, n_jobs=1).fit(Xa, sample_weight=w)
    assert np.all(est.medoid_indices_ < 300)  # no medoid for points that do not count
    D = oracle_matrix(Xa, "euclidean")
    assert est.inertia_ == pytest.approx(om.total_deviation(D, est.medoid_indices_, w=w), rel=1e-9)
    near = D[:300][:, est.medoid_indices_].min(axis=1)
    assert est.inertia_ == pytest.approx(float(np.dot(w[:300], near)), rel=1e-9)


@pytest.mark.parametrize("method", ["fasterpam", "fastpam1", "alternate"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_clara_full_sample_equals_kmedoids(method, weighted):
    n, k = 150, 4
    X = blobs(n, k, 3, seed=70)
    w = some_weights(n, 70) if weighted else None
    clara = CLARA(k, n_sampling=1, sample_size=n, method=method, random_state=0, n_jobs=1)
    clara.fit(X, sample_weight=w)
    km = KMedoids(k, method=method, n_jobs=1).fit(X, sample_weight=w)
    np.testing.assert_array_equal(clara.medoid_indices_, km.medoid_indices_)
    np.testing.assert_array_equal(clara.labels_, km.labels_)
    assert clara.inertia_ == km.inertia_
    assert clara.n_swaps_ == km.n_swaps_
    assert clara.n_iter_ == 1


@pytest.mark.parametrize("init", ["build", "lab", "k-medoids++", "random"])
@pytest.mark.parametrize("method", ["fasterpam", "fastpam1", "pam", "alternate"])
def test_clara_methods_and_inits(method, init):
    X = blobs(300, 4, 2, seed=71)
    est = CLARA(
        4, method=method, init=init, sample_size=40, n_sampling=3, random_state=0, n_jobs=1
    ).fit(X)
    assert_valid_partition(est, X, "euclidean", 4)
    D = oracle_matrix(X, "euclidean")
    assert est.inertia_ == pytest.approx(om.total_deviation(D, est.medoid_indices_), rel=1e-9)


def test_clara_float32():
    X = blobs(400, 4, 3, seed=72, duplicates=False).astype(np.float32)
    est = CLARA(4, random_state=0, n_jobs=1).fit(X)
    assert est.cluster_centers_.dtype == np.float32
    assert est.transform(X[:5]).dtype == np.float32
    assert_valid_partition(est, X, "euclidean", 4)
    D = oracle_matrix(X, "euclidean")
    assert est.inertia_ == pytest.approx(om.total_deviation(D, est.medoid_indices_), rel=1e-9)
    e64 = CLARA(4, random_state=0, n_jobs=1).fit(X.astype(np.float64))
    np.testing.assert_array_equal(est.medoid_indices_, e64.medoid_indices_)


def grid_duplicates():
    """Three distinct points, each four times: with k = 4 two medoids must coincide."""
    return np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]]), 4, axis=0)


@pytest.mark.parametrize("metric", ["euclidean", "chebyshev", "precomputed"])
def test_clara_coincident_medoids_follow_the_tie_rule(metric):
    # docs/algorithms.md, "Ties": with two medoids at the same point, every sample there (the
    # higher medoid's own included) goes to the lower cluster, as predict sends it.
    X = grid_duplicates()
    data = own_matrix(X, "euclidean") if metric == "precomputed" else X
    est = CLARA(4, metric=metric, random_state=0, n_jobs=1).fit(data)
    assert len(np.unique(est.medoid_indices_)) == 4
    D = pairwise_distances(X, metric="euclidean" if metric == "precomputed" else metric)
    np.testing.assert_array_equal(est.labels_, om.lowest_cluster_labels(D, est.medoid_indices_))
    assert len(np.unique(est.labels_)) == 3
    np.testing.assert_array_equal(est.predict(data), est.labels_)
    assert est.inertia_ == 0.0


# ----------------------------------------------------------------------------------------------
# 5. CLARANS
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clarans_data():
    X = blobs(500, 6, 3, seed=80, duplicates=False)
    return X, oracle_matrix(X, "euclidean")


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_clarans_result_invariants(clarans_data, weighted):
    X, D = clarans_data
    w = some_weights(len(X), 81) if weighted else None
    est = CLARANS(6, random_state=0, n_jobs=1).fit(X, sample_weight=w)
    assert_valid_partition(est, X, "euclidean", 6)
    assert est.inertia_ == pytest.approx(om.total_deviation(D, est.medoid_indices_, w=w), rel=1e-12)
    assert est.n_swaps_ >= 1 and est.n_iter_ >= est.n_swaps_ + math.ceil(0.025 * (500 - 6))
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    for n_jobs in (1, 2):
        again = CLARANS(6, random_state=0, n_jobs=n_jobs).fit(X, sample_weight=w)
        assert_identical(result_of(again), result_of(est), f"n_jobs={n_jobs}")


def test_clarans_random_state(clarans_data):
    X, _ = clarans_data
    runs = [CLARANS(6, random_state=s, n_jobs=1).fit(X) for s in range(5)]
    assert len({tuple(r.medoid_indices_) for r in runs}) > 1  # the seed matters
    a = CLARANS(6, random_state=np.random.RandomState(9)).fit(X)
    b = CLARANS(6, random_state=np.random.RandomState(9)).fit(X)
    assert_identical(result_of(a), result_of(b))


@pytest.mark.parametrize("seed", range(4))
def test_clarans_more_restarts_never_worse(clarans_data, seed):
    # The first restart draws from the same generator stream whatever n_local is, and the best
    # restart is kept: the best of two is at most the first.
    X, _ = clarans_data
    one = CLARANS(6, n_local=1, random_state=seed, n_jobs=1).fit(X)
    two = CLARANS(6, n_local=2, random_state=seed, n_jobs=1).fit(X)
    three = CLARANS(6, n_local=3, random_state=seed, n_jobs=1).fit(X)
    assert two.inertia_ <= one.inertia_
    assert three.inertia_ <= two.inertia_
    if two.inertia_ == one.inertia_:
        np.testing.assert_array_equal(two.medoid_indices_, one.medoid_indices_)


def test_clarans_default_max_neighbors(clarans_data):
    X, _ = clarans_data
    default = CLARANS(6, random_state=4, n_jobs=1).fit(X)
    explicit = CLARANS(6, max_neighbors=math.ceil(0.025 * (500 - 6)), random_state=4, n_jobs=1).fit(
        X
    )
    assert_identical(result_of(default), result_of(explicit))
    # tiny n: at least one neighbour
    tiny = CLARANS(2, random_state=0).fit(X[:10])
    assert tiny.n_iter_ >= 1


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_clarans_k_equals_n(weighted):
    X = blobs(9, 3, 2, seed=83)
    w = some_weights(9, 83) + 0.5 if weighted else None
    est = CLARANS(9, random_state=0).fit(X, sample_weight=w)
    assert sorted(est.medoid_indices_) == list(range(9))
    np.testing.assert_array_equal(est.labels_[est.medoid_indices_], np.arange(9))
    assert est.inertia_ == 0.0


@pytest.mark.parametrize("max_neighbors", [None, 400])
def test_clarans_single_cluster(max_neighbors):
    # KNOWN BUG: with n_clusters=1 clarans() in medoids.hpp swaps every point's nearest slot to
    # the unset second nearest (slot -1, distance 0) and removal_loss() then writes
    # removal[-1]: heap corruption, the process aborts. Hence the child process.
    X = blobs(40, 2, 2, seed=84, duplicates=False)
    D = oracle_matrix(X, "euclidean")
    est = CLARANS(1, max_neighbors=max_neighbors, random_state=0, n_jobs=1)
    est = run_isolated(est.fit, X)
    assert est.medoid_indices_.shape == (1,)
    np.testing.assert_array_equal(est.labels_, np.zeros(40))
    assert est.inertia_ == pytest.approx(D[est.medoid_indices_[0]].sum(), rel=1e-12)
    if max_neighbors is not None:  # every candidate examined: the exact 1-medoid
        assert est.medoid_indices_[0] == np.argmin(D.sum(axis=0))


def test_clarans_on_the_fly_equals_matrix(monkeypatch, clarans_data):
    X, _ = clarans_data
    w = some_weights(len(X), 85)
    sources = []
    clarans = _core.medoids.clarans

    def spy(source, *args):
        sources.append(type(source).__name__)
        return clarans(source, *args)

    monkeypatch.setattr(_core.medoids, "clarans", spy)
    for dtype in DTYPES:
        Xd = X.astype(dtype)
        ref = CLARANS(6, random_state=5, n_jobs=1).fit(Xd, sample_weight=w)
        monkeypatch.setattr(partita._validation, "available_memory", lambda: 1000)
        for n_jobs in (1, 2):
            fly = CLARANS(6, random_state=5, n_jobs=n_jobs).fit(Xd, sample_weight=w)
            assert_identical(result_of(fly), result_of(ref), f"{np.dtype(dtype).name} {n_jobs}")
        monkeypatch.undo()
        monkeypatch.setattr(_core.medoids, "clarans", spy)
    assert sources == [
        "ndarray",
        "FeatureSpace64",
        "FeatureSpace64",
        "ndarray",
        "FeatureSpace32",
        "FeatureSpace32",
    ]


@pytest.mark.parametrize("seed", [0, 1])
def test_clarans_local_optimum_with_many_neighbors(seed):
    # With max_neighbors = 30 n consecutive rejections, every candidate has been scored against
    # the final medoids: no single swap can improve the loss beyond rounding.
    n, k = 60, 4
    X = blobs(n, k, 2, seed=86 + seed, duplicates=False)
    D = oracle_matrix(X, "euclidean")
    est = CLARANS(k, max_neighbors=30 * n, n_local=1, random_state=seed, n_jobs=1).fit(X)
    med = est.medoid_indices_
    loss = om.total_deviation(D, med)
    assert est.inertia_ == pytest.approx(loss, rel=1e-12)
    tol = 1e-10 * loss
    for j in range(n):
        if j in med:
            continue
        delta, _ = om.score_candidate(D, med, j)
        assert delta >= -tol, (j, delta)
        for slot in range(k):  # brute force: the loss after each swap
            swapped = med.copy()
            swapped[slot] = j
            assert D[:, swapped].min(axis=1).sum() >= loss - tol, (slot, j)


def test_clarans_precomputed_and_chebyshev(clarans_data):
    X, D = clarans_data
    feat = CLARANS(6, random_state=6, n_jobs=1).fit(X)
    pre = CLARANS(6, metric="precomputed", random_state=6, n_jobs=1).fit(D)
    assert_identical(result_of(pre), result_of(feat))
    assert pre.cluster_centers_ is None
    cheb = CLARANS(6, metric="chebyshev", random_state=6, n_jobs=1).fit(X)
    assert_valid_partition(cheb, X, "chebyshev", 6)
    Dc = pairwise_distances(X, metric="chebyshev")
    assert cheb.inertia_ == pytest.approx(om.total_deviation(Dc, cheb.medoid_indices_), rel=1e-9)


def test_clarans_float32(clarans_data):
    X, _ = clarans_data
    est = CLARANS(6, random_state=0, n_jobs=1).fit(X.astype(np.float32))
    assert est.cluster_centers_.dtype == np.float32
    assert_valid_partition(est, X.astype(np.float32), "euclidean", 6)
    D32 = oracle_matrix(X.astype(np.float32), "euclidean")
    assert est.inertia_ == om.total_deviation(D32, est.medoid_indices_)


# ----------------------------------------------------------------------------------------------
# 6. scikit-learn's estimator checks
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [CLARA, CLARANS])
def test_pairwise_tag_follows_metric(cls):
    assert cls(metric="precomputed").__sklearn_tags__().input_tags.pairwise is True
    assert cls().__sklearn_tags__().input_tags.pairwise is False


def test_clara_and_clarans_verbose(capsys):
    X, _ = make_blobs(400, centers=4, random_state=5)
    clara = CLARA(4, n_sampling=3, random_state=0, verbose=1).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split(":")[0] for ln in lines] == [f"[CLARA] round {r}/3" for r in (1, 2, 3)]
    assert f"best {clara.inertia_:.6g}" in lines[-1]
    for line, loss in zip(lines, clara.sample_losses_):
        assert f"loss {loss:.6g}" in line
    clarans = CLARANS(4, random_state=0, verbose=1).fit(X)
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("[CLARANS] 2 restarts") and f"loss {clarans.inertia_:.6g}" in line
    assert f"{clarans.n_swaps_} swaps" in line
    CLARA(4, random_state=0).fit(X)
    CLARANS(4, random_state=0).fit(X)
    assert capsys.readouterr().out == ""
