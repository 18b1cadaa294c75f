"""KMedoids as a scikit-learn estimator: the fitted attributes and methods, dtypes and layouts,
sample weights, pipelines, grid search, cloning and pickling, set_output and verbose output;
and the conventions users of other k-medoids libraries rely on, for CLARA and CLARANS too."""

import pickle
import warnings

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from partita import CLARA, CLARANS, KMedoids

from conftest import DLPackOnly, run_with_array_api_dispatch

METHODS = ["fasterpam", "fastpam1", "pam", "alternate"]


# ----------------------------------------------------------------------------------------------
# data and helpers
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=150, centers=4, cluster_std=1.0, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def separated():
    """Three far-apart tight blobs: any sensible 3-clustering recovers y exactly."""
    centers = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]])
    X, y = make_blobs(n_samples=90, centers=centers, cluster_std=0.5, random_state=3)
    return X, y


def exact_distances(X):
    """Exactly symmetric euclidean distance matrix with a zero diagonal (one value per pair)."""
    return np.ascontiguousarray(cdist(X, X))


def assert_same_fit(a, b):
    """Bit-for-bit equal fitted attributes."""
    np.testing.assert_array_equal(a.medoid_indices_, b.medoid_indices_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_
    assert a.n_iter_ == b.n_iter_
    assert a.n_swaps_ == b.n_swaps_
    if a.cluster_centers_ is None:
        assert b.cluster_centers_ is None
    else:
        np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
        assert a.cluster_centers_.dtype == b.cluster_centers_.dtype


# ----------------------------------------------------------------------------------------------
# fit / predict / transform / score
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_fit_returns_self_and_sets_attributes(blobs, method):
    X, _ = blobs
    km = KMedoids(n_clusters=4, method=method, random_state=0)
    assert km.fit(X) is km
    n = X.shape[0]
    assert km.medoid_indices_.shape == (4,) and km.medoid_indices_.dtype == np.int64
    assert np.unique(km.medoid_indices_).shape == (4,)
    assert km.medoid_indices_.min() >= 0 and km.medoid_indices_.max() < n
    assert km.labels_.shape == (n,) and km.labels_.dtype == np.int64
    assert set(np.unique(km.labels_)) == {0, 1, 2, 3}
    # every medoid is in its own cluster
    np.testing.assert_array_equal(km.labels_[km.medoid_indices_], np.arange(4))
    assert isinstance(km.inertia_, float) and km.inertia_ > 0
    assert isinstance(km.n_iter_, int) and km.n_iter_ >= 0
    assert isinstance(km.n_swaps_, int) and km.n_swaps_ >= 0
    assert km.n_features_in_ == X.shape[1]
    # the loss is the total distance to the nearest medoid
    D = exact_distances(X)
    assert km.inertia_ == pytest.approx(D[:, km.medoid_indices_].min(axis=1).sum(), rel=1e-10)
    np.testing.assert_array_equal(
        D[np.arange(n), km.medoid_indices_[km.labels_]], D[:, km.medoid_indices_].min(axis=1)
    )


@pytest.mark.parametrize("method", METHODS)
def test_fit_predict_equals_fit_labels(blobs, method):
    X, _ = blobs
    labels = KMedoids(n_clusters=4, method=method, random_state=0).fit_predict(X)
    km = KMedoids(n_clusters=4, method=method, random_state=0).fit(X)
    np.testing.assert_array_equal(labels, km.labels_)


@pytest.mark.parametrize("method", METHODS)
def test_predict_training_features_equals_labels(blobs, method):
    X, _ = blobs
    km = KMedoids(n_clusters=4, method=method, random_state=0).fit(X)
    pred = km.predict(X)
    assert pred.dtype == np.int64
    np.testing.assert_array_equal(pred, km.labels_)


@pytest.mark.parametrize("method", METHODS)
def test_predict_precomputed_training_matrix_equals_labels(blobs, method):
    X, _ = blobs
    D = exact_distances(X)
    km = KMedoids(n_clusters=4, metric="precomputed", method=method, random_state=0).fit(D)
    np.testing.assert_array_equal(km.predict(D), km.labels_)


def test_predict_precomputed_new_samples(blobs):
    X, _ = blobs
    X_train, X_test = X[:100], X[100:]
    km = KMedoids(n_clusters=4, metric="precomputed").fit(exact_distances(X_train))
    D_test = cdist(X_test, X_train)  # n_test x n_train
    T = km.transform(D_test)
    assert T.shape == (50, 4)
    np.testing.assert_array_equal(T, D_test[:, km.medoid_indices_])
    np.testing.assert_array_equal(km.predict(D_test), np.argmin(D_test[:, km.medoid_indices_], 1))
    # the same as the feature-input estimator on the same data
    kf = KMedoids(n_clusters=4).fit(X_train)
    np.testing.assert_array_equal(kf.medoid_indices_, km.medoid_indices_)
    np.testing.assert_array_equal(kf.predict(X_test), km.predict(D_test))


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine"])
def test_transform_is_distance_to_cluster_centers(blobs, metric):
    X, _ = blobs
    km = KMedoids(n_clusters=4, metric=metric).fit(X)
    X_new = X[::3] + 0.25
    T = km.transform(X_new)
    assert T.shape == (X_new.shape[0], 4)
    assert T.dtype == np.float64
    np.testing.assert_allclose(
        T, pairwise_distances(X_new, km.cluster_centers_, metric=metric), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_array_equal(km.predict(X_new), np.argmin(T, axis=1))


def test_fit_transform_equals_fit_then_transform(blobs):
    X, _ = blobs
    T1 = KMedoids(n_clusters=4).fit_transform(X)
    T2 = KMedoids(n_clusters=4).fit(X).transform(X)
    assert T1.shape == (X.shape[0], 4)
    np.testing.assert_allclose(T1, T2, rtol=0, atol=0)


def test_score_is_negative_weighted_sum_of_min_distances(blobs):
    X, _ = blobs
    km = KMedoids(n_clusters=4).fit(X)
    X_new = X[::2] * 1.1
    d_min = pairwise_distances(X_new, km.cluster_centers_).min(axis=1)
    assert km.score(X_new) == pytest.approx(-d_min.sum(), rel=1e-12)
    w = np.random.RandomState(0).uniform(0, 3, X_new.shape[0])
    assert km.score(X_new, sample_weight=w) == pytest.approx(-np.dot(w, d_min), rel=1e-12)
    # on the training data the score is the negative loss
    assert km.score(X) == pytest.approx(-km.inertia_, rel=1e-9)
    assert isinstance(km.score(X), float)


def test_score_precomputed(blobs):
    X, _ = blobs
    D = exact_distances(X)
    km = KMedoids(n_clusters=4, metric="precomputed").fit(D)
    assert km.score(D) == pytest.approx(-km.inertia_, rel=1e-12)


def test_cluster_centers(blobs):
    X, _ = blobs
    km = KMedoids(n_clusters=4).fit(X)
    assert km.cluster_centers_.shape == (4, X.shape[1])
    np.testing.assert_array_equal(km.cluster_centers_, X[km.medoid_indices_])
    kp = KMedoids(n_clusters=4, metric="precomputed").fit(exact_distances(X))
    assert kp.cluster_centers_ is None


def test_get_feature_names_out(blobs):
    X, _ = blobs
    km = KMedoids(n_clusters=3).fit(X)
    np.testing.assert_array_equal(
        km.get_feature_names_out(), ["kmedoids0", "kmedoids1", "kmedoids2"]
    )


# ----------------------------------------------------------------------------------------------
# dtypes and layouts
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_float32_input(blobs, method):
    X, _ = blobs
    X32 = X.astype(np.float32)
    km32 = KMedoids(n_clusters=4, method=method, random_state=0).fit(X32)
    km64 = KMedoids(n_clusters=4, method=method, random_state=0).fit(X)
    assert km32.cluster_centers_.dtype == np.float32
    T = km32.transform(X32)
    assert T.dtype == np.float32
    assert T.shape == (X.shape[0], 4)
    assert isinstance(km32.inertia_, float)
    assert km32.inertia_ == pytest.approx(km64.inertia_, rel=1e-5)
    # the reported loss is consistent with the float32 distances to the medoids
    assert km32.inertia_ == pytest.approx(float(T.min(axis=1).astype(np.float64).sum()), rel=1e-5)


def test_float32_precomputed(blobs):
    X, _ = blobs
    D = exact_distances(X)
    km32 = KMedoids(n_clusters=4, metric="precomputed").fit(D.astype(np.float32))
    km64 = KMedoids(n_clusters=4, metric="precomputed").fit(D)
    assert km32.inertia_ == pytest.approx(km64.inertia_, rel=1e-5)
    assert km32.transform(D.astype(np.float32)).dtype == np.float32


def test_int_input_is_converted_to_float64():
    rng = np.random.RandomState(0)
    X_int = rng.randint(0, 1000, size=(60, 2))
    km = KMedoids(n_clusters=3).fit(X_int)
    assert km.cluster_centers_.dtype == np.float64
    assert km.transform(X_int).dtype == np.float64
    ref = KMedoids(n_clusters=3).fit(X_int.astype(np.float64))
    assert_same_fit(km, ref)


def test_list_input(blobs):
    X, _ = blobs
    km = KMedoids(n_clusters=4).fit(X.tolist())
    ref = KMedoids(n_clusters=4).fit(X)
    assert_same_fit(km, ref)
    np.testing.assert_array_equal(km.predict(X[:10].tolist()), ref.labels_[:10])
    kp = KMedoids(n_clusters=4, metric="precomputed").fit(exact_distances(X).tolist())
    np.testing.assert_array_equal(kp.medoid_indices_, ref.medoid_indices_)


def _layouts(A):
    """The same values as A: read-only, Fortran-ordered, and a strided view."""
    ro = A.copy()
    ro.setflags(write=False)
    fortran = np.asfortranarray(A)
    big = np.zeros((2 * A.shape[0], 3 * A.shape[1]), dtype=A.dtype)
    big[::2, ::3] = A
    strided = big[::2, ::3]
    assert not strided.flags.c_contiguous and not strided.flags.f_contiguous
    assert not fortran.flags.c_contiguous
    return {"read-only": ro, "fortran": fortran, "strided": strided}


@pytest.mark.parametrize("layout", ["read-only", "fortran", "strided"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_non_contiguous_and_read_only_features(blobs, layout, dtype):
    X = blobs[0].astype(dtype)
    Xl = _layouts(X)[layout]
    before = Xl.copy()
    km = KMedoids(n_clusters=4, random_state=0).fit(Xl)
    ref = KMedoids(n_clusters=4, random_state=0).fit(np.ascontiguousarray(X))
    assert_same_fit(km, ref)
    np.testing.assert_array_equal(km.transform(Xl), ref.transform(X))
    np.testing.assert_array_equal(km.predict(Xl), ref.predict(X))
    np.testing.assert_array_equal(Xl, before)  # input not modified


@pytest.mark.parametrize("layout", ["read-only", "fortran", "strided"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["fasterpam", "pam", "alternate"])
def test_non_contiguous_and_read_only_precomputed(blobs, layout, dtype, method):
    D = exact_distances(blobs[0]).astype(dtype)
    Dl = _layouts(D)[layout]
    before = Dl.copy()
    km = KMedoids(n_clusters=4, metric="precomputed", method=method).fit(Dl)
    ref = KMedoids(n_clusters=4, metric="precomputed", method=method).fit(D.copy())
    assert_same_fit(km, ref)
    np.testing.assert_array_equal(km.transform(Dl), ref.transform(D))
    np.testing.assert_array_equal(Dl, before)


def test_fit_does_not_modify_input(blobs):
    X, _ = blobs
    X_copy = X.copy()
    D = exact_distances(X)
    D_copy = D.copy()
    w = np.linspace(0.5, 2.0, X.shape[0])
    w_copy = w.copy()
    KMedoids(n_clusters=4).fit(X, sample_weight=w)
    KMedoids(n_clusters=4, metric="precomputed").fit(D, sample_weight=w)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(D, D_copy)
    np.testing.assert_array_equal(w, w_copy)


# ----------------------------------------------------------------------------------------------
# init and max_iter
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_max_iter_zero_keeps_the_given_medoids(blobs, method):
    X, _ = blobs
    init = np.array([7, 100, 3, 42])
    km = KMedoids(n_clusters=4, method=method, init=init, max_iter=0).fit(X)
    np.testing.assert_array_equal(km.medoid_indices_, init)
    assert km.n_swaps_ == 0
    assert km.n_iter_ == 0
    D = exact_distances(X)
    np.testing.assert_array_equal(km.labels_, np.argmin(D[:, init], axis=1))
    assert km.inertia_ == pytest.approx(D[:, init].min(axis=1).sum(), rel=1e-10)
    np.testing.assert_array_equal(km.cluster_centers_, X[init])


@pytest.mark.parametrize(
    "init", [[7, 100, 3, 42], (7, 100, 3, 42), np.array([7.0, 100.0, 3.0, 42.0])]
)
def test_init_array_like(blobs, init):
    X, _ = blobs
    km = KMedoids(n_clusters=4, init=init, max_iter=0).fit(X)
    np.testing.assert_array_equal(km.medoid_indices_, [7, 100, 3, 42])


@pytest.mark.parametrize("method", METHODS)
def test_optimisation_never_increases_the_initial_loss(blobs, method):
    X, _ = blobs
    init = np.array([0, 1, 2, 3])
    start = KMedoids(n_clusters=4, init=init, max_iter=0).fit(X).inertia_
    km = KMedoids(n_clusters=4, method=method, init=init).fit(X)
    assert km.inertia_ <= start


@pytest.mark.parametrize("init", ["build", "lab", "k-medoids++", "random"])
def test_random_state_determinism(blobs, init):
    X, _ = blobs
    a = KMedoids(n_clusters=4, init=init, random_state=12).fit(X)
    b = KMedoids(n_clusters=4, init=init, random_state=12).fit(X)
    assert_same_fit(a, b)
    c = KMedoids(n_clusters=4, init=init, random_state=np.random.RandomState(12)).fit(X)
    assert_same_fit(a, c)


# ----------------------------------------------------------------------------------------------
# sample weights
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("metric", ["euclidean", "precomputed"])
def test_unit_sample_weight_equals_none_bit_for_bit(blobs, method, metric):
    X, _ = blobs
    data = exact_distances(X) if metric == "precomputed" else X
    a = KMedoids(n_clusters=4, method=method, metric=metric, random_state=0).fit(data)
    b = KMedoids(n_clusters=4, method=method, metric=metric, random_state=0).fit(
        data, sample_weight=np.ones(X.shape[0])
    )
    assert_same_fit(a, b)


def _integer_weights_case():
    X, _ = make_blobs(n_samples=60, centers=3, random_state=1)
    w = np.random.RandomState(0).randint(1, 4, X.shape[0])  # positive integer weights
    rep = np.repeat(np.arange(X.shape[0]), w)  # sorted: original order is kept
    first = np.searchsorted(rep, np.arange(X.shape[0]))  # first copy of every sample
    return X, w, rep, first


@pytest.mark.parametrize("method", METHODS)
def test_integer_weights_loss_equals_duplicated_points_at_given_medoids(method):
    """At the same (mapped) initial medoids, the weighted loss is the loss of the data with
    every sample repeated weight times (exact, whatever the method)."""
    X, w, rep, first = _integer_weights_case()
    D, D_rep = exact_distances(X), exact_distances(X[rep])
    init = np.array([4, 20, 33])
    a = KMedoids(3, metric="precomputed", method=method, init=init, max_iter=0).fit(
        D, sample_weight=w
    )
    b = KMedoids(3, metric="precomputed", method=method, init=first[init], max_iter=0).fit(D_rep)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-12)
    np.testing.assert_array_equal(a.labels_[rep], b.labels_)
    assert a.inertia_ == pytest.approx(np.dot(w, D[:, init].min(axis=1)), rel=1e-12)


@pytest.mark.parametrize("method", ["pam", "alternate"])
def test_integer_weights_fit_equals_duplicated_points(method):
    """PAM (best swap over all pairs, first in index order) and alternate (the weighted
    medoid of every cluster) see the same gains on the weighted and on the repeated data, and a
    copy never beats the first occurrence, so they follow the same path."""
    X, w, rep, first = _integer_weights_case()
    D, D_rep = exact_distances(X), exact_distances(X[rep])
    init = np.array([4, 20, 33])
    a = KMedoids(3, metric="precomputed", method=method, init=init).fit(D, sample_weight=w)
    b = KMedoids(3, metric="precomputed", method=method, init=first[init]).fit(D_rep)
    np.testing.assert_array_equal(first[a.medoid_indices_], b.medoid_indices_)
    np.testing.assert_array_equal(a.labels_[rep], b.labels_)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_integer_weights_fit_is_as_good_as_duplicated_points(method):
    """Whatever the path, the weighted fit's loss is a loss of the repeated problem: the
    labels and medoids it reports, evaluated on the repeated data, give that loss."""
    X, w, rep, first = _integer_weights_case()
    a = KMedoids(3, method=method).fit(X, sample_weight=w)
    D_rep = exact_distances(X[rep])
    assert a.inertia_ == pytest.approx(
        D_rep[:, first[a.medoid_indices_]].min(axis=1).sum(), rel=1e-12
    )


@pytest.mark.parametrize("method", METHODS)
def test_far_zero_weight_points_change_nothing(method):
    """Zero-weight samples far from every weighted sample can never be useful medoids (a medoid
    there serves no weight, so swapping it in only removes a medoid): the fit equals the fit
    without them, and they are labelled by their nearest medoid."""
    X, _ = make_blobs(n_samples=80, centers=3, random_state=2)
    far = np.random.RandomState(1).uniform(-1, 1, size=(6, 2)) + 1000.0
    X_all = np.vstack([X, far])
    w = np.r_[np.ones(len(X)), np.zeros(len(far))]
    D_all = exact_distances(X_all)
    sub = KMedoids(3, metric="precomputed", method=method).fit(D_all[:80, :80])
    full = KMedoids(3, metric="precomputed", method=method).fit(D_all, sample_weight=w)
    np.testing.assert_array_equal(full.medoid_indices_, sub.medoid_indices_)
    np.testing.assert_array_equal(full.labels_[:80], sub.labels_)
    assert full.inertia_ == pytest.approx(sub.inertia_, rel=1e-12)
    assert full.medoid_indices_.max() < 80
    np.testing.assert_array_equal(full.labels_, np.argmin(D_all[:, full.medoid_indices_], 1))


@pytest.mark.parametrize("method", METHODS)
def test_zero_weight_points_do_not_count_in_the_loss(blobs, method):
    X, _ = blobs
    w = np.ones(X.shape[0])
    w[::5] = 0.0
    km = KMedoids(4, method=method).fit(X, sample_weight=w)
    D = exact_distances(X)
    d_min = D[:, km.medoid_indices_].min(axis=1)
    assert km.inertia_ == pytest.approx(np.dot(w, d_min), rel=1e-10)
    # every sample, weighted or not, is labelled by its nearest medoid
    np.testing.assert_array_equal(D[np.arange(len(X)), km.medoid_indices_[km.labels_]], d_min)


def test_scalar_sample_weight_is_uniform(blobs):
    X, _ = blobs
    a = KMedoids(4).fit(X, sample_weight=2.0)
    b = KMedoids(4).fit(X, sample_weight=np.full(X.shape[0], 2.0))
    assert_same_fit(a, b)
    assert a.inertia_ == pytest.approx(2 * KMedoids(4).fit(X).inertia_, rel=1e-12)


# ----------------------------------------------------------------------------------------------
# scikit-learn tooling
# ----------------------------------------------------------------------------------------------


def test_pipeline_with_scaler(blobs):
    X, _ = blobs
    X = X * np.array([1.0, 50.0])  # scaling matters
    pipe = Pipeline([("scale", StandardScaler()), ("kmedoids", KMedoids(n_clusters=4))])
    assert pipe.fit(X) is pipe
    ref = KMedoids(n_clusters=4).fit(StandardScaler().fit_transform(X))
    np.testing.assert_array_equal(pipe[-1].medoid_indices_, ref.medoid_indices_)
    np.testing.assert_array_equal(pipe.predict(X), ref.labels_)
    np.testing.assert_array_equal(pipe.fit_predict(X), ref.labels_)
    T = pipe.transform(X)
    assert T.shape == (X.shape[0], 4)
    np.testing.assert_allclose(T, ref.transform(StandardScaler().fit_transform(X)), rtol=1e-12)
    assert pipe.score(X) == pytest.approx(-ref.inertia_, rel=1e-9)


def test_grid_search_with_estimator_score(blobs):
    X, _ = blobs
    cv = KFold(n_splits=3)
    grid = GridSearchCV(KMedoids(), {"n_clusters": [2, 3, 4, 5]}, cv=cv).fit(X)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    assert grid.best_score_ == scores.max()
    assert grid.best_params_ == {"n_clusters": [2, 3, 4, 5][int(np.argmax(scores))]}
    assert grid.best_estimator_.n_clusters == grid.best_params_["n_clusters"]
    assert grid.best_estimator_.medoid_indices_.shape == (grid.best_params_["n_clusters"],)
    # the split scores are KMedoids.score on the held-out fold
    train, test = next(cv.split(X))
    manual = KMedoids(n_clusters=3).fit(X[train]).score(X[test])
    assert grid.cv_results_["split0_test_score"][1] == pytest.approx(manual, rel=1e-12)


def test_grid_search_with_scorer_finds_the_true_number_of_clusters(separated):
    X, y = separated
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), KMedoids()),
        {"kmedoids__n_clusters": [2, 3, 4, 5]},
        scoring="adjusted_rand_score",
        cv=KFold(n_splits=3, shuffle=True, random_state=0),
    ).fit(X, y)
    assert grid.best_params_ == {"kmedoids__n_clusters": 3}
    assert grid.best_score_ == pytest.approx(1.0)


@pytest.mark.parametrize("metric", ["euclidean", "precomputed"])
def test_clone_and_pickle_round_trip(blobs, metric):
    X, _ = blobs
    data = exact_distances(X) if metric == "precomputed" else X
    km = KMedoids(n_clusters=4, metric=metric, init="k-medoids++", random_state=5).fit(data)
    cl = clone(km)
    assert not hasattr(cl, "labels_")
    assert cl.get_params() == km.get_params()
    assert_same_fit(cl.fit(data), km)
    restored = pickle.loads(pickle.dumps(km))
    assert_same_fit(restored, km)
    np.testing.assert_array_equal(restored.predict(data), km.predict(data))
    np.testing.assert_array_equal(restored.transform(data), km.transform(data))
    # an unfitted estimator pickles too, and fits the same
    fresh = pickle.loads(pickle.dumps(KMedoids(n_clusters=4, metric=metric, random_state=5)))
    ref = KMedoids(n_clusters=4, metric=metric, random_state=5).fit(data)
    assert_same_fit(fresh.fit(data), ref)


def test_set_output_pandas(blobs):
    pd = pytest.importorskip("pandas")
    X, _ = blobs
    df = pd.DataFrame(X, columns=["a", "b"])
    km = KMedoids(n_clusters=3).set_output(transform="pandas").fit(df)
    np.testing.assert_array_equal(km.feature_names_in_, ["a", "b"])
    out = km.transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["kmedoids0", "kmedoids1", "kmedoids2"]
    np.testing.assert_allclose(out.to_numpy(), KMedoids(n_clusters=3).fit(X).transform(X))
    np.testing.assert_array_equal(out.index, df.index)


# ----------------------------------------------------------------------------------------------
# verbose
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_verbose_prints_init_and_method(blobs, capsys, method):
    X, _ = blobs
    KMedoids(n_clusters=4, method=method, verbose=1).fit(X)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert any("init" in line for line in lines)
    assert any(method in line for line in lines)
    assert captured.err == ""


def test_verbose_zero_prints_nothing(blobs, capsys):
    X, _ = blobs
    km = KMedoids(n_clusters=4, verbose=0).fit(X)
    km.predict(X)
    km.transform(X)
    km.score(X)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


# ----------------------------------------------------------------------------------------------
# conventions users of other k-medoids libraries rely on
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["seuclidean", "mahalanobis"])
@pytest.mark.parametrize("cls", [KMedoids, CLARA, CLARANS])
def test_data_dependent_metrics_are_fitted_once(blobs, metric, cls):
    # V / VI come from the training data, so new data is measured with the same metric, and
    # predict / transform / score work (scipy would otherwise need them whenever Y is given).
    X, _ = blobs
    X = np.column_stack([X, 10 * X[:, 0] + np.random.RandomState(0).normal(size=len(X))])
    km = cls(3, metric=metric, random_state=0).fit(X)
    params = (
        {"V": np.var(X, axis=0, ddof=1)}
        if metric == "seuclidean"
        else {"VI": np.linalg.inv(np.cov(X.T)).T}
    )
    ((name, value),) = params.items()
    np.testing.assert_allclose(km.effective_metric_params_[name], value)
    expected = cdist(X[:7], X[km.medoid_indices_], metric=metric, **params)
    np.testing.assert_allclose(km.transform(X[:7]), expected, rtol=1e-12)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    assert km.score(X) == pytest.approx(-km.inertia_, rel=1e-10)


