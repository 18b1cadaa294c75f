"""Medoid silhouette clustering (FasterMSC, FastMSC, DynMSC) and the silhouette metrics.

Exactness against the peer ``kmedoids`` (same initial medoids: same medoids, silhouette and swap
counts), the metrics against the NumPy oracle, scikit-learn and the peer, and what the peer
lacks: weights, float32, distances on the fly, n_jobs invariance. Bad input at the end.
"""

import numpy as np
import pytest
from sklearn.metrics import pairwise_distances, silhouette_samples, silhouette_score

from partita import DynMSC, KMedoids
from partita._core import medoids as _kernels
from partita.metrics import medoid_silhouette, silhouette

from conftest import assert_unfitted
from oracles import silhouette as osil

kmedoids = pytest.importorskip("kmedoids")


def blobs(n, seed, d=3, centers=4):
    rng = np.random.default_rng(seed)
    c = rng.normal(scale=4.0, size=(centers, d))
    return c[rng.integers(0, centers, n)] + rng.normal(size=(n, d))


def distance_matrix(X, dtype=np.float64):
    D = pairwise_distances(X).astype(dtype)
    D = np.minimum(D, D.T)  # exactly symmetric, as the peer reads D[o, m] and we read D[m, o]
    np.fill_diagonal(D, 0)
    return np.ascontiguousarray(D)


def start(n, k, seed):
    return np.random.default_rng(seed + 100).choice(n, k, replace=False).astype(np.int64)


# --- exactness against the peer -----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["fastermsc", "fastmsc", "pammedsil"])
@pytest.mark.parametrize(("n", "k", "seed"), [(60, 2, 0), (80, 3, 1), (150, 7, 2), (120, 12, 3)])
def test_same_result_as_kmedoids(method, dtype, n, k, seed):
    D = distance_matrix(blobs(n, seed), dtype)
    m0 = start(n, k, seed)
    ref = getattr(kmedoids, method)(D, m0.astype(np.uintp), max_iter=100)
    km = KMedoids(k, metric="precomputed", method=method, init=m0, max_iter=100).fit(D)
    assert km.medoid_indices_.tolist() == list(ref.medoids)
    assert km.medoid_silhouette_ == ref.loss
    assert km.n_swaps_ == ref.n_swap
    assert km.n_iter_ == ref.n_iter


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("n", "k", "seed"), [(25, 2, 0), (30, 3, 1), (24, 5, 2)])
def test_pamsil_same_result_as_kmedoids(dtype, n, k, seed):
    D = distance_matrix(blobs(n, seed), dtype)
    m0 = start(n, k, seed)
    ref = kmedoids.pamsil(D, m0.astype(np.uintp), max_iter=100)
    km = KMedoids(k, metric="precomputed", method="pamsil", init=m0, max_iter=100).fit(D)
    assert km.medoid_indices_.tolist() == list(ref.medoids)
    assert km.medoid_silhouette_ == ref.loss  # the exact silhouette
    assert km.n_swaps_ == ref.n_swap
    assert km.n_iter_ == ref.n_iter
    assert ref.loss == pytest.approx(silhouette_score(D, km.labels_, metric="precomputed"))


def test_pammedsil_makes_the_swaps_of_fastmsc():
    D = distance_matrix(blobs(100, 4), np.float32)
    w = np.random.default_rng(4).uniform(0.5, 2.0, 100)
    fits = [
        KMedoids(4, metric="precomputed", method=m, random_state=0).fit(D, sample_weight=w)
        for m in ("fastmsc", "pammedsil")
    ]
    assert np.array_equal(fits[0].medoid_indices_, fits[1].medoid_indices_)
    assert fits[0].n_swaps_ == fits[1].n_swaps_
    assert fits[0].medoid_silhouette_ == pytest.approx(fits[1].medoid_silhouette_, abs=1e-12)


@pytest.mark.parametrize("method", ["fastermsc", "fastmsc", "pammedsil", "pamsil"])
def test_one_cluster_is_the_medoid_of_least_total_distance(method):
    D = distance_matrix(blobs(40, 5))
    ref = getattr(kmedoids, method)(D, np.array([7], dtype=np.uintp))
    km = KMedoids(1, metric="precomputed", method=method, init=[7]).fit(D)
    assert km.medoid_indices_.tolist() == list(ref.medoids)
    assert km.n_swaps_ == ref.n_swap
    assert km.medoid_silhouette_ == 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k_min", [2, 3, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_dynmsc_same_result_as_kmedoids(k_min, dtype, seed):
    n, k_max = 150, 8
    D = distance_matrix(blobs(n, seed, centers=5), dtype)
    m0 = start(n, k_max, seed)
    ref = kmedoids.dynmsc(D, m0.astype(np.uintp), minimum_k=k_min, max_iter=100)
    est = DynMSC(k_min, k_max, metric="precomputed", init=m0, max_iter=100).fit(D)
    assert est.n_clusters_ == ref.bestk
    assert est.medoid_indices_.tolist() == list(ref.medoids)
    assert est.medoid_silhouette_ == ref.loss
    assert np.array_equal(est.medoid_silhouettes_, ref.losses)
    assert est.k_values_.tolist() == list(ref.rangek)
    assert est.n_iter_ == ref.n_iter
    assert est.n_swaps_ == ref.n_swap


