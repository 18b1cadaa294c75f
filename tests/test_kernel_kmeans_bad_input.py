"""Bad input to KernelKMeans: a clear error and an unfitted estimator; warnings for non-PSD
kernels; the pairwise tag."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from partita import KernelKMeans

from conftest import assert_unfitted


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).rand(30, 3)


def assert_fit_raises(km, data, match, exc=ValueError, **fit_params):
    with pytest.raises(exc, match=match):
        km.fit(data, **fit_params)
    assert_unfitted(km)


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_non_finite_features(X, value, dtype):
    Xb = X.astype(dtype)
    Xb[2, 1] = value
    assert_fit_raises(KernelKMeans(3), Xb, "NaN|infinity")


def test_precomputed_not_square_or_not_finite_or_asymmetric(X):
    K = X @ X.T
    assert_fit_raises(KernelKMeans(3, kernel="precomputed"), K[:, :20], "square")
    Kb = K.copy()
    Kb[1, 2] = Kb[2, 1] = np.nan
    assert_fit_raises(KernelKMeans(3, kernel="precomputed"), Kb, "NaN or infinity")
    Kb = K.copy()
    Kb[1, 2] += 1.0
    assert_fit_raises(KernelKMeans(3, kernel="precomputed"), Kb, "symmetric")


def test_non_psd_precomputed_warns(X):
    K = -(X @ X.T)
    # Such a "kernel" also collapses the clusters: the distances are clamped at 0.
    with (
        pytest.warns(UserWarning, match="positive semi-definite"),
        pytest.warns(ConvergenceWarning, match="distinct clusters"),
    ):
        KernelKMeans(3, kernel="precomputed", random_state=0).fit(K)


def test_psd_precomputed_does_not_warn(X, recwarn):
    KernelKMeans(3, kernel="precomputed", random_state=0).fit(X @ X.T)
    assert not [w for w in recwarn if "semi-definite" in str(w.message)]


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_clusters=31), "n_clusters=31 must be <= n_samples=30"),
        (dict(n_clusters=0), "n_clusters must be an integer >= 1"),
        (dict(kernel="nope"), "kernel must be one of"),
        (dict(kernel="linear", gamma=0.5), "gamma is not used"),
        (dict(gamma=-1.0), "gamma must be None or a finite real number > 0"),
        (dict(degree=-1), "degree must be a finite real number >= 0"),
        (dict(coef0=np.nan), "coef0 must be a finite real number"),
        (dict(kernel_params=dict(a=1)), "kernel_params is only for a callable"),
        (dict(init="build"), "init must be one of"),
        (dict(init=[0, 1]), "n_clusters=3 sample indices"),
        (dict(init=[0, 1, 99]), "init indices must be in"),
        (dict(init=[0.5, 1, 2]), "integer sample indices"),
        (dict(init=[4, 1, 4]), "init indices must be distinct: 1 repeated"),
        (dict(n_init=0), "n_init must be an integer >= 1"),
        (dict(max_iter=0), "max_iter must be an integer >= 1"),
        (dict(tol=-1.0), "tol must be a finite real number >= 0"),
        (dict(verbose=-1), "verbose must be an integer >= 0"),
        # Without the CUDA module the estimator has no device path; with it, no GPU here.
        (dict(device="cuda"), "device='cuda' is not available|no usable CUDA GPU"),
        (dict(device="tpu"), "device must be"),
        (dict(gram="sometimes"), "gram must be one of"),
        (dict(kernel="cosine", gram="blocked"), "gram='blocked' needs"),
        (dict(n_jobs=0), "n_jobs == 0"),
    ],
)
def test_bad_parameters(X, params, match):
    params = {"n_clusters": 3, **params}
    assert_fit_raises(KernelKMeans(**params), X, match)


def test_bad_sample_weight(X):
    assert_fit_raises(KernelKMeans(3), X, "non-negative", sample_weight=-np.ones(30))
    assert_fit_raises(KernelKMeans(3), X, "shape", sample_weight=np.ones(5))


def test_failed_refit_leaves_unfitted(X):
    km = KernelKMeans(3, random_state=0).fit(X)
    km.set_params(n_clusters=100)
    assert_fit_raises(km, X, "n_clusters")


def test_auto_device_runs_on_cpu(X):
    KernelKMeans(3, device="auto", random_state=0).fit(X)


def test_predict_input_checks(X):
    km = KernelKMeans(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        km.predict(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="features"):
        km.predict(np.ones((2, 4)))
    kp = KernelKMeans(3, kernel="precomputed", random_state=0).fit(X @ X.T)
    with pytest.raises(ValueError, match="30 features|training samples"):
        kp.predict(np.ones((2, 5)))


@pytest.mark.parametrize("kernel, pairwise", [("precomputed", True), ("rbf", False)])
def test_pairwise_tag(kernel, pairwise):
    assert KernelKMeans(kernel=kernel).__sklearn_tags__().input_tags.pairwise is pairwise


@pytest.mark.parametrize("gram", ["stored", "blocked"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("params", [{"degree": 1e6}, {"gamma": 1e200, "degree": 3}])
def test_overflowing_builtin_gram_is_a_value_error(gram, dtype, params):
    X = np.random.default_rng(0).random((40, 3)).astype(dtype)
    km = KernelKMeans(3, kernel="poly", gram=gram, random_state=0, **params)
    with pytest.raises(ValueError, match=r"'poly' kernel with gamma=.*degree=.*overflows"):
        km.fit(X)
    assert_unfitted(km)


@pytest.mark.parametrize("gram, where", [("stored", "Gram matrix"), ("blocked", "Gram rows")])
def test_nan_off_the_diagonal_of_a_builtin_gram_is_a_value_error(gram, where):
    # A fractional degree of a negative base: NaN off the diagonal, a finite diagonal (x.x >= 0),
    # so the Gram (stored or recomputed) gets a whole pass.
    X = np.random.default_rng(0).standard_normal((40, 3))
    km = KernelKMeans(3, kernel="poly", degree=1.5, coef0=0.0, gram=gram, random_state=0)
    with pytest.raises(ValueError, match=f"entries of (the )?{where}"):
        km.fit(X)
    assert_unfitted(km)


@pytest.mark.parametrize(
    "scale, match",
    [
        (1e-320, "largest weight >="),
        (1e-160, "largest weight >="),
        (1e300, "largest weight >="),
        (1e307, "sum of sample_weight overflows"),
    ],
)
def test_sample_weights_out_of_scale_are_a_value_error(scale, match):
    X = np.random.default_rng(0).random((40, 3))
    km = KernelKMeans(3, random_state=0)
    with pytest.raises(ValueError, match=match):
        km.fit(X, sample_weight=np.full(40, scale))
    assert_unfitted(km)


@pytest.mark.parametrize(
    "weight", [np.ones(30) + 1j, np.array(["1"] * 30)], ids=["complex", "strings"]
)
def test_non_real_sample_weight_is_refused(X, weight):
    assert_fit_raises(KernelKMeans(3), X, "sample_weight must be", sample_weight=weight)
