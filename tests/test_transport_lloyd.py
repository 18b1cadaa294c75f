"""SinkhornKMeans' compiled Lloyd iterations: the squared distances and the centre update against
NumPy, the loop resumed after Sinkhorn finished an assignment, and the checks of the bindings."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from partita import SinkhornKMeans, _core

tr = _core.transport


def _points(n=37, d=5, k=7, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(k, d))


@pytest.mark.parametrize("n", [1, 15, 16, 37, 2100])  # below, at and beyond one tile / unit
def test_centre_distances_sum_the_features_in_order(n):
    X, C = _points(n=n)
    want = np.zeros((n, len(C)))
    for t in range(X.shape[1]):  # the documented order: feature 0 first
        want += (X[:, t, None] - C[None, :, t]) ** 2
    for threads in (1, 2):
        np.testing.assert_array_equal(tr.centre_distances(X, C, threads), want)


def test_update_centres_is_the_plan_weighted_mean():
    X, C = _points(n=2100, k=4)
    P = np.random.default_rng(1).dirichlet(np.ones(4), len(X)) / len(X)
    P[:, 2] = 0.0  # a cluster without mass keeps its centre
    want = (P.T @ X) / np.where(P.sum(0) > 0, P.sum(0), 1.0)[:, None]
    want[2] = C[2]
    got = [C.copy(), C.copy()]
    shifts = [tr.update_centres(X, P, got[0], 1), tr.update_centres(X, P, got[1], 2)]
    np.testing.assert_allclose(got[0], want, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(got[0], got[1])  # fixed units: the same bits on any threads
    assert shifts[0] == shifts[1]
    np.testing.assert_allclose(shifts[0], ((want - C) ** 2).sum(), rtol=1e-12)


def test_labels_rule_resumes_after_sinkhorn(monkeypatch):
    # tol=0 with Newton stopped short every time: each iteration is finished by Sinkhorn and the
    # compiled loop resumes with the previous labels; the same fixed point as Newton alone.
    from partita import transport

    X, _ = make_blobs(300, centers=3, random_state=4)
    ref = SinkhornKMeans(3, tol=0, random_state=0, reg=0.5, sinkhorn_tol=1e-10).fit(X)
    monkeypatch.setattr(transport, "_NEWTON_MAX_STEPS", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        km = SinkhornKMeans(
            3, tol=0, random_state=0, reg=0.5, sinkhorn_tol=1e-10, sinkhorn_max_iter=100000
        ).fit(X)
    assert km.converged_
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    np.testing.assert_allclose(km.cluster_centers_, ref.cluster_centers_, atol=1e-6)


def _lloyd_args(**changes):
    X, C = _points(n=20, d=3, k=2)
    args = dict(
        X=X,
        a=np.full(20, 1 / 20),
        log_b=np.log([0.5, 0.5]),
        centres=C.copy(),
        g=np.zeros(2),
        previous_labels=None,
        params=tr.LloydParams(),
    )
    args.update(changes)
    return args


@pytest.mark.parametrize(
    "changes, match",
    [
        (dict(centres=np.zeros((2, 4))), "centres"),
        (dict(g=np.zeros(3)), "g"),
        (dict(a=np.ones(19)), "a"),
        (dict(log_b=np.zeros(3)), "log_b"),
        (dict(previous_labels=np.zeros(19, dtype=np.int64)), "previous_labels"),
        (dict(X=np.zeros((20, 3), dtype=np.float32)), "X"),
    ],
)
def test_lloyd_checks_its_arguments(changes, match):
    with pytest.raises(ValueError, match=match):
        tr.lloyd(**_lloyd_args(**changes))


def test_lloyd_refuses_read_only_centres_and_runs_otherwise():
    centres = _points(n=20, d=3, k=2)[1]
    centres.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        tr.lloyd(**_lloyd_args(centres=centres))
    r = tr.lloyd(**_lloyd_args())
    assert r.final and r.assignment.converged and r.costs.shape == (20, 2)
    with pytest.raises(ValueError, match="plan"):
        tr.update_centres(np.zeros((20, 3)), np.zeros((20, 3)), np.zeros((2, 3)), 1)
