"""SinkhornKMeans: a NumPy reference loop on the oracle, balance, reject option, predict /
predict_proba consistency, determinism, and scikit-learn's estimator checks."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances

from partita import SinkhornKMeans
from partita.transport import sinkhorn

from conftest import DLPackOnly, run_with_array_api_dispatch
from oracles.transport import plan_of, sinkhorn_log


def _blobs(n=300, seed=0, sizes=(0.6, 0.25, 0.15)):
    rng = np.random.default_rng(seed)
    parts = [rng.normal(c, 0.8, (int(n * s), 2)) for c, s in zip(([0, 0], [4, 0], [0, 4]), sizes)]
    return np.vstack(parts)


def _reference(X, init, reg, max_iter, tol, s_tol, s_max_iter, cw=None):
    """Lloyd with the oracle's OT assignment, warm-started, as documented in the estimator."""
    n, k = X.shape[0], init.shape[0]
    a = np.full(n, 1 / n)
    b = np.full(k, 1 / k) if cw is None else np.asarray(cw) / np.sum(cw)
    mean = X.mean(0)
    eps = reg * np.mean(((X - mean) ** 2).sum(1))
    tol_abs = tol * np.mean(X.var(0))
    c = init.copy()
    f = g = None
    for it in range(1, max_iter + 1):  # noqa: B007 (it is the count returned)
        D = ((X[:, None, :] - c[None]) ** 2).sum(-1)
        f, g, *_ = sinkhorn_log(D, a, b, eps, max_iter=s_max_iter, tol=s_tol, f0=f, g0=g)
        P = plan_of(D, a, b, f, g, eps)
        new = (P.T @ X) / P.sum(0)[:, None]
        shift = ((new - c) ** 2).sum()
        c = new
        if shift <= tol_abs:
            break
    D = ((X[:, None, :] - c[None]) ** 2).sum(-1)
    f, g, *_ = sinkhorn_log(D, a, b, eps, max_iter=s_max_iter, tol=s_tol, f0=f, g0=g)
    P = plan_of(D, a, b, f, g, eps)
    return c, P, g + eps * np.log(b), it


@pytest.mark.parametrize("cw", [None, [0.5, 0.3, 0.2]])
def test_equals_numpy_reference_loop(cw):
    X = _blobs()
    init = X[[0, 200, 290]].copy()
    km = SinkhornKMeans(
        3, reg=0.05, init=init, cluster_weights=cw, tol=1e-6, sinkhorn_tol=1e-9
    ).fit(X)
    c, P, g, it = _reference(X, init, 0.05, 100, 1e-6, 1e-9, 1000, cw)
    assert km.n_iter_ == it
    np.testing.assert_allclose(km.cluster_centers_, c, atol=1e-8)
    np.testing.assert_allclose(
        km.cluster_potentials_ - km.cluster_potentials_[0], g - g[0], atol=1e-8
    )
    np.testing.assert_array_equal(km.labels_, np.argmax(P, axis=1))
    np.testing.assert_allclose(km.cluster_sizes_, P.sum(0) * len(X), atol=1e-7)


@pytest.mark.parametrize("cw", [None, [0.2, 0.3, 0.5]])
def test_cluster_sizes_follow_weights(cw):
    X = _blobs(seed=1)
    km = SinkhornKMeans(3, reg=0.02, cluster_weights=cw, random_state=0).fit(X)
    target = np.full(3, 1 / 3) if cw is None else np.asarray(cw)
    np.testing.assert_allclose(km.cluster_sizes_ / len(X), target, atol=1e-5)
    # hard labels at small reg follow the sizes too (imbalanced blobs, balanced clusters)
    counts = np.bincount(km.labels_, minlength=3) / len(X)
    np.testing.assert_allclose(counts, target, atol=0.03)


def test_reg_m_relaxes_sizes_towards_the_data():
    X = _blobs(seed=2)
    hard = SinkhornKMeans(3, reg=0.02, random_state=0).fit(X)
    soft = SinkhornKMeans(3, reg=0.02, reg_m=0.05, random_state=0).fit(X)
    assert np.ptp(soft.cluster_sizes_) > 5 * np.ptp(hard.cluster_sizes_)


@pytest.mark.parametrize("mass", [0.9, 0.7])
def test_mass_leaves_a_fraction_unassigned(mass):
    X = _blobs(seed=3)
    km = SinkhornKMeans(3, reg=0.01, mass=mass, sinkhorn_max_iter=5000, random_state=0).fit(X)
    frac = np.mean(km.labels_ == -1)
    assert abs(frac - (1 - mass)) < 0.03
    np.testing.assert_allclose(km.cluster_sizes_.sum() / len(X), mass, atol=1e-5)
    # the unassigned points are the far ones: their cost to every centre is larger
    D = km.transform(X)
    assert np.median(D[km.labels_ == -1].min(1)) > np.median(D[km.labels_ >= 0].min(1))
    np.testing.assert_array_equal(km.predict(X), km.labels_)