def test_metric_params_reach_the_metric(blobs):
    X, _ = blobs
    cubic = KMedoids(3, metric="minkowski", metric_params={"p": 3}).fit(X)
    reference = KMedoids(3, metric="precomputed").fit(cdist(X, X, "minkowski", p=3))
    np.testing.assert_array_equal(cubic.medoid_indices_, reference.medoid_indices_)
    np.testing.assert_allclose(
        cubic.transform(X), cdist(X, X[cubic.medoid_indices_], "minkowski", p=3)
    )
    # A user's V wins over the estimate, and is what predict uses.
    V = np.ones(X.shape[1])
    km = KMedoids(3, metric="seuclidean", metric_params={"V": V}).fit(X)
    np.testing.assert_allclose(km.transform(X), cdist(X, X[km.medoid_indices_]), rtol=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "precomputed"])
def test_metric_params_rejected_where_they_would_be_ignored(blobs, metric):
    X, _ = blobs
    X = pairwise_distances(X) if metric == "precomputed" else X
    with pytest.raises(ValueError, match="metric_params"):
        KMedoids(3, metric=metric, metric_params={"p": 3}).fit(X)


@pytest.mark.parametrize("method", METHODS)
def test_exact_ties_go_to_the_lowest_cluster_everywhere(method):
    # 2 is exactly halfway between the medoids 0 and 4, and the medoids cannot improve.
    X = np.array([[0.0]] * 4 + [[2.0]] + [[4.0]] * 4)
    for init in ([0, 5], [5, 0]):
        km = KMedoids(2, method=method, init=np.array(init)).fit(X)
        assert km.converged_
        D = km.transform(X)
        assert D[4, 0] == D[4, 1]
        assert km.labels_[4] == 0
        np.testing.assert_array_equal(km.predict(X), km.labels_)
        np.testing.assert_array_equal(km.fit_predict(X), km.labels_)