def test_dynmsc_best_is_the_highest_silhouette_and_refits_to_it():
    X = blobs(200, 7, d=2, centers=4)
    est = DynMSC(2, 7, random_state=0).fit(X)
    best = int(np.argmax(est.medoid_silhouettes_))
    assert est.n_clusters_ == est.k_values_[best]
    assert est.medoid_silhouette_ == est.medoid_silhouettes_[best]
    assert est.medoid_silhouette_ == pytest.approx(medoid_silhouette(X, est.medoid_indices_))
    assert np.array_equal(est.labels_, est.predict(X))


# --- the metrics ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_silhouette_matches_oracle_sklearn_and_kmedoids(seed):
    X = blobs(70, seed)
    D = distance_matrix(X)
    labels = np.random.default_rng(seed).integers(0, 4, 70)
    labels[:4] = [0, 1, 2, 3]
    mean, samples = silhouette(D, labels, metric="precomputed", return_samples=True)
    assert mean == pytest.approx(osil.silhouette(D, labels), abs=1e-14)
    assert np.allclose(samples, osil.silhouette_samples(D, labels), rtol=0, atol=1e-14)
    assert mean == pytest.approx(silhouette_score(D, labels, metric="precomputed"), abs=1e-14)
    assert np.allclose(samples, silhouette_samples(D, labels, metric="precomputed"), atol=1e-14)
    ref_mean, ref_samples = kmedoids.silhouette(D, labels.astype(np.uintp), True)
    assert mean == ref_mean  # the same sums in the same order
    assert np.array_equal(samples, ref_samples)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_silhouette_rows_eight_at_a_time_are_the_sequential_sums(dtype):
    # 203 points: tiles of 8 rows and 8 columns, the diagonal tiles, a last group of 3 rows and
    # a last 3 columns; every row's sums in point order, as the peer forms them.
    X = blobs(203, 5, centers=9)
    D = distance_matrix(X, dtype)
    labels = np.random.default_rng(5).integers(0, 9, 203)
    mean, samples = silhouette(D, labels, metric="precomputed", return_samples=True, n_jobs=2)
    ref_mean, ref_samples = kmedoids.silhouette(D.astype(np.float64), labels.astype(np.uintp), True)
    assert np.array_equal(samples, ref_samples)
    assert np.array_equal(samples, osil.silhouette_samples(D, labels))
    # -0.0 is a valid distance (its sign bit sends the rows to the entry-by-entry check)
    Z = D.copy()
    Z[13, 100] = Z[100, 13] = 0.0
    negative_zero = Z.copy()
    negative_zero[13, 100] = negative_zero[100, 13] = -0.0
    assert silhouette(negative_zero, labels, metric="precomputed") == silhouette(
        Z, labels, metric="precomputed"
    )
    # a negative entry inside a vector tile (row 13, column 100), away from the diagonal
    Z[13, 100] = Z[100, 13] = -1e-3
    with pytest.raises(ValueError, match="non-negative"):
        silhouette(Z, labels, metric="precomputed")


def test_silhouette_singletons_and_string_labels():
    X = blobs(30, 3)
    labels = np.array(["a"] * 14 + ["b"] * 15 + ["c"])  # "c" is alone: its silhouette is 0
    mean, samples = silhouette(X, labels, return_samples=True)
    assert samples[-1] == 0.0
    assert mean == pytest.approx(silhouette_score(X, labels), abs=1e-12)


