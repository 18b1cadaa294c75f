"""partita.dask refuses what it cannot read faithfully, before any task runs."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

from partita.dask import CLARA  # noqa: E402

from conftest import assert_unfitted  # noqa: E402


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).rand(30, 2)


def test_complex_features_are_refused(X):
    est = CLARA(3)
    with pytest.raises(ValueError, match="X must be real"):
        est.fit(da.from_array(X + 1j, chunks=10))
    assert_unfitted(est)


def test_complex_sample_weight_is_refused(X):
    est = CLARA(3)
    w = da.from_array(np.ones(30) + 1j, chunks=10)
    with pytest.raises(ValueError, match="sample_weight must be real"):
        est.fit(da.from_array(X, chunks=10), sample_weight=w)
    assert_unfitted(est)


def test_unknown_chunk_sizes_are_refused(X):
    dX = da.from_array(X, chunks=10)
    masked = dX[dX[:, 0] > -1]  # boolean indexing leaves the row counts unknown
    est = CLARA(3)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        est.fit(masked)
    assert_unfitted(est)