@pytest.mark.parametrize("cls", [KMedoids, CLARA, CLARANS])
def test_coincident_medoids_give_their_samples_to_the_lowest_cluster(cls):
    # Fewer distinct points than clusters: both medoids are the same point, and every sample,
    # the second medoid's own included, goes to cluster 0 (docs/algorithms.md, "Ties").
    X = np.array([[1.0], [1.0], [1.0]])
    km = cls(2, random_state=0).fit(X)
    assert len(np.unique(km.medoid_indices_)) == 2
    np.testing.assert_array_equal(km.labels_, [0, 0, 0])
    np.testing.assert_array_equal(km.predict(X), [0, 0, 0])
    np.testing.assert_array_equal(cls(2, random_state=0).fit_predict(X), [0, 0, 0])
    assert km.inertia_ == 0.0


def duplicated_estimators():
    for method in METHODS:
        for init in ("build", "lab", "k-medoids++", "random"):
            yield KMedoids(6, method=method, init=init, random_state=0)
    for init in ("build", "lab", "k-medoids++", "random"):
        yield CLARA(6, init=init, sample_size=30, random_state=0)
    yield CLARANS(6, random_state=0)


@pytest.mark.parametrize("seed", range(4))
def test_labels_equal_predict_on_data_full_of_duplicates(seed):
    # A few distinct points, each many times, on a small integer grid: ties between medoids at
    # every distance, coincident medoids when k exceeds the distinct points.
    rng = np.random.RandomState(seed)
    n_distinct = [3, 5, 8, 12][seed]
    points = rng.randint(0, 4, size=(n_distinct, 2)).astype(np.float64)
    X = points[rng.randint(0, n_distinct, size=60)]
    for est in duplicated_estimators():
        for data, metric in (
            (X, "euclidean"),
            (X, "chebyshev"),
            (pairwise_distances(X), "precomputed"),
        ):
            est.set_params(metric=metric)
            labels = est.fit(data).labels_
            np.testing.assert_array_equal(est.predict(data), labels, err_msg=repr(est))
            np.testing.assert_array_equal(clone(est).fit_predict(data), labels)
            D = est.transform(data)
            np.testing.assert_array_equal(labels, np.argmin(D, axis=1))


