"""Bad input to KMedoids, CLARA and CLARANS: each case gets a clear error and leaves the
estimator unfitted.

Also: MemoryError before allocating the distance matrix, and Ctrl-C during a long fit.
"""

import os
import signal
import threading
import time

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError

import partita
import partita._validation
from partita import CLARA, CLARANS, KMedoids, _core

from conftest import assert_unfitted

N = 20


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).rand(N, 3)


@pytest.fixture(scope="module")
def D(X):
    return np.ascontiguousarray(cdist(X, X))


def assert_fit_raises(km, data, match, exc=ValueError, **fit_params):
    """The fit raises `exc` matching `match` and leaves `km` unfitted; returns the message."""
    with pytest.raises(exc, match=match) as info:
        km.fit(data, **fit_params)
    assert_unfitted(km)
    return str(info.value)


# ----------------------------------------------------------------------------------------------
# non-finite values
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, match", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_non_finite_features(X, value, match, dtype):
    Xb = X.astype(dtype)
    Xb[3, 1] = value
    assert_fit_raises(KMedoids(3), Xb, match)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_precomputed(D, value):
    Db = D.copy()
    Db[3, 4] = Db[4, 3] = value
    assert_fit_raises(KMedoids(3, metric="precomputed"), Db, "NaN or infinity")


