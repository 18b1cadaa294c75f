"""Compiled user metrics (numba cfuncs, or any C function f(x*, y*, n_features) -> double) are
checked on every distance the kernels compute, as they compute it. The compiled function here
is a ctypes callback standing in for numba (which these tests do not need)."""

import ctypes

import numpy as np
import pytest

import partita.medoids
from partita import CLARA, CLARANS, KMedoids, _core

from conftest import assert_unfitted

_DOUBLES = ctypes.POINTER(ctypes.c_double)
_PAIR = ctypes.CFUNCTYPE(ctypes.c_double, _DOUBLES, _DOUBLES, ctypes.c_ssize_t)


@pytest.fixture
def compiled(monkeypatch):
    """compiled(f): f, made to run in C++ as a compiled metric (as a numba function does)."""
    keep = {}

    def make(f):
        def pair(x, y, d):
            return f(np.ctypeslib.as_array(x, (d,)), np.ctypeslib.as_array(y, (d,)))

        keep[f] = _PAIR(pair)
        return f

    monkeypatch.setattr(partita.medoids, "_is_numba_function", lambda m: m in keep)
    monkeypatch.setattr(
        partita.medoids,
        "_numba_address",
        lambda m, dtype: ctypes.cast(keep[m], ctypes.c_void_p).value,
    )
    return make


def _rows_outside_the_spot_check(n):
    sample = set(np.random.RandomState(0).choice(n, size=64, replace=False).tolist())
    return [i for i in range(n) if i not in sample]


def _metric_bad_at(X, row, value):
    marker = X[row, 0]

    def metric(x, y):
        if x[0] == marker or y[0] == marker:
            return value
        return float(np.abs(x - y).sum())

    return metric


@pytest.mark.parametrize("value, match", [(-1.0, "negative distances"), (np.nan, "NaN")])
@pytest.mark.parametrize(
    "estimator",
    [
        KMedoids(3, distances="on-the-fly", random_state=0),
        KMedoids(3, distances="matrix", random_state=0),
        CLARANS(3, random_state=0),
    ],
    ids=["on-the-fly", "matrix", "CLARANS"],
)
def test_a_bad_distance_anywhere_is_a_value_error(compiled, estimator, value, match):
    X = np.random.RandomState(0).rand(200, 2)
    row = _rows_outside_the_spot_check(len(X))[0]
    estimator.set_params(metric=compiled(_metric_bad_at(X, row, value)))
    with pytest.raises(ValueError, match=match):
        estimator.fit(X)
    assert_unfitted(estimator)


def test_the_kernel_error_names_the_pair():
    X = np.random.RandomState(0).rand(10, 2)
    bad = _PAIR(lambda x, y, d: -2.0 if (x[0] == X[7, 0] or y[0] == X[7, 0]) else 1.0)
    space = _core.medoids.FeatureSpace64(
        X, _core.medoids.Metric.callback, ctypes.cast(bad, ctypes.c_void_p).value
    )
    with pytest.raises(ValueError, match=r"d\(7, [0-9]\) = -2"):
        space.distances_to(np.array([7], dtype=np.int64), 1)


def test_a_cosine_metric_with_rounding_in_its_self_distance_is_accepted(compiled):
    def cosine(x, y):
        return 1.0 - float(np.dot(x, y)) / (float(np.linalg.norm(x)) * float(np.linalg.norm(y)))

    X = np.random.RandomState(0).rand(100, 5) + 0.1
    assert max(abs(cosine(x, x)) for x in X) > 0  # the rounding this test is about
    for estimator in (KMedoids(3, distances="on-the-fly"), KMedoids(3), CLARA(3)):
        estimator.set_params(metric=compiled(cosine), random_state=0).fit(X)
        assert len(set(estimator.medoid_indices_)) == 3


def test_a_metric_with_a_real_self_distance_is_still_refused(compiled):
    X = np.random.RandomState(0).rand(100, 5)

    def shifted(x, y):
        return 1e-3 + float(np.abs(x - y).sum())

    with pytest.raises(ValueError, match=r"d\(x, x\)"):
        KMedoids(3, metric=compiled(shifted), distances="on-the-fly").fit(X)