@pytest.mark.parametrize("method", METHODS)
def test_converged_and_convergence_warning(blobs, method):
    X, _ = blobs
    km = KMedoids(8, method=method, init="random", random_state=1).fit(X)
    assert km.converged_ and km.n_iter_ <= km.max_iter
    with pytest.warns(ConvergenceWarning, match="stopped after max_iter=1"):
        stopped = KMedoids(8, method=method, init="random", random_state=1, max_iter=1).fit(X)
    assert not stopped.converged_
    # max_iter=0 asks for no optimisation: nothing to warn about.
    assert not KMedoids(8, method=method, max_iter=0).fit(X).converged_


@pytest.mark.parametrize("method", METHODS)
def test_no_warning_when_the_last_allowed_iteration_converges(blobs, method):
    # n_iter_ counts the scan that found nothing to improve: allowing exactly that many
    # iterations converges, silently, to the same medoids.
    X, _ = blobs
    free = KMedoids(8, method=method, init="random", random_state=2).fit(X)
    capped = KMedoids(8, method=method, init="random", random_state=2, max_iter=free.n_iter_).fit(X)
    assert capped.converged_
    np.testing.assert_array_equal(capped.medoid_indices_, free.medoid_indices_)


def test_clara_converged_and_warning(blobs):
    X, _ = blobs
    assert CLARA(4, random_state=0).fit(X).converged_
    with pytest.warns(ConvergenceWarning, match="stopped after max_iter=1"):
        assert not CLARA(8, init="random", max_iter=1, random_state=0).fit(X).converged_


