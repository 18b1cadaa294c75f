"""KernelKMeans as a scikit-learn estimator: dtypes, determinism, n_init, initialisation,
predict / transform / score on new data, scikit-learn's kernels and callables, verbose output."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import pairwise_kernels

from partita import KernelKMeans


def blobs(n=300, d=4, centers=5, seed=0, dtype=np.float64):
    X, _ = make_blobs(n, n_features=d, centers=centers, cluster_std=2.0, random_state=seed)
    return X.astype(dtype)


# ---- dtype, determinism, initialisation ----------------------------------------------------------


def test_float32_keeps_dtype_and_agrees_with_float64():
    X = blobs(n=500, seed=6)
    a = KernelKMeans(5, random_state=0).fit(X)
    b = KernelKMeans(5, random_state=0).fit(X.astype(np.float32))
    assert b.transform(X.astype(np.float32)).dtype == np.float32
    assert a.transform(X).dtype == np.float64
    assert np.mean(a.labels_ == b.labels_) > 0.99
    np.testing.assert_allclose(a.inertia_, b.inertia_, rtol=1e-4)


def test_determinism_and_n_init_keeps_the_lowest_inertia():
    X = blobs(n=400, centers=8, seed=7)
    a = KernelKMeans(8, random_state=3, n_init=4).fit(X)
    b = KernelKMeans(8, random_state=3, n_init=4).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_
    # The four runs one by one, from the same random stream.
    rng = np.random.RandomState(3)
    singles = [KernelKMeans(8, random_state=rng).fit(X).inertia_ for _ in range(4)]
    assert a.inertia_ == min(singles)
    assert len(set(singles)) > 1  # the runs differ, so the choice mattered


def test_kmeans_plusplus_beats_random_on_average():
    X = blobs(n=600, centers=10, seed=8)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):  # one iteration on purpose
        pp = np.mean(
            [
                KernelKMeans(10, init="k-means++", random_state=s, max_iter=1).fit(X).inertia_
                for s in range(5)
            ]
        )
        rnd = np.mean(
            [
                KernelKMeans(10, init="random", random_state=s, max_iter=1).fit(X).inertia_
                for s in range(5)
            ]
        )
    assert pp < rnd


# ---- new data ------------------------------------------------------------------------------------


def test_predict_and_transform_on_new_data():
    X = blobs(n=300, seed=9)
    Xn = blobs(n=50, seed=10)
    est = KernelKMeans(5, kernel="rbf", gamma=0.1, random_state=0).fit(X)
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    D = est.transform(Xn)
    assert D.shape == (50, 5)
    # Oracle: distances of new points to the means of the centre partition.
    Kx = pairwise_kernels(Xn, X, metric="rbf", gamma=0.1)
    K = pairwise_kernels(X, metric="rbf", gamma=0.1)
    L = est._centre_labels
    expect = np.empty((50, 5))
    for c in range(5):
        m = L == c
        expect[:, c] = 1.0 - 2 * Kx[:, m].mean(axis=1) + K[np.ix_(m, m)].mean()
    np.testing.assert_allclose(D, expect, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(est.predict(Xn), expect.argmin(axis=1))
    assert est.score(X) == pytest.approx(-est.inertia_, rel=1e-10)


def test_precomputed_predict_with_rectangular_kernel():
    X = blobs(n=200, seed=11)
    Xn = blobs(n=30, seed=12)
    K = pairwise_kernels(X, metric="rbf", gamma=0.1)
    a = KernelKMeans(4, kernel="precomputed", random_state=0).fit(K)
    b = KernelKMeans(4, kernel="rbf", gamma=0.1, random_state=0).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict(K), a.labels_)
    Kn = pairwise_kernels(Xn, X, metric="rbf", gamma=0.1)
    np.testing.assert_array_equal(a.predict(Kn), b.predict(Xn))
    # transform is the distance minus k(x, x) = 1 for rbf
    np.testing.assert_allclose(a.transform(Kn) + 1.0, b.transform(Xn), atol=1e-9)


def test_sklearn_kernels_and_callables():
    X = np.abs(blobs(n=150, seed=13))
    a = KernelKMeans(3, kernel="chi2", gamma=0.5, random_state=0).fit(X)
    K = pairwise_kernels(X, metric="chi2", gamma=0.5)
    seeds_ref = KernelKMeans(3, kernel="precomputed", random_state=0).fit(K)
    np.testing.assert_array_equal(a.labels_, seeds_ref.labels_)
    np.testing.assert_array_equal(a.predict(X), a.labels_)

    def kern(x, y, scale=1.0):
        return float(np.exp(-scale * np.sum((x - y) ** 2)))

    b = KernelKMeans(3, kernel=kern, kernel_params=dict(scale=0.25), random_state=0).fit(X)
    c = KernelKMeans(3, kernel="rbf", gamma=0.25, random_state=0).fit(X)
    np.testing.assert_array_equal(b.labels_, c.labels_)
    np.testing.assert_allclose(b.transform(X[:5]), c.transform(X[:5]), atol=1e-9)


def test_verbose_prints_progress(capsys):
    KernelKMeans(3, random_state=0, verbose=1).fit(blobs(n=100))
    out = capsys.readouterr().out
    assert "[KernelKMeans] Gram" in out and "iteration 1" in out


# ---- stopping, warnings and the single run of an explicit init -----------------------------------


def test_max_iter_without_convergence_warns_and_sets_converged():
    X = blobs(n=400, centers=8, seed=7)
    with pytest.warns(ConvergenceWarning, match="max_iter=2 iterations without converging"):
        est = KernelKMeans(8, tol=0.0, max_iter=2, random_state=0).fit(X)
    assert est.n_iter_ == 2 and not est.converged_
    full = KernelKMeans(8, tol=0.0, random_state=0).fit(X)  # converges: no warning
    assert full.converged_ and full.n_iter_ > 2


def test_stop_on_tol_does_not_warn():
    X = blobs(n=400, centers=8, seed=7)
    est = KernelKMeans(8, tol=0.5, random_state=0).fit(X)
    assert est.n_iter_ < est.max_iter and est.converged_


def test_n_init_with_explicit_init_warns_and_runs_once(capsys):
    X = blobs()
    seeds = [0, 50, 100, 150, 200]
    once = KernelKMeans(5, init=seeds).fit(X)
    with pytest.warns(
        RuntimeWarning, match="performing only one init in KernelKMeans instead of n_init=4"
    ):
        est = KernelKMeans(5, init=seeds, n_init=4, verbose=1).fit(X)
    assert capsys.readouterr().out.count("init given indices") == 1
    np.testing.assert_array_equal(est.labels_, once.labels_)
    assert est.inertia_ == once.inertia_


# ---- pickling (the blocked Gram holds a C++ object) ----------------------------------------------


def _pickle_round_trips(est, tmp_path):
    import copy
    import pickle

    import joblib

    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    return [pickle.loads(pickle.dumps(est)), copy.deepcopy(est), joblib.load(path)]


@pytest.mark.parametrize(
    "gram, dtype", [("blocked", np.float64), ("blocked", np.float32), ("stored", np.float64)]
)
def test_pickle_deepcopy_and_joblib_round_trips(gram, dtype, tmp_path):
    X = blobs(n=300, seed=4, dtype=dtype)
    Xn = blobs(n=40, seed=5, dtype=dtype)
    est = KernelKMeans(5, kernel="rbf", gamma=0.2, gram=gram, random_state=0).fit(X)
    assert est.gram_ == gram
    for copy_ in _pickle_round_trips(est, tmp_path):
        assert copy_.gram_ == gram
        np.testing.assert_array_equal(copy_.labels_, est.labels_)
        np.testing.assert_array_equal(copy_.predict(Xn), est.predict(Xn))
        np.testing.assert_array_equal(copy_.transform(Xn), est.transform(Xn))
        assert copy_.score(Xn) == est.score(Xn)
    # The original still works after being pickled, and an unfitted estimator pickles too.
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    for copy_ in _pickle_round_trips(KernelKMeans(3, gram=gram), tmp_path):
        assert copy_.get_params() == KernelKMeans(3, gram=gram).get_params()


# ---- foreign arrays and a distance matrix given as features --------------------------------------


def test_dlpack_only_input_is_accepted_and_float32_kept():
    from conftest import DLPackOnly

    X = blobs(n=120).astype(np.float32)
    ref = KernelKMeans(3, random_state=0).fit(X)
    est = KernelKMeans(3, random_state=0).fit(DLPackOnly(X))
    np.testing.assert_array_equal(est.labels_, ref.labels_)
    assert est.transform(DLPackOnly(X)).dtype == np.float32
    np.testing.assert_array_equal(est.predict(DLPackOnly(X)), ref.labels_)


def test_estimator_runs_with_array_api_dispatch():
    from conftest import run_with_array_api_dispatch

    out = run_with_array_api_dispatch("""
        from conftest import DLPackOnly
        from partita import KernelKMeans
        X = np.random.RandomState(0).rand(60, 3).astype(np.float32)
        for data in (X, DLPackOnly(X)):
            est = KernelKMeans(3, random_state=0).fit(data)
            assert est.transform(data).dtype == np.float32
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_distance_matrix_given_as_features_warns():
    from sklearn.metrics import pairwise_distances

    D = pairwise_distances(blobs(n=40))
    with pytest.warns(UserWarning, match="looks like a distance matrix"):
        KernelKMeans(3, random_state=0).fit(D)
    # A Gram matrix with kernel="precomputed" is what that input should have been: no warning.
    KernelKMeans(3, kernel="precomputed", random_state=0).fit(pairwise_kernels(blobs(n=40)))
