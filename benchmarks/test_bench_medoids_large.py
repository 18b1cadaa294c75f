"""k-medoids beyond the n x n matrix: CLARA, CLARANS and FasterPAM with on-the-fly distances.

    python -m pytest benchmarks/test_bench_medoids_large.py --benchmark-group-by=group

These problems are past what the peer (the `kmedoids` package, dense matrix input only) can
hold: n = 1,000,000 needs an 8 TB matrix, n = 100,000 an 80 GB one. Where a peer number makes
sense it is taken in the same run (FasterPAM on a 20,000-point subsample for CLARA's quality).
Each run is timed once (rounds=1): they take tens of seconds.
"""

import time

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from partita import CLARA, CLARANS, KMedoids, _core

kmedoids = pytest.importorskip("kmedoids")


def blobs(n, d, k, seed=0):
    X, _ = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=2.0, random_state=seed)
    return X


def full_loss(X, medoids):
    """Total euclidean distance of all points to their nearest medoid (C++, on the fly)."""
    space = _core.medoids.FeatureSpace64(np.ascontiguousarray(X), _core.medoids.Metric.euclidean)
    return _core.medoids.assign(space, np.asarray(medoids, dtype=np.int64), np.ones(len(X)), 0).loss


@pytest.fixture(scope="module")
def million():
    return blobs(1_000_000, 16, 100)


@pytest.fixture(scope="module")
def subsample_reference(million):
    """The quality bar: FasterPAM on a 20,000-point subsample (BUILD start from partita, the
    peer's FasterPAM from there: the peer's own BUILD would take minutes), scored on all points."""
    rng = np.random.default_rng(1)
    idx = np.sort(rng.choice(len(million), 20_000, replace=False))
    sub = np.ascontiguousarray(million[idx])
    Dm = _core.medoids.FeatureSpace64(sub, _core.medoids.Metric.euclidean).distance_matrix(0)
    start = _core.medoids.build(Dm, 100, np.ones(len(sub)), 0)
    t0 = time.perf_counter()
    r = kmedoids.fasterpam(Dm, start, n_cpu=1)
    elapsed = time.perf_counter() - t0
    del Dm
    return full_loss(million, idx[np.asarray(r.medoids, dtype=np.int64)]), elapsed


@pytest.mark.benchmark(group="CLARA n=1,000,000 d=16 k=100")
@pytest.mark.parametrize("sample_size", [None, 2000, 5000])
def test_clara_million(benchmark, million, subsample_reference, sample_size):
    ref_loss, ref_time = subsample_reference
    est = benchmark.pedantic(
        lambda: CLARA(100, sample_size=sample_size, random_state=0).fit(million),
        rounds=1,
        iterations=1,
    )
    benchmark.extra_info.update(
        loss=est.inertia_,
        reference_loss=ref_loss,
        reference_time_s=ref_time,
        loss_ratio=est.inertia_ / ref_loss,
        sample_size=sample_size or 80 + 4 * 100,
    )


@pytest.mark.benchmark(group="FasterPAM on the fly n=100,000 d=32 k=100")
def test_fasterpam_on_the_fly(benchmark):
    X = blobs(100_000, 32, 100)
    est = benchmark.pedantic(
        lambda: KMedoids(100, init="lab", distances="on-the-fly", random_state=0).fit(X),
        rounds=1,
        iterations=1,
    )
    benchmark.extra_info.update(loss=est.inertia_, n_iter=est.n_iter_, n_swaps=est.n_swaps_)


@pytest.fixture(scope="module")
def medium():
    return blobs(20_000, 16, 20, seed=3)


@pytest.mark.benchmark(group="CLARA vs CLARANS n=20,000 d=16 k=20")
@pytest.mark.parametrize("n_sampling", [5, 20])
def test_clara_medium(benchmark, medium, n_sampling):
    est = benchmark.pedantic(
        lambda: CLARA(20, n_sampling=n_sampling, random_state=0).fit(medium), rounds=3, iterations=1
    )
    benchmark.extra_info.update(loss=est.inertia_)


@pytest.mark.benchmark(group="CLARA vs CLARANS n=20,000 d=16 k=20")
@pytest.mark.parametrize("n_local", [1, 2])
def test_clarans_medium(benchmark, medium, n_local):
    est = benchmark.pedantic(
        lambda: CLARANS(20, n_local=n_local, random_state=0).fit(medium), rounds=3, iterations=1
    )
    benchmark.extra_info.update(loss=est.inertia_)


@pytest.mark.benchmark(group="CLARA vs CLARANS n=20,000 d=16 k=20")
def test_fasterpam_medium(benchmark, medium):
    """The full FasterPAM (matrix, BUILD) as the quality and time reference."""
    est = benchmark.pedantic(lambda: KMedoids(20).fit(medium), rounds=3, iterations=1)
    benchmark.extra_info.update(loss=est.inertia_)
