"""DenseMulticut and multicut_objective on bad input: a clear error, and an estimator left
unfitted (docs/algorithms.md, "Multicut validation")."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from partita import DenseMulticut
from partita.multicut import multicut_objective

from conftest import assert_unfitted


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).randn(40, 5)


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


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(offset=-0.1), "offset must be a finite real number >= 0"),
        (dict(offset=np.nan), "offset must be a finite real number"),
        (dict(offset=np.inf), "offset must be a finite real number"),
        (dict(offset="1"), "offset must be a finite real number"),
        (dict(metric="euclidean"), "metric must be one of"),
        (dict(algorithm="kl"), "algorithm must be one of"),
        (dict(n_neighbors=0), "n_neighbors must be an integer >= 1"),
        (dict(n_neighbors=2.5), "n_neighbors must be an integer"),
        (dict(algorithm="gaec", refine=False, n_neighbors=5), "does not use it"),
        (dict(refine="yes"), "refine must be a bool"),
        (dict(n_jobs=0), "n_jobs == 0"),
        # Without the CUDA module the estimator has no device path; with it, no GPU here.
        (dict(device="cuda"), "device='cuda' is not available|no usable CUDA GPU"),
        (dict(device="tpu"), "device must be"),
        (dict(verbose=-1), "verbose must be an integer >= 0"),
    ],
)
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


@pytest.mark.parametrize(
    "offset, match",
    [
        (-1.0, "offset must be >= 0"),
        (np.nan, "offset must be finite"),
        (np.inf, "offset must be finite"),
        ("1", "offset must be a real number"),
    ],
)
def test_bad_objective_offset(X, offset, match):
    with pytest.raises(ValueError, match=match):
        multicut_objective(X, np.zeros(40, int), offset=offset)


def test_bad_objective_metric(X):
    with pytest.raises(ValueError, match="metric must be one of"):
        multicut_objective(X, np.zeros(40, int), metric="euclidean")


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


def test_predict_shape_checks(X):
    mc = DenseMulticut(offset=0.5).fit(X)
    with pytest.raises(ValueError, match="features"):
        mc.predict(X[:, :3])
    with pytest.raises(NotFittedError):
        DenseMulticut().predict(X)


@pytest.mark.parametrize(
    "weights, match",
    [
        (-1.0, "non-negative"),
        (np.nan, "NaN"),
        (0.0, "positive sum"),
    ],
)
def test_bad_sample_weight(X, weights, match):
    w = np.ones(X.shape[0])
    w[[0, 3]] = weights
    if weights == 0.0:
        w[:] = 0.0
    mc = DenseMulticut()
    with pytest.raises(ValueError, match=match):
        mc.fit(X, sample_weight=w)
    assert_unfitted(mc)
    with pytest.raises(ValueError, match=match):
        multicut_objective(X, np.zeros(X.shape[0], dtype=int), sample_weight=w)
    with pytest.raises(ValueError, match="shape"):
        DenseMulticut().fit(X, sample_weight=np.ones(3))


def test_offset_whose_objective_overflows_is_refused(X):
    # Every pair cut at offset 1e308 would sum to -inf.
    assert_fit_raises(DenseMulticut(offset=1e308), X, "offset=.* too large")
    with pytest.raises(ValueError, match="offset=.* too large"):
        multicut_objective(X, np.arange(X.shape[0]) % 3, offset=1e308)
    # A large offset that stays in range still gives a finite objective.
    assert np.isfinite(DenseMulticut(offset=1e290).fit(X).objective_)


def test_non_real_sample_weight_is_refused(X):
    mc = DenseMulticut()
    with pytest.raises(ValueError, match="sample_weight must be real"):
        mc.fit(X, sample_weight=np.ones(X.shape[0]) + 1j)
    assert_unfitted(mc)
