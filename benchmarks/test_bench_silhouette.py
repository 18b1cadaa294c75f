"""Medoid silhouette clustering and the silhouette against their peers, same data, same run.

    python -m pytest benchmarks/test_bench_silhouette.py --benchmark-group-by=group

* FasterMSC: the euclidean distances of 10,000 blob points in 16 dimensions (100 centres),
  k = 100, the same random initial medoids for partita (one thread) and the `kmedoids`
  package; every partita run is checked to give the peer's medoids, silhouette and swaps.
* Exact silhouette: 20,000 blob points in 16 dimensions, the same float64 distance matrix
  (3.2 GB) and labels for partita and scikit-learn's ``silhouette_score``; the values agree to
  1e-12.

FasterMSC: one round each (the peer takes seconds). Silhouette: 3 rounds of the peer, 5 of
partita (compare the minima). The whole file runs in a few minutes on two cores.
"""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import pairwise_distances, silhouette_score

from partita import KMedoids
from partita.metrics import silhouette

kmedoids = pytest.importorskip("kmedoids")


def _fastermsc(D, medoids, n_jobs):
    return KMedoids(
        len(medoids), metric="precomputed", method="fastermsc", init=medoids, n_jobs=n_jobs
    ).fit(D)


@pytest.mark.benchmark(group="fastermsc n=10000 k=100 float64")
def test_peer_fastermsc(benchmark, blobs_10k):
    D, medoids = blobs_10k
    r = benchmark.pedantic(
        kmedoids.fastermsc,
        args=(D, medoids.astype(np.uintp)),
        kwargs=dict(max_iter=300),
        rounds=1,
        iterations=1,
    )
    benchmark.extra_info.update(silhouette=float(r.loss), n_swaps=int(r.n_swap))


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.benchmark(group="fastermsc n=10000 k=100 float64")
def test_partita_fastermsc(benchmark, blobs_10k, n_jobs):
    D, medoids = blobs_10k
    est = benchmark.pedantic(_fastermsc, args=(D, medoids, n_jobs), rounds=1, iterations=1)
    ref = kmedoids.fastermsc(D, medoids.astype(np.uintp), max_iter=300)
    assert est.medoid_indices_.tolist() == list(ref.medoids)
    assert est.medoid_silhouette_ == ref.loss and est.n_swaps_ == ref.n_swap
    benchmark.extra_info.update(silhouette=est.medoid_silhouette_, n_swaps=est.n_swaps_)


@pytest.fixture(scope="module")
def silhouette_20k():
    """The distance matrix of 20,000 blob points (20 centres, 16 dimensions) and their labels."""
    X, labels = make_blobs(n_samples=20_000, n_features=16, centers=20, random_state=0)
    return np.ascontiguousarray(pairwise_distances(X, n_jobs=2)), labels


@pytest.mark.benchmark(group="silhouette n=20000 float64")
def test_peer_silhouette_score(benchmark, silhouette_20k):
    D, labels = silhouette_20k
    value = benchmark.pedantic(
        silhouette_score, args=(D, labels), kwargs=dict(metric="precomputed"), rounds=3
    )
    benchmark.extra_info.update(silhouette=float(value))


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.benchmark(group="silhouette n=20000 float64")
def test_partita_silhouette(benchmark, silhouette_20k, n_jobs):
    D, labels = silhouette_20k
    value = benchmark.pedantic(
        silhouette,
        args=(D, labels),
        kwargs=dict(metric="precomputed", n_jobs=n_jobs),
        rounds=5,
        iterations=1,
    )
    benchmark.extra_info.update(silhouette=value)
