"""DenseMulticut as a scikit-learn estimator: bad input (a clear error, an unfitted estimator),
parameters, and scikit-learn's estimator checks."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from partita import DenseMulticut
from partita.multicut import multicut_objective


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).randn(40, 5)


def assert_unfitted(mc):
    for attr in ("labels_", "n_clusters_", "objective_", "n_merges_", "cluster_sums_",
                 "n_features_in_"):
        assert not hasattr(mc, attr), f"the failed fit set {attr}"
    with pytest.raises(NotFittedError):
        check_is_fitted(mc)


def assert_fit_raises(mc, data, match, exc=ValueError):
    with pytest.raises(exc, match=match):
        mc.fit(data)
    assert_unfitted(mc)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_non_finite_features(X, value, dtype):
    Xb = X.astype(dtype)
    Xb[3, 2] = value
    assert_fit_raises(DenseMulticut(), Xb, "NaN|infinity")
    with pytest.raises(ValueError, match="NaN|infinity"):
        multicut_objective(Xb, np.zeros(40, int))


def test_zero_rows_with_cosine(X):
    Xb = X.copy()
    Xb[[4, 9]] = 0.0
    assert_fit_raises(DenseMulticut(metric="cosine"), Xb, "2 row\\(s\\) are all zeros.*row 4")
    with pytest.raises(ValueError, match="all zeros"):
        multicut_objective(Xb, np.zeros(40, int), metric="cosine")
    DenseMulticut(metric="dot").fit(Xb)  # fine with dot products


@pytest.mark.parametrize("params, match", [
    (dict(offset=-0.1), "offset must be finite and >= 0"),
    (dict(offset=np.nan), "offset must be finite"),
    (dict(offset=np.inf), "offset must be finite"),
    (dict(offset="1"), "offset must be a real number"),
    (dict(metric="euclidean"), "metric must be one of"),
    (dict(algorithm="kl"), "algorithm must be one of"),
    (dict(n_neighbors=0), "n_neighbors must be >= 1"),
    (dict(n_neighbors=2.5), "n_neighbors must be an integer"),
    (dict(algorithm="gaec", refine=False, n_neighbors=5), "does not use it"),
    (dict(refine="yes"), "refine must be True or False"),
    (dict(n_jobs=0), "n_jobs == 0"),
    (dict(device="cuda"), "device='cuda' is not available"),
    (dict(device="tpu"), "device must be"),
    (dict(verbose=-1), "verbose must be >= 0"),
])
def test_bad_parameters(X, params, match):
    assert_fit_raises(DenseMulticut(**params), X, match)


def test_bad_shapes(X):
    assert_fit_raises(DenseMulticut(), X[:, 0], "2D array")
    assert_fit_raises(DenseMulticut(), X[:0], "0 sample")
    assert_fit_raises(DenseMulticut(), np.empty((5, 0)), "0 feature")
    assert_fit_raises(DenseMulticut(), np.full((5, 2), "a"), "convert|float")
    with pytest.raises(ValueError, match="labels must have shape"):
        multicut_objective(X, np.zeros(39, int))
    with pytest.raises(ValueError, match="labels must be integers"):
        multicut_objective(X, np.full(40, 0.5))
    with pytest.raises(ValueError, match="offset must be finite and >= 0"):
        multicut_objective(X, np.zeros(40, int), offset=-1.0)


def test_failed_refit_leaves_no_fitted_state(X):
    mc = DenseMulticut(offset=0.5).fit(X)
    Xb = X.copy()
    Xb[0, 0] = np.nan
    assert_fit_raises(mc, Xb, "NaN")


def test_read_only_and_non_contiguous_input(X):
    ref = DenseMulticut(offset=0.5).fit(X).labels_
    Xr = X.copy()
    Xr.setflags(write=False)
    np.testing.assert_array_equal(DenseMulticut(offset=0.5).fit(Xr).labels_, ref)
    Xf = np.asfortranarray(X)
    np.testing.assert_array_equal(DenseMulticut(offset=0.5).fit(Xf).labels_, ref)
    Xs = np.repeat(X, 2, axis=1)[:, ::2]
    np.testing.assert_array_equal(DenseMulticut(offset=0.5).fit(Xs).labels_, ref)


def test_single_sample_and_duplicates():
    mc = DenseMulticut().fit(np.array([[1.0, 2.0]]))
    assert mc.labels_.tolist() == [0] and mc.objective_ == 0.0 and mc.n_merges_ == 0
    X = np.tile([[1.0, 0.0]], (6, 1))
    mc = DenseMulticut(offset=0.5, algorithm="gaec").fit(X)
    assert mc.n_clusters_ == 1 and mc.n_merges_ == 5
    mc = DenseMulticut(offset=1.0).fit(X)  # every cost is exactly 0: nothing to gain
    assert mc.n_clusters_ == 6 and mc.objective_ == 0.0


def test_predict_shape_checks(X):
    mc = DenseMulticut(offset=0.5).fit(X)
    with pytest.raises(ValueError, match="features"):
        mc.predict(X[:, :3])
    with pytest.raises(NotFittedError):
        DenseMulticut().predict(X)


def test_clone_and_params():
    mc = DenseMulticut(offset=0.3, metric="cosine", algorithm="gaec", n_neighbors=10,
                       refine=False, n_jobs=2)
    assert clone(mc).get_params() == mc.get_params()


def test_verbose_summary_matches_the_fit(X, capsys):
    mc = DenseMulticut(offset=0.3, verbose=1).fit(X)
    first, last = capsys.readouterr().out.strip().splitlines()
    assert first.startswith("[DenseMulticut] lazy + refine: 40 samples x 5 features")
    assert f"{mc.n_clusters_} clusters: {mc.n_merges_} contractions" in last
    assert f"{mc.n_moves_} moves" in last and f"objective {mc.objective_:.6g}" in last
    DenseMulticut(offset=0.3).fit(X)
    assert capsys.readouterr().out == ""