def test_non_finite_predict_input(X):
    km = KMedoids(3).fit(X)
    Xb = X.copy()
    Xb[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        km.predict(Xb)


# ----------------------------------------------------------------------------------------------
# invalid precomputed distance matrices
# ----------------------------------------------------------------------------------------------


def test_non_square_precomputed(D):
    assert_fit_raises(
        KMedoids(3, metric="precomputed"), D[:, :10], r"square distance matrix.*\(20, 10\)"
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_negative_precomputed(D, dtype):
    Db = D.astype(dtype)
    Db[3, 4] = Db[4, 3] = -1.0
    assert_fit_raises(KMedoids(3, metric="precomputed"), Db, "non-negative")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_asymmetric_precomputed(D, dtype):
    Db = D.astype(dtype)
    Db[3, 4] += 0.5
    assert_fit_raises(KMedoids(3, metric="precomputed"), Db, "symmetric")


def test_directed_precomputed_matrix(X):
    """A genuinely directed dissimilarity (upper triangle doubled)."""
    Db = cdist(X, X)
    Db[np.triu_indices(N, 1)] *= 2.0
    assert_fit_raises(KMedoids(3, metric="precomputed"), Db, "symmetric")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nonzero_diagonal_precomputed(D, dtype):
    Db = D.astype(dtype)
    Db[5, 5] = 0.1
    assert_fit_raises(KMedoids(3, metric="precomputed"), Db, "zero diagonal")


def test_negative_precomputed_at_predict(D):
    km = KMedoids(3, metric="precomputed").fit(D)
    with pytest.raises(ValueError, match="non-negative"):
        km.predict(-D)


def test_precomputed_predict_with_wrong_number_of_training_samples(D):
    km = KMedoids(3, metric="precomputed").fit(D)
    with pytest.raises(ValueError, match="20 features"):
        km.predict(D[:, :10])


# ----------------------------------------------------------------------------------------------
# invalid metric callables
# ----------------------------------------------------------------------------------------------


def test_metric_callable_returning_negative_distances(X):
    assert_fit_raises(KMedoids(3, metric=lambda a, b: -abs(a[0] - b[0])), X, "negative distances")


def test_metric_callable_returning_nan(X):
    assert_fit_raises(KMedoids(3, metric=lambda a, b: np.nan), X, "NaN or infinite")


def test_asymmetric_metric_callable(X):
    """medoids.py promises a ValueError for a callable with d(x, y) != d(y, x)."""

    def directed(a, b):
        return abs(a[0] - b[0]) + (1.0 if a[0] > b[0] else 0.0)

    assert directed(X[0], X[1]) != directed(X[1], X[0])
    assert_fit_raises(KMedoids(3, metric=directed), X, "not symmetric")


def test_metric_callable_with_nonzero_self_distance(X):
    """A precomputed matrix must have a zero diagonal; a callable with d(x, x) != 0 breaks the
    same assumption (the loss drops the medoids' self-distances, score() does not)."""

    def metric(a, b):
        return abs(a[0] - b[0]) + 1.0

    assert_fit_raises(KMedoids(3, metric=metric), X, "diagonal|self")


@pytest.mark.parametrize(
    "metric, match", [("no-such-metric", "metric"), (3, "metric"), (None, "metric")]
)
def test_bad_metric(X, metric, match):
    assert_fit_raises(KMedoids(3, metric=metric), X, match)


# ----------------------------------------------------------------------------------------------
# n_clusters
# ----------------------------------------------------------------------------------------------


def test_more_clusters_than_samples(X, D):
    assert_fit_raises(KMedoids(N + 1), X, r"n_clusters=21 must be <= n_samples=20")
    assert_fit_raises(
        KMedoids(N + 1, metric="precomputed"), D, r"n_clusters=21 must be <= n_samples=20"
    )


@pytest.mark.parametrize("k", [0, -1])
def test_non_positive_n_clusters(X, k):
    assert_fit_raises(KMedoids(k), X, "n_clusters must be an integer >= 1")


@pytest.mark.parametrize("k", [2.5, "3", 3.0, None, True])
def test_non_integer_n_clusters(X, k):
    assert_fit_raises(KMedoids(k), X, "n_clusters must be an integer")


def test_numpy_integer_n_clusters_is_accepted(X):
    km = KMedoids(np.int64(3)).fit(X)
    assert km.medoid_indices_.shape == (3,)


# ----------------------------------------------------------------------------------------------
# shapes and dtypes
# ----------------------------------------------------------------------------------------------


def test_empty_input():
    assert_fit_raises(KMedoids(3), np.empty((0, 3)), "0 sample")
    assert_fit_raises(KMedoids(3, metric="precomputed"), np.empty((0, 0)), "0 sample")


def test_no_features():
    assert_fit_raises(KMedoids(3), np.empty((5, 0)), "0 feature")


def test_1d_input(X):
    assert_fit_raises(KMedoids(3), X[:, 0], "Expected 2D array")


def test_3d_input(X):
    assert_fit_raises(KMedoids(3), X[None], "dim 3")


def test_complex_input(X):
    assert_fit_raises(KMedoids(3), X + 1j, "Complex data not supported")


def test_string_input():
    data = np.array([["a", "b"]] * 10)
    assert_fit_raises(KMedoids(3), data, "could not convert string to float")


def test_object_input_with_strings():
    data = np.array([["a", 1.0]] * 10, dtype=object)
    assert_fit_raises(KMedoids(3), data, "could not convert string to float")


def test_object_input_with_arbitrary_objects():
    # float(object()) raises TypeError inside scikit-learn's validation; accept either
    data = np.array([[object(), 1.0]] * 10, dtype=object)
    km = KMedoids(3)
    with pytest.raises((TypeError, ValueError), match="float"):
        km.fit(data)
    assert_unfitted(km)


def test_wrong_number_of_features_at_predict(X):
    km = KMedoids(3).fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but KMedoids is expecting 3"):
        km.predict(X[:, :2])
    with pytest.raises(ValueError, match="X has 2 features"):
        km.transform(X[:, :2])


def test_predict_after_a_failed_fit_raises_not_fitted(X):
    km = KMedoids(N + 1)
    with pytest.raises(ValueError, match="n_clusters"):
        km.fit(X)
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(NotFittedError):
            method(X)


def test_unfitted_predict_transform_score(X):
    km = KMedoids(3)
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(NotFittedError):
            method(X)


# ----------------------------------------------------------------------------------------------
# method, init and other parameters
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["foo", "FasterPAM", "", None, "kmeans"])
def test_bad_method(X, method):
    assert_fit_raises(KMedoids(3, method=method), X, "method must be one of 'fasterpam'")


@pytest.mark.parametrize("init", ["kmeans++", "k-means++", "BUILD", ""])
def test_bad_init_string(X, init):
    assert_fit_raises(KMedoids(3, init=init), X, "init must be one of 'build'")


@pytest.mark.parametrize("init", [5, None, 2.0])
def test_bad_init_type(X, init):
    assert_fit_raises(KMedoids(3, init=init), X, "init must be one of")


@pytest.mark.parametrize(
    "init, match",
    [
        ([0, 0, 1], "distinct"),
        ([4, 7, 4], "distinct"),
        ([0, 1, N], r"init indices must be in \[0, 19\]"),
        ([0, 1, -1], r"init indices must be in \[0, 19\]"),
        ([0, 1], r"n_clusters=3 sample indices, got shape \(2,\)"),
        ([0, 1, 2, 3], r"n_clusters=3 sample indices, got shape \(4,\)"),
        ([[0, 1, 2]], r"got shape \(1, 3\)"),
        ([0, 1, 2.5], "integer sample indices"),
        ([0.0, 1.0, np.nan], "integer sample indices"),
        (["0", "1", "2"], "integer sample indices"),
    ],
)
def test_bad_init_array(X, D, init, match):
    assert_fit_raises(KMedoids(3, init=init), X, match)
    assert_fit_raises(KMedoids(3, init=init, metric="precomputed"), D, match)


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (-np.ones(N), "non-negative"),
        (np.r_[-1.0, np.ones(N - 1)], "non-negative"),
        (np.r_[np.nan, np.ones(N - 1)], "NaN or infinity"),
        (np.r_[np.inf, np.ones(N - 1)], "NaN or infinity"),
        (np.ones(N - 1), r"sample_weight.shape == \(19,\), expected \(20,\)"),
        (np.ones(N + 1), r"sample_weight.shape == \(21,\), expected \(20,\)"),
        (np.ones((N, 1)), r"expected \(20,\)"),
        (np.zeros(N), "positive sum|zero"),
    ],
)
def test_bad_sample_weight(X, D, sample_weight, match):
    assert_fit_raises(KMedoids(3), X, match, sample_weight=sample_weight)
    assert_fit_raises(KMedoids(3, metric="precomputed"), D, match, sample_weight=sample_weight)


