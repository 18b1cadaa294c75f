"""Shared data for the benchmarks: one process builds each matrix once."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import pairwise_distances


def blobs_distance_matrix(n, k, dtype=np.float64, seed=0, *, exactly_symmetric=True):
    """The euclidean distance matrix of n blob points in 16 dimensions, made exactly symmetric
    (or left as scikit-learn returns it, symmetric only to rounding), and k random initial
    medoids."""
    X, _ = make_blobs(n_samples=n, n_features=16, centers=k, random_state=seed)
    D = pairwise_distances(X)
    if exactly_symmetric:
        D = np.triu(D)
        D += D.T
    medoids = np.random.default_rng(seed).choice(n, k, replace=False)
    return np.ascontiguousarray(D, dtype=dtype), medoids


@pytest.fixture(scope="session")
def blobs_10k():
    return blobs_distance_matrix(10_000, 100)


@pytest.fixture(scope="session")
def blobs_10k_f32(blobs_10k):
    D, medoids = blobs_10k
    return D.astype(np.float32), medoids


@pytest.fixture(scope="session")
def sklearn_10k():
    """scikit-learn's own output, as users pass it: symmetric to rounding, not bit for bit."""
    return blobs_distance_matrix(10_000, 100, exactly_symmetric=False)
