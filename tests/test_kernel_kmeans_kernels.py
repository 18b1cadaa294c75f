"""The compiled kernel k-means (_core.kernel_kmeans) against the NumPy oracle
(tests/oracles/kernel_kmeans.py) and scikit-learn's Lloyd KMeans (linear kernel), and against
itself: stored vs blocked Gram, any number of threads."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import pairwise_kernels

import partita._validation
from partita import KernelKMeans, _core

from oracles import kernel_kmeans


def blobs(n=300, d=4, centers=5, seed=0, dtype=np.float64):
    X, _ = make_blobs(n, n_features=d, centers=centers, cluster_std=2.0, random_state=seed)
    return X.astype(dtype)


def assert_same_as_oracle(est, ref, rtol=1e-9):
    np.testing.assert_array_equal(est.labels_, ref["labels"])
    assert est.n_iter_ == ref["n_iter"]
    assert est.converged_ == ref["converged"]
    assert est.n_reseeded_ == ref["n_reseeded"]
    np.testing.assert_allclose(est.inertia_, ref["inertia"], rtol=rtol, atol=1e-12)


# ---- exactness against the oracle ------------------------------------------------------------


@pytest.mark.parametrize(
    "kernel, params",
    [
        ("rbf", dict(gamma=0.1)),
        ("linear", {}),
        ("poly", dict(gamma=0.05, degree=2, coef0=1.0)),
        ("laplacian", dict(gamma=0.2)),
        ("sigmoid", dict(gamma=0.01, coef0=0.5)),
    ],
)
@pytest.mark.parametrize("tol", [0.0, 1e-4])
def test_builtin_kernels_match_oracle(kernel, params, tol):
    X = blobs(seed=1)
    seeds = np.random.default_rng(0).choice(len(X), 5, replace=False)
    K = pairwise_kernels(X, metric=kernel, filter_params=True, **params)
    ref = kernel_kmeans.kernel_kmeans(K, seeds, tol=tol)
    est = KernelKMeans(5, kernel=kernel, init=seeds, tol=tol, **params).fit(X)
    assert_same_as_oracle(est, ref)
    # The fitted transform equals the oracle's distances to the final centres.
    np.testing.assert_allclose(est.transform(X), ref["distances"], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_precomputed_random_weights_match_oracle(seed):
    rng = np.random.default_rng(seed)
    X = blobs(n=200, seed=seed)
    w = rng.uniform(0.1, 3.0, len(X))
    w[rng.choice(len(X), 10, replace=False)] = 0.0  # zero weights: assigned, never in a centre
    K = pairwise_kernels(X, metric="rbf", gamma=0.05)
    seeds = rng.choice(np.flatnonzero(w > 0), 6, replace=False)
    ref = kernel_kmeans.kernel_kmeans(K, seeds, w, tol=0.0)
    est = KernelKMeans(6, kernel="precomputed", init=seeds, tol=0.0).fit(K, sample_weight=w)
    assert_same_as_oracle(est, ref)
    # and the same from the features
    est2 = KernelKMeans(6, kernel="rbf", gamma=0.05, init=seeds, tol=0.0).fit(X, sample_weight=w)
    assert_same_as_oracle(est2, ref)


def test_k_equals_one_and_k_equals_n():
    X = blobs(n=40)
    K = pairwise_kernels(X, metric="rbf", gamma=0.1)
    est = KernelKMeans(1, kernel="precomputed", init=[7]).fit(K)
    ref = kernel_kmeans.kernel_kmeans(K, [7])
    assert_same_as_oracle(est, ref)
    assert np.all(est.labels_ == 0)
    perm = np.random.default_rng(0).permutation(40)
    est = KernelKMeans(40, kernel="precomputed", init=perm).fit(K)
    assert_same_as_oracle(est, kernel_kmeans.kernel_kmeans(K, perm))
    assert sorted(est.labels_) == list(range(40)) and est.inertia_ == pytest.approx(0, abs=1e-9)


def test_ties_and_duplicates_match_oracle():
    # Four groups of exact duplicates: every distance ties between duplicated seeds.
    base = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    X = np.repeat(base, 5, axis=0)
    K = pairwise_kernels(X, metric="linear")
    seeds = np.array([0, 1, 2, 10])  # 0 and 1 are the same point: ties go to cluster 0
    ref = kernel_kmeans.kernel_kmeans(K, seeds, tol=0.0)
    est = KernelKMeans(4, kernel="linear", init=seeds, tol=0.0).fit(X)
    assert_same_as_oracle(est, ref)
    assert ref["n_reseeded"] > 0  # cluster 1 starts empty and is re-seeded
    assert len(np.unique(est.labels_)) == 4


def test_empty_cluster_is_reseeded_and_no_cluster_is_lost():
    # Seeds 0 and 1 are the same sample value: cluster 1 is empty after the first assignment.
    rng = np.random.default_rng(3)
    X = np.vstack(
        [rng.normal(0, 0.3, (30, 2)), rng.normal(6, 0.3, (30, 2)), rng.normal([0, 6], 0.3, (30, 2))]
    )
    X[1] = X[0]
    seeds = np.array([0, 1, 30])
    est = KernelKMeans(3, kernel="rbf", gamma=0.1, init=seeds, tol=0.0).fit(X)
    ref = kernel_kmeans.kernel_kmeans(pairwise_kernels(X, metric="rbf", gamma=0.1), seeds, tol=0.0)
    assert_same_as_oracle(est, ref)
    assert est.n_reseeded_ >= 1
    assert np.all(est.cluster_sizes_ > 0) and len(np.unique(est.labels_)) == 3


# ---- scikit-learn's Lloyd KMeans ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_kernel_equals_sklearn_lloyd(seed, dtype):
    X = blobs(n=400, d=3, centers=6, seed=seed, dtype=dtype)
    idx = np.random.default_rng(seed).choice(len(X), 6, replace=False)
    est = KernelKMeans(6, kernel="linear", init=idx, tol=0.0, max_iter=300).fit(X)
    ref = KMeans(6, init=X[idx], n_init=1, algorithm="lloyd", tol=0.0, max_iter=300).fit(X)
    np.testing.assert_array_equal(est.labels_, ref.labels_)
    np.testing.assert_allclose(
        est.inertia_, ref.inertia_, rtol=1e-4 if dtype == np.float32 else 1e-9
    )


# ---- stored vs blocked, threads -------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel", ["rbf", "linear", "laplacian"])
def test_blocked_gram_equals_stored(monkeypatch, dtype, kernel):
    X = blobs(n=2500, d=5, centers=8, seed=4, dtype=dtype)  # more than one column chunk
    stored = KernelKMeans(8, kernel=kernel, random_state=0, tol=0.0).fit(X)
    assert stored.gram_ == "stored"
    monkeypatch.setattr(partita._validation, "available_memory", lambda: 1000)
    blocked = KernelKMeans(8, kernel=kernel, random_state=0, tol=0.0).fit(X)
    assert blocked.gram_ == "blocked"
    np.testing.assert_array_equal(stored.labels_, blocked.labels_)
    assert stored.inertia_ == blocked.inertia_ and stored.n_iter_ == blocked.n_iter_
    np.testing.assert_array_equal(blocked.predict(X), blocked.labels_)


@pytest.mark.parametrize("gram", ["stored", "blocked"])
def test_n_jobs_does_not_change_the_result(gram):
    X = blobs(n=3000, d=6, centers=10, seed=5)
    a = KernelKMeans(10, random_state=1, n_jobs=1, gram=gram).fit(X)
    b = KernelKMeans(10, random_state=1, n_jobs=2, gram=gram).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_ and a.n_iter_ == b.n_iter_
    np.testing.assert_array_equal(a.transform(X[:50]), b.transform(X[:50]))


# ---- what the fitted attributes mean -------------------------------------------------------------


def _labels_objective(K, labels, w=None):
    """The kernel k-means objective of a partition: distances to the means of its own clusters."""
    w = np.ones(len(K)) if w is None else w
    d, _ = kernel_kmeans.partition_distances(K, labels, w, int(labels.max()) + 1)
    return float(np.sum(w * d[np.arange(len(K)), labels]))


@pytest.mark.parametrize("gram", ["stored", "blocked"])
def test_inertia_is_the_objective_of_labels_after_a_stop_on_tol(gram):
    # Handwritten digits, rbf: the run stops on tol while a few samples still move, so the
    # centres (means of the previous partition) are not the means of labels_.
    X = load_digits().data[:500]
    est = KernelKMeans(10, kernel="rbf", gamma=1e-3, tol=1e-3, random_state=0, gram=gram).fit(X)
    assert est.converged_ and est.n_iter_ < est.max_iter
    K = pairwise_kernels(X, metric="rbf", gamma=1e-3)
    np.testing.assert_allclose(est.inertia_, _labels_objective(K, est.labels_), rtol=1e-10)
    # Measured to the centres, the same labels cost more: that is what score reports.
    assert -est.score(X) > est.inertia_ * (1 + 1e-6)
    np.testing.assert_array_equal(est.predict(X), est.labels_)


def test_oracle_agrees_on_a_stop_on_tol():
    X = load_digits().data[:500]
    K = pairwise_kernels(X, metric="rbf", gamma=1e-3)
    seeds = np.random.default_rng(3).choice(len(X), 10, replace=False)
    ref = kernel_kmeans.kernel_kmeans(K, seeds, tol=1e-3)
    assert ref["converged"] and ref["n_iter"] < 300  # on tol: labels still moved
    est = KernelKMeans(10, kernel="rbf", gamma=1e-3, tol=1e-3, init=seeds).fit(X)
    assert_same_as_oracle(est, ref, rtol=1e-10)
    assert ref["inertia"] == pytest.approx(_labels_objective(K, ref["labels"]), rel=1e-12)


def test_cluster_sizes_count_labels_after_an_empty_cluster_is_reseeded():
    # Samples 1 and 2 coincide: the cluster of seed 2 starts empty, is re-seeded with sample 1,
    # and loses it again to the tie rule, so labels_ have one cluster fewer than the centres.
    X = np.array([[0.0], [1.0], [1.0], [5.0]])
    with pytest.warns(
        ConvergenceWarning,
        match=r"Number of distinct clusters \(3\) found "
        r"smaller than n_clusters \(4\)\. Possibly due to duplicate points in X\.",
    ):
        est = KernelKMeans(4, kernel="linear", init=[0, 1, 2, 3]).fit(X)
    assert est.n_reseeded_ >= 1
    np.testing.assert_array_equal(est.labels_, [0, 1, 1, 3])
    np.testing.assert_array_equal(est.cluster_sizes_, np.bincount(est.labels_, minlength=4))
    w = np.array([1.0, 2.0, 0.5, 3.0])
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        est = KernelKMeans(4, kernel="linear", init=[0, 1, 2, 3]).fit(X, sample_weight=w)
    np.testing.assert_array_equal(
        est.cluster_sizes_, np.bincount(est.labels_, weights=w, minlength=4)
    )
    np.testing.assert_array_equal(est.predict(X), est.labels_)


# ---- the typed boundary --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_core_lloyd_on_stored_and_blocked_gram_equals_oracle(dtype):
    kk = _core.kernel_kmeans
    X = blobs(n=1500, d=3, seed=14, dtype=dtype)
    space = kk.KernelFeatures32 if dtype == np.float32 else kk.KernelFeatures64
    features = space(X, kk.KernelParams(kk.Kernel.rbf, gamma=0.3))
    K = features.gram(2)
    # Rows recomputed in blocks are the stored rows, bit for bit.
    np.testing.assert_array_equal(
        features.rows(np.array([0, 1499, 700], dtype=np.int64), 2), K[[0, 1499, 700]]
    )
    seeds = np.array([3, 10, 500, 900], dtype=np.int64)
    w = np.ones(len(X))
    params = kk.LloydParams(max_iter=50, tol=0.0, n_threads=2)
    stored = kk.lloyd(K, seeds, w, params)
    blocked = kk.lloyd(features, seeds, w, params)
    assert isinstance(stored, kk.LloydResult)
    for name in ("labels", "centres", "distances", "cluster_weights", "centre_norms"):
        np.testing.assert_array_equal(getattr(stored, name), getattr(blocked, name))
    assert (stored.inertia, stored.n_iter, stored.converged) == (
        blocked.inertia,
        blocked.n_iter,
        blocked.converged,
    )
    ref = kernel_kmeans.kernel_kmeans(K.astype(np.float64), seeds, max_iter=50, tol=0.0)
    np.testing.assert_array_equal(stored.labels, ref["labels"])
    assert stored.n_iter == ref["n_iter"] and stored.n_reseeded == ref["n_reseeded"]