def test_weighted_silhouette_matches_oracle():
    X = blobs(50, 4)
    D = distance_matrix(X)
    labels = np.random.default_rng(4).integers(0, 3, 50)
    w = np.random.default_rng(5).uniform(0, 3, 50)
    w[:3] = 0.0
    mean, samples = silhouette(
        D, labels, metric="precomputed", sample_weight=w, return_samples=True
    )
    assert mean == pytest.approx(osil.silhouette(D, labels, w), abs=1e-13)
    assert np.allclose(samples, osil.silhouette_samples(D, labels, w), atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_silhouette_on_the_fly_equals_matrix_and_ignores_n_jobs(dtype):
    X = blobs(90, 6).astype(dtype)
    labels = np.random.default_rng(6).integers(0, 3, 90)
    got = {
        (mode, jobs): silhouette(X, labels, distances=mode, n_jobs=jobs, return_samples=True)
        for mode in ("matrix", "on-the-fly")
        for jobs in (1, 2)
    }
    first = got[("matrix", 1)]
    for mean, samples in got.values():
        assert mean == first[0]
        assert np.array_equal(samples, first[1])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert first[0] == pytest.approx(silhouette_score(X.astype(np.float64), labels), abs=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_medoid_silhouette_matches_oracle_and_kmedoids(dtype):
    D = distance_matrix(blobs(80, 8), dtype)
    med = np.array([3, 40, 17, 66])
    mean, samples = medoid_silhouette(D, med, metric="precomputed", return_samples=True)
    assert mean == pytest.approx(osil.medoid_silhouette(D, med), abs=1e-14)
    assert np.allclose(samples, osil.medoid_silhouette_samples(D, med), atol=1e-14)
    ref_mean, ref_samples = kmedoids.medoid_silhouette(D, med.astype(np.uintp), True)
    assert mean == ref_mean
    assert np.array_equal(samples, ref_samples)


def test_medoid_silhouette_weights_are_repetitions_and_features_match_matrix():
    X = blobs(40, 9)
    med = np.array([0, 11, 25])
    w = np.random.default_rng(9).integers(0, 4, 40)
    w[med] = 1
    Xr = np.repeat(X, w, axis=0)
    med_r = np.cumsum(w)[med] - 1  # the last copy of every medoid
    weighted = medoid_silhouette(X, med, sample_weight=w)
    assert weighted == pytest.approx(medoid_silhouette(Xr, med_r), abs=1e-14)
    on_matrix = medoid_silhouette(distance_matrix(X), med, metric="precomputed")
    assert medoid_silhouette(X, med) == pytest.approx(on_matrix, abs=1e-12)


# --- beyond the reference: weights, float32, on the fly, n_jobs -----------------------------


@pytest.mark.parametrize("method", ["fastermsc", "fastmsc"])
def test_weighted_result_is_a_local_optimum_of_the_weighted_silhouette(method):
    X = blobs(30, 10, d=2, centers=3)
    D = distance_matrix(X)
    w = np.random.default_rng(10).uniform(0.2, 3.0, 30)
    km = KMedoids(3, method=method, metric="precomputed", random_state=0).fit(D, sample_weight=w)
    value = osil.medoid_silhouette(D, km.medoid_indices_, w)
    assert km.medoid_silhouette_ == pytest.approx(value, abs=1e-13)
    for slot in range(3):
        for j in range(30):
            if j in km.medoid_indices_:
                continue
            other = km.medoid_indices_.copy()
            other[slot] = j
            assert osil.medoid_silhouette(D, other, w) <= value + 1e-12


@pytest.mark.parametrize("method", ["fastermsc", "fastmsc"])
@pytest.mark.parametrize("k", [2, 5])
def test_on_the_fly_equals_matrix_for_any_n_jobs(method, k):
    X = blobs(120, 11).astype(np.float32)
    fits = [
        KMedoids(k, method=method, distances=mode, n_jobs=jobs, random_state=0).fit(X)
        for mode in ("matrix", "on-the-fly")
        for jobs in (1, 2)
    ]
    for km in fits[1:]:
        assert np.array_equal(km.medoid_indices_, fits[0].medoid_indices_)
        assert km.medoid_silhouette_ == fits[0].medoid_silhouette_
        assert km.n_swaps_ == fits[0].n_swaps_
        assert np.array_equal(km.labels_, fits[0].labels_)
    assert fits[0].cluster_centers_.dtype == np.float32


def test_parallel_candidate_blocks_keep_the_sequential_schedule():
    # From 4096 points on, several candidates are scored at once; the swaps must stay the same.
    X = np.ascontiguousarray(blobs(4100, 12, d=2, centers=6), dtype=np.float32)
    D = _kernels.FeatureSpace32(X, _kernels.Metric.euclidean, 0).distance_matrix(2)
    w = np.ones(4100)
    # A converged start with one medoid moved: a few swaps, then long runs without one (the
    # candidate blocks grow), as in the late passes.
    m0 = np.asarray(
        _kernels.optimise(D, start(4100, 5, 12), w, _kernels.Method.fastermsc, 50, 1).medoids
    )
    m0[0] = next(j for j in range(4100) if j not in m0)
    runs = [_kernels.optimise(D, m0, w, _kernels.Method.fastermsc, 1, t) for t in (1, 2)]
    assert runs[0].n_swaps > 0
    assert np.array_equal(runs[0].medoids, runs[1].medoids)
    assert runs[0].loss == runs[1].loss
    assert runs[0].n_swaps == runs[1].n_swaps


def test_dynmsc_weights_on_the_fly_and_verbose(capsys):
    X = blobs(100, 13, d=2, centers=3)
    w = np.random.default_rng(13).uniform(0.5, 2.0, 100)
    a = DynMSC(2, 5, distances="matrix", random_state=0).fit(X, sample_weight=w)
    b = DynMSC(2, 5, distances="on-the-fly", n_jobs=2, random_state=0, verbose=1).fit(
        X, sample_weight=w
    )
    assert np.array_equal(a.medoid_silhouettes_, b.medoid_silhouettes_)
    assert np.array_equal(a.medoid_indices_, b.medoid_indices_)
    assert "k=3" in capsys.readouterr().out
    assert a.medoid_silhouette_ == pytest.approx(
        medoid_silhouette(X, a.medoid_indices_, sample_weight=w), abs=1e-13
    )


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"min_clusters": 5, "max_clusters": 3}, "min_clusters"),
        ({"min_clusters": 1}, "min_clusters"),
        ({"max_clusters": 50}, "max_clusters"),
        ({"init": np.arange(3), "max_clusters": 4}, "init"),
        ({"metric": "precomputed", "distances": "on-the-fly"}, "on-the-fly"),
    ],
)
def test_dynmsc_bad_parameters(params, match):
    est = DynMSC(**params)
    with pytest.raises(ValueError, match=match):
        est.fit(blobs(20, 0))
    assert_unfitted(est)