def test_all_zero_sample_weight_message_says_zero(X):
    # sklearn check_all_zero_sample_weights_error wants "weight ... zero" or "zero ... weight"
    assert_fit_raises(
        KMedoids(3), X, r"(.*weight.*zero.*)|(.*zero.*weight.*)", sample_weight=np.zeros(N)
    )


@pytest.mark.parametrize(
    "max_iter, match",
    [
        (-1, "max_iter must be an integer >= 0"),
        (2.5, "max_iter must be an integer"),
        (None, "max_iter"),
    ],
)
def test_bad_max_iter(X, max_iter, match):
    assert_fit_raises(KMedoids(3, max_iter=max_iter), X, match)


@pytest.mark.parametrize("n_jobs, match", [(0, "n_jobs == 0"), (1.5, "n_jobs"), ("2", "n_jobs")])
def test_bad_n_jobs(X, n_jobs, match):
    assert_fit_raises(KMedoids(3, n_jobs=n_jobs), X, match)


@pytest.mark.parametrize("estimator", [KMedoids, CLARA, CLARANS])
@pytest.mark.parametrize("verbose", [-1, "yes"])
def test_bad_verbose(X, verbose, estimator):
    assert_fit_raises(estimator(3, verbose=verbose), X, "verbose")


@pytest.mark.skipif(partita.cuda_available(), reason="needs a machine without a usable GPU")
@pytest.mark.parametrize("estimator", [KMedoids, CLARA, CLARANS])
def test_device_cuda_without_gpu_or_kernels(X, estimator):
    # without the CUDA module or a GPU, "cuda" cannot work
    assert_fit_raises(estimator(3, device="cuda"), X, "cuda")


@pytest.mark.skipif(partita.cuda_available(), reason="needs a machine without a usable GPU")
def test_device_cuda_when_cuda_is_unavailable(X):
    assert partita.cuda_available() is False
    assert_fit_raises(KMedoids(3, device="cuda"), X, "cuda")


@pytest.mark.parametrize("device", ["gpu", "GPU", "cuda:0", None])
def test_unknown_device(X, device):
    assert_fit_raises(KMedoids(3, device=device), X, "device must be one of 'cpu', 'cuda', 'auto'")


def test_device_auto_runs_on_cpu(X):
    a = KMedoids(3, device="auto").fit(X)
    b = KMedoids(3, device="cpu").fit(X)
    np.testing.assert_array_equal(a.medoid_indices_, b.medoid_indices_)


# ----------------------------------------------------------------------------------------------
# memory
# ----------------------------------------------------------------------------------------------


def test_memory_error_before_allocation(monkeypatch):
    monkeypatch.setattr(partita._validation, "available_memory", lambda: 1000)
    X = np.random.RandomState(0).rand(200, 2)
    km = KMedoids(3, distances="matrix")
    with pytest.raises(MemoryError, match="200 x 200") as info:
        km.fit(X)
    msg = str(info.value)
    assert "needs 312.5 KiB" in msg and "only 1000 bytes" in msg
    assert "float64" in msg
    assert "float32" in msg and "on-the-fly" in msg  # names the alternatives
    assert_unfitted(km)


def test_auto_distances_go_on_the_fly_when_the_matrix_does_not_fit(monkeypatch):
    X = np.random.RandomState(0).rand(200, 2)
    stored = KMedoids(3, distances="matrix").fit(X)
    monkeypatch.setattr(partita._validation, "available_memory", lambda: 1000)
    km = KMedoids(3).fit(X)
    assert km.distances_ == "on-the-fly" and stored.distances_ == "matrix"
    np.testing.assert_array_equal(km.medoid_indices_, stored.medoid_indices_)
    assert km.inertia_ == stored.inertia_