@pytest.mark.parametrize("method", METHODS)
def test_verbose_reports_every_pass(blobs, capsys, method):
    X, _ = blobs
    km = KMedoids(8, method=method, init="random", random_state=1, verbose=1).fit(X)
    lines = [
        ln
        for ln in capsys.readouterr().out.splitlines()
        if ln.startswith(f"[KMedoids] {method} ") and "swaps, loss" in ln
    ]
    assert len(lines) == km.n_iter_
    assert f"loss {km.inertia_:.6g}" in lines[-1]


@pytest.mark.parametrize("cls", [KMedoids, CLARA, CLARANS])
def test_dlpack_only_input_is_accepted_and_float32_kept(blobs, cls):
    X = np.ascontiguousarray(blobs[0], dtype=np.float32)
    ref = cls(3, random_state=0).fit(X)
    km = cls(3, random_state=0).fit(DLPackOnly(X), sample_weight=DLPackOnly(np.ones(len(X))))
    assert km.cluster_centers_.dtype == np.float32
    assert km.transform(DLPackOnly(X)).dtype == np.float32
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    np.testing.assert_array_equal(km.predict(DLPackOnly(X)), ref.labels_)
    if cls is KMedoids:  # the initial medoids' indices too
        given = KMedoids(3, init=DLPackOnly(np.array([0, 50, 100]))).fit(X)
        np.testing.assert_array_equal(
            given.medoid_indices_, KMedoids(3, init=np.array([0, 50, 100])).fit(X).medoid_indices_
        )