def test_predict_uses_prices_and_proba():
    X = _blobs(seed=4)
    km = SinkhornKMeans(3, reg=0.05, random_state=0).fit(X)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    D = km.transform(X)
    np.testing.assert_array_equal(km.labels_, np.argmin(D - km.cluster_potentials_, axis=1))
    P = km.predict_proba(X)
    np.testing.assert_allclose(P.sum(1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(np.argmax(P, 1), km.labels_)
    assert np.isclose(km.score(X), -km.inertia_)
    Xn = np.random.default_rng(0).normal(size=(50, 2)) * 3
    assert km.predict(Xn).shape == (50,) and km.predict_proba(Xn).shape == (50, 3)


def test_deterministic_and_n_jobs_independent():
    X = _blobs(seed=5)
    a = SinkhornKMeans(3, random_state=7, n_jobs=1).fit(X)
    b = SinkhornKMeans(3, random_state=7, n_jobs=2).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_float32_and_weights():
    X = _blobs(seed=6)
    km32 = SinkhornKMeans(3, random_state=0).fit(X.astype(np.float32))
    km64 = SinkhornKMeans(3, random_state=0).fit(X)
    assert km32.cluster_centers_.dtype == np.float32
    assert km32.transform(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(km32.cluster_centers_, km64.cluster_centers_, atol=1e-4)
    w = np.ones(len(X))
    np.testing.assert_allclose(
        SinkhornKMeans(3, random_state=0).fit(X, sample_weight=w).cluster_centers_,
        km64.cluster_centers_,
    )


def test_blobs_recovered():
    X, y = make_blobs(300, centers=3, cluster_std=0.5, random_state=0)
    km = SinkhornKMeans(3, random_state=0).fit(X)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(y, km.labels_) > 0.95


def test_verbose_reports_every_iteration(capsys):
    X, _ = make_blobs(120, centers=3, random_state=3)
    km = SinkhornKMeans(3, n_init=2, random_state=0, verbose=1).fit(X)
    out = capsys.readouterr().out.splitlines()
    iterations = [line for line in out if "iteration" in line and "centre shift" in line]
    runs = [line for line in out if "transport cost" in line]
    assert len(runs) == 2
    assert len(iterations) >= km.n_iter_  # both runs' iterations; the kept one has n_iter_
    assert out[0].startswith("[SinkhornKMeans] 120 samples, 3 clusters, epsilon")
    assert SinkhornKMeans(3, random_state=0).fit(X) is not None and not capsys.readouterr().out
    with pytest.raises(ValueError, match="verbose"):
        SinkhornKMeans(3, verbose=-1).fit(X)


# ---- conventions users of scikit-learn's KMeans and of POT rely on ---------------------------


def test_converged_and_convergence_warning():
    X = _blobs()
    assert SinkhornKMeans(3, random_state=0).fit(X).converged_
    with pytest.warns(ConvergenceWarning, match="stopped after max_iter=1"):
        km = SinkhornKMeans(3, random_state=0, max_iter=1).fit(X)
    assert not km.converged_ and km.n_iter_ == 1


def test_explicit_init_with_several_inits_runs_once(capsys):
    X = _blobs()
    init = X[[0, 200, 290]]
    with pytest.warns(RuntimeWarning, match="performing only one init.*n_init=4"):
        km = SinkhornKMeans(3, init=init, n_init=4, verbose=1).fit(X)
    runs = [ln for ln in capsys.readouterr().out.splitlines() if "/1:" in ln or "/4:" in ln]
    assert len(runs) == 1
    np.testing.assert_array_equal(
        km.cluster_centers_, SinkhornKMeans(3, init=init).fit(X).cluster_centers_
    )


def test_coincident_centres_warn_like_kmeans():
    X = _blobs()
    init = X[[0, 0, 200]]
    with pytest.warns(
        ConvergenceWarning,
        match=r"distinct clusters \(2\) found smaller than "
        r"n_clusters \(3\)",
    ):
        SinkhornKMeans(3, init=init).fit(X)


@pytest.mark.parametrize("tol", [1e-4, 1e-12])
def test_refit_from_own_centres_stays_put(tol):
    # The next Lloyd step from the fitted centres is within the stopping rule: one iteration,
    # and the centres move by no more than tol allows (squared shift <= tol * mean variance).
    # At a small tol this needs assignments solved accordingly: with sinkhorn_tol alone the
    # plan's error moved the centres by several times what tol allows.
    X, _ = make_blobs(300, centers=4, random_state=1)
    km = SinkhornKMeans(4, reg=0.5, tol=tol, max_iter=500, random_state=0).fit(X)
    again = SinkhornKMeans(4, reg=0.5, tol=tol, max_iter=500, init=km.cluster_centers_).fit(X)
    assert again.n_iter_ == 1 and again.converged_
    shift = ((again.cluster_centers_ - km.cluster_centers_) ** 2).sum()
    assert shift <= tol * np.mean(X.var(0))


def test_tol_zero_stops_when_labels_stop_changing():
    X = _blobs()
    km = SinkhornKMeans(3, tol=0, random_state=0, max_iter=300).fit(X)
    assert km.converged_ and km.n_iter_ < 300
    again = SinkhornKMeans(3, tol=0, init=km.cluster_centers_, max_iter=300).fit(X)
    assert again.n_iter_ == 2  # the second iteration confirms the first's labels
    np.testing.assert_array_equal(again.labels_, km.labels_)


def test_dlpack_only_input_is_accepted_and_float32_kept():
    X = np.ascontiguousarray(_blobs(), dtype=np.float32)
    ref = SinkhornKMeans(3, random_state=0).fit(X)
    km = SinkhornKMeans(3, random_state=0).fit(DLPackOnly(X))
    assert km.cluster_centers_.dtype == np.float32
    assert km.transform(DLPackOnly(X)).dtype == np.float32
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    np.testing.assert_array_equal(km.predict(DLPackOnly(X)), ref.labels_)
    init, weights = X[[0, 200, 290]], np.array([0.5, 0.3, 0.2])
    given = SinkhornKMeans(3, init=DLPackOnly(init), cluster_weights=DLPackOnly(weights)).fit(X)
    np.testing.assert_array_equal(
        given.cluster_centers_,
        SinkhornKMeans(3, init=init, cluster_weights=weights).fit(X).cluster_centers_,
    )
    C = np.random.default_rng(0).uniform(size=(5, 4)).astype(np.float32)
    r = sinkhorn(DLPackOnly(C), DLPackOnly(np.full(5, 0.2)), reg=0.1)
    assert r.plan.dtype == np.float32
    np.testing.assert_array_equal(r.plan, sinkhorn(C, np.full(5, 0.2), reg=0.1).plan)


def test_torch_float32_tensor_stays_float32():
    torch = pytest.importorskip("torch")
    X = np.ascontiguousarray(_blobs(), dtype=np.float32)
    km = SinkhornKMeans(3, random_state=0).fit(torch.from_numpy(X))
    assert km.cluster_centers_.dtype == np.float32
    assert sinkhorn(torch.from_numpy(X[:5, :2] ** 2), reg=1.0).plan.dtype == np.float32


def test_estimator_runs_with_array_api_dispatch():
    out = run_with_array_api_dispatch("""
        from conftest import DLPackOnly
        from partita import SinkhornKMeans
        from partita.transport import sinkhorn
        X = np.random.RandomState(0).rand(60, 3).astype(np.float32)
        inputs = [X, DLPackOnly(X)]
        try:
            import torch
            inputs.append(torch.from_numpy(X))
        except ImportError:
            pass
        for data in inputs:
            km = SinkhornKMeans(3, random_state=0).fit(data)
            assert km.cluster_centers_.dtype == np.float32
            km.predict(data), km.transform(data), km.score(data), km.predict_proba(data)
        assert sinkhorn(X[:5] ** 2, reg=1.0).plan.dtype == np.float32
        print("ok")
    """)
    assert out.strip() == "ok"


def test_distance_matrix_given_as_features_warns():
    D = pairwise_distances(_blobs()[:40])
    with pytest.warns(UserWarning, match="looks like a distance matrix"):
        SinkhornKMeans(3, random_state=0).fit(D)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SinkhornKMeans(3, random_state=0).fit(_blobs())


def test_sinkhorn_docstring_maps_pot_arguments():
    for pot_name in ("numItermax", "stopThr", "log", 'method="sinkhorn"', "ot.sinkhorn(a, b, M"):
        assert pot_name in sinkhorn.__doc__


def test_reg_below_the_precision_of_the_distances_warns():
    X = np.random.default_rng(0).random((30, 2))
    with pytest.warns(UserWarning, match="below the precision of the squared distances"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            SinkhornKMeans(3, reg=1e-30, random_state=0).fit(X)


def test_no_sample_assigned_gives_nan_inertia_and_a_warning():
    X = np.random.default_rng(0).random((200, 2))
    with pytest.warns(UserWarning, match="no sample was assigned"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            km = SinkhornKMeans(100, mass=0.3, random_state=0).fit(X)
    assert np.all(km.labels_ == -1) and np.isnan(km.inertia_)