def test_precomputed_matrix_too_large_for_a_callable_metric(monkeypatch):
    """A Python callable cannot run on the fly: with no room for the matrix, MemoryError."""
    monkeypatch.setattr(partita._validation, "available_memory", lambda: 1000)
    km = KMedoids(3, metric=lambda a, b: float(np.abs(a - b).sum()))
    with pytest.raises(MemoryError, match="200 x 200"):
        km.fit(np.random.RandomState(0).rand(200, 2))
    assert_unfitted(km)


@pytest.mark.parametrize("dtype, size", [(np.float64, "3.0 GiB"), (np.float32, "1.5 GiB")])
def test_memory_error_names_the_size(monkeypatch, dtype, size):
    """20000 x 20000 needs 3.0 GiB in float64 (1.5 GiB in float32); the check comes before any
    allocation, so the test itself needs only the 20000 x 2 input."""
    monkeypatch.setattr(partita._validation, "available_memory", lambda: 2**30)
    X = np.random.RandomState(0).rand(20000, 2).astype(dtype)
    km = KMedoids(3, distances="matrix")
    with pytest.raises(MemoryError, match="20000 x 20000") as info:
        km.fit(X)
    msg = str(info.value)
    assert f"needs {size}" in msg
    assert "only 1.0 GiB" in msg
    assert_unfitted(km)


def test_no_memory_error_when_memory_is_unknown(monkeypatch):
    monkeypatch.setattr(partita._validation, "available_memory", lambda: None)
    km = KMedoids(3).fit(np.random.RandomState(0).rand(50, 2))
    assert km.medoid_indices_.shape == (3,)


# ----------------------------------------------------------------------------------------------
# Ctrl-C
# ----------------------------------------------------------------------------------------------


def test_keyboard_interrupt_aborts_a_long_fit():
    """SIGINT during PAM (about 20 s uninterrupted on 2 cores) raises KeyboardInterrupt promptly
    and leaves the estimator unfitted."""
    X, _ = make_blobs(n_samples=3000, centers=40, random_state=0)
    D = np.ascontiguousarray(cdist(X, X))
    km = KMedoids(n_clusters=40, method="pam", metric="precomputed")

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    interrupted = False
    t0 = time.perf_counter()
    try:
        try:
            timer.start()
            try:
                km.fit(D)
            finally:
                timer.cancel()
                timer.join()
        except KeyboardInterrupt:
            interrupted = True
        elapsed = time.perf_counter() - t0
    finally:
        signal.signal(signal.SIGINT, previous)

    assert interrupted, "the fit finished before SIGINT arrived: make the problem bigger"
    # the kernels check for Ctrl-C at least every ~0.5 s
    assert elapsed < 0.5 + 2.5, f"KeyboardInterrupt came {elapsed - 0.5:.1f} s after SIGINT"
    assert_unfitted(km)