def test_torch_float32_tensor_stays_float32(blobs):
    torch = pytest.importorskip("torch")
    X = np.ascontiguousarray(blobs[0], dtype=np.float32)
    km = KMedoids(3).fit(torch.from_numpy(X))
    assert km.cluster_centers_.dtype == np.float32
    np.testing.assert_array_equal(km.labels_, KMedoids(3).fit(X).labels_)


def test_estimators_run_with_array_api_dispatch():
    out = run_with_array_api_dispatch("""
        from conftest import DLPackOnly
        from partita import CLARA, CLARANS, KMedoids
        X = np.random.RandomState(0).rand(60, 3).astype(np.float32)
        inputs = [X, DLPackOnly(X)]
        try:
            import torch
            inputs.append(torch.from_numpy(X))
        except ImportError:
            pass
        for est in (KMedoids(3), CLARA(3, random_state=0), CLARANS(3, random_state=0)):
            for data in inputs:
                est.fit(data)
                assert est.cluster_centers_.dtype == np.float32
                assert (est.predict(data) == est.labels_).all()
                est.transform(data), est.score(data)
        print("ok")
    """)
    assert out.strip() == "ok"


@pytest.mark.parametrize("cls", [KMedoids, CLARA, CLARANS])
def test_distance_matrix_given_as_features_warns(blobs, cls):
    D = pairwise_distances(blobs[0][:40])
    with pytest.warns(UserWarning, match="looks like a distance matrix.*metric='precomputed'"):
        cls(3, random_state=0).fit(D)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cls(3, metric="precomputed", random_state=0).fit(D)
        cls(3, random_state=0).fit(blobs[0])