def test_msc_methods_reject_nan():
    X = blobs(20, 0)
    X[3, 1] = np.nan
    est = KMedoids(3, method="fastermsc")
    with pytest.raises(ValueError, match="NaN"):
        est.fit(X)
    assert_unfitted(est)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.zeros(20, dtype=int), "Number of labels"),
        (np.arange(20), "Number of labels"),
        (np.zeros(19, dtype=int), "shape"),
    ],
)
def test_silhouette_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        silhouette(blobs(20, 0), labels)


@pytest.mark.parametrize(
    ("medoids", "match"),
    [
        ([3], "at least 2"),
        ([3, 3], "distinct"),
        ([3, 20], r"\[0, 19\]"),
        ([1.5, 2.0], "integer"),
    ],
)
def test_medoid_silhouette_bad_medoids(medoids, match):
    with pytest.raises(ValueError, match=match):
        medoid_silhouette(blobs(20, 0), np.array(medoids))


def test_metrics_bad_input():
    X = blobs(20, 0)
    with pytest.raises(ValueError, match="non-negative"):
        silhouette(X, np.arange(20) % 2, sample_weight=-np.ones(20))
    D = distance_matrix(X)
    D[3, 1] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        silhouette(D, np.arange(20) % 2, metric="precomputed")
    D[3, 1] = np.inf
    with pytest.raises(ValueError, match="finite"):
        silhouette(D, np.arange(20) % 2, metric="precomputed")
    D[3, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        silhouette(D, np.arange(20) % 2, metric="precomputed")
    with pytest.raises(ValueError, match="square"):
        silhouette(D[:, :10], np.arange(20) % 2, metric="precomputed")
    with pytest.raises(ValueError, match="symmetric"):
        D = distance_matrix(X)
        D[0, 1] += 1.0
        medoid_silhouette(D, [0, 1], metric="precomputed")
    with pytest.raises(ValueError, match="distances"):
        silhouette(X, np.arange(20) % 2, distances="sometimes")
    with pytest.raises(ValueError, match="infinity"):
        X[0, 0] = np.inf
        medoid_silhouette(X, [0, 1])


def test_pamsil_same_result_as_kmedoids_when_k_is_close_to_n():
    # A swap used to leave stale labels that let a medoid of another slot be tried (the result
    # held duplicate medoids); the peer's result on the same start.
    X = np.random.default_rng(6).normal(size=(4, 2))
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    m0 = np.array([3, 1, 2])
    ref = kmedoids.pamsil(D, m0.astype(np.uintp), max_iter=100)
    km = KMedoids(3, metric="precomputed", method="pamsil", init=m0, max_iter=100).fit(D)
    assert km.medoid_indices_.tolist() == list(ref.medoids)
    assert km.medoid_silhouette_ == ref.loss