def blobs(n, centers, n_features, seed):
    """Blobs with a few exact duplicates."""
    X, _ = make_blobs(
        n_samples=n, centers=centers, n_features=n_features, cluster_std=1.5, random_state=seed
    )
    if n > 10:
        X[7] = X[3]
        X[n - 1] = X[n // 2]
    return np.ascontiguousarray(X)


# ----------------------------------------------------------------------------------------------
# distance modes (distances=...)
# ----------------------------------------------------------------------------------------------


def test_on_the_fly_rejects_precomputed():
    X = blobs(30, 3, 2, seed=40)
    D = _core.medoids.FeatureSpace64(X, _core.medoids.Metric.euclidean).distance_matrix(1)
    assert_fit_raises(KMedoids(3, metric="precomputed", distances="on-the-fly"), D, "on-the-fly")


@pytest.mark.parametrize(
    "metric",
    ["chebyshev", "minkowski", lambda a, b: float(np.abs(a - b).sum())],
    ids=["chebyshev", "minkowski", "python-callable"],
)
def test_on_the_fly_rejects_other_metrics(metric):
    X = blobs(30, 3, 2, seed=41)
    message = assert_fit_raises(KMedoids(3, metric=metric, distances="on-the-fly"), X, "on-the-fly")
    for name in ("euclidean", "sqeuclidean", "manhattan", "cosine"):
        assert name in message  # names the supported metrics
    assert "numba" in message


@pytest.mark.parametrize("distances", ["bogus", "", None, "ON-THE-FLY", 1])
def test_bad_distances_mode(distances):
    X = blobs(30, 3, 2, seed=42)
    assert_fit_raises(KMedoids(3, distances=distances), X, "distances")


# ----------------------------------------------------------------------------------------------
# CLARA and CLARANS parameters
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_clusters=5, sample_size=4), "sample_size"),
        (dict(n_clusters=3, sample_size=0), "sample_size"),
        (dict(n_clusters=3, sample_size=2.5), "sample_size"),
        (dict(n_clusters=3, n_sampling=0), "n_sampling"),
        (dict(n_clusters=3, n_sampling=-1), "n_sampling"),
        (dict(n_clusters=3, init=np.array([0, 1, 2])), "init"),
        (dict(n_clusters=3, init=[0, 1, 2]), "init"),
        (dict(n_clusters=3, init="bogus"), "init"),
        (dict(n_clusters=3, method="bogus"), "method"),
        (dict(n_clusters=3, max_iter=-1), "max_iter"),
        (dict(n_clusters=0), "n_clusters"),
        (dict(n_clusters=41), "n_clusters"),
    ],
)
def test_clara_bad_parameters(params, match):
    X = blobs(40, 3, 2, seed=65)
    assert_fit_raises(CLARA(**params), X, match)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(max_neighbors=0), "max_neighbors"),
        (dict(max_neighbors=-3), "max_neighbors"),
        (dict(max_neighbors=2.5), "max_neighbors"),
        (dict(n_local=0), "n_local"),
        (dict(n_local=1.0), "n_local"),
        (dict(n_clusters=0), "n_clusters"),
        (dict(n_clusters=31), "n_clusters"),
        (dict(metric=3), "metric"),
    ],
)
def test_clarans_bad_parameters(params, match):
    X = blobs(30, 3, 2, seed=82)
    params.setdefault("n_clusters", 3)
    assert_fit_raises(CLARANS(**params), X, match)


@pytest.mark.parametrize("estimator", [KMedoids, CLARA, CLARANS])
def test_bad_metric_params(X, estimator):
    assert_fit_raises(
        estimator(3, metric="minkowski", metric_params=[("p", 3)]),
        X,
        "metric_params must be None or a dict",
    )
    assert_fit_raises(
        estimator(3, metric="cosine", metric_params={"p": 3}),
        X,
        "metric_params .* cannot be used with metric='cosine'",
    )


def test_mahalanobis_with_a_singular_covariance_says_what_to_pass(X):
    collinear = np.column_stack([X, X[:, 0] + X[:, 1]])
    assert_fit_raises(
        KMedoids(3, metric="mahalanobis"), collinear, "singular; pass metric_params=\\{'VI'"
    )
    assert_fit_raises(KMedoids(1, metric="seuclidean"), X[:1], "at least 2 samples")


@pytest.mark.parametrize(
    "weight", [np.ones(30) + 1j, np.array(["1"] * 30)], ids=["complex", "strings"]
)
@pytest.mark.parametrize(
    "make",
    [lambda: KMedoids(3), lambda: CLARA(3), lambda: CLARANS(3), lambda: partita.DynMSC(2, 4)],
)
def test_non_real_sample_weight_is_refused(make, weight):
    # A cast to float64 would drop the imaginary part or parse the strings silently.
    X = np.random.RandomState(0).rand(30, 2)
    est = make()
    with pytest.raises(ValueError, match="sample_weight must be"):
        est.fit(X, sample_weight=weight)
    assert_unfitted(est)


@pytest.mark.parametrize("seed", range(6))
def test_pamsil_never_tries_a_medoid_of_another_slot(seed):
    # With k close to n the labels of the last trial were stale after a swap, so a medoid of
    # one slot could be swapped into another: duplicate medoids (n=4, k=3 from BUILD did it).
    X = np.random.default_rng(seed).normal(size=(12, 2))
    for k in (3, 9, 10, 11):
        km = KMedoids(k, method="pamsil", random_state=0).fit(X)
        assert np.unique(km.medoid_indices_).size == k
    X = np.random.default_rng(6).normal(size=(4, 2))
    km = KMedoids(3, method="pamsil").fit(X)
    assert np.unique(km.medoid_indices_).size == 3


def test_silhouette_labels_that_cannot_be_sorted_are_refused():
    from partita.metrics import silhouette

    X = np.random.RandomState(0).rand(6, 2)
    with pytest.raises(ValueError, match="labels must be mutually comparable"):
        silhouette(X, np.array([0, "a", 0, "a", 1, "b"], dtype=object))
