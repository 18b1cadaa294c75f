"""partita.dask.CLARA against dask-ml's KMeans on the same distributed.LocalCluster.

    python -m pytest benchmarks/test_bench_dask.py -s --benchmark-group-by=group

Blobs of n = 1,000,000 points in d = 32 float32 dimensions, k = 32 centres, generated on the
workers in chunks of 100,000 rows and persisted there before timing; both estimators fit the
same Dask array and are scored by their ARI against the true blobs. `PARTITA_BENCH_N` changes
n (the target size 10^7 needs 1.3 GB per copy of X and a machine with more than two cores).
Each fit is timed once (rounds=1). The scaling runs time partita.dask.CLARA with 1 and 2
workers.
"""

import os
import time

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

da = pytest.importorskip("dask.array")
delayed = pytest.importorskip("dask").delayed
distributed = pytest.importorskip("distributed")
dask_ml_cluster = pytest.importorskip("dask_ml.cluster")

from partita.dask import CLARA  # noqa: E402

N = int(os.environ.get("PARTITA_BENCH_N", 1_000_000))
D, K, CHUNK = 32, 32, 100_000


def blob_block(block_id, size):
    """One chunk of blobs, generated where it will live: K centres in [-10, 10]^D (the same on
    every worker), each point a centre plus N(0, 2^2) noise; its labels in the last column."""
    centres = np.random.RandomState(0).uniform(-10.0, 10.0, (K, D))
    rng = np.random.RandomState(1 + block_id)
    labels = rng.randint(K, size=size)
    X = centres[labels] + rng.normal(0.0, 2.0, (size, D))
    return np.hstack([X, labels[:, None]]).astype(np.float32)


def blobs_on_workers():
    """X (N x D float32, chunks of CHUNK rows) persisted on the workers, and its labels."""
    sizes = [min(CHUNK, N - s) for s in range(0, N, CHUNK)]
    parts = [
        da.from_delayed(delayed(blob_block)(i, size), shape=(size, D + 1), dtype=np.float32)
        for i, size in enumerate(sizes)
    ]
    XY = da.concatenate(parts).persist()
    distributed.wait(XY)
    X = XY[:, :D].rechunk((CHUNK, D)).persist()
    distributed.wait(X)
    y = XY[:, D].astype(np.int64).compute()
    return X, y


def cluster(n_workers):
    return distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )


def fit_timed(estimator, X):
    t0 = time.perf_counter()
    estimator.fit(X)
    return time.perf_counter() - t0


def report(benchmark, name, seconds, ari, **extra):
    benchmark.extra_info.update(seconds=seconds, ari=ari, **extra)
    print(f"\n{name}: {seconds:.2f} s, ARI {ari:.4f} {extra}")


@pytest.mark.benchmark(group=f"dask n={N} d={D} k={K}, 2 workers")
@pytest.mark.parametrize("estimator", ["partita.dask.CLARA", "dask_ml.cluster.KMeans"])
def test_clara_against_dask_ml(benchmark, estimator):
    with cluster(2) as c, distributed.Client(c):
        Xd, y = blobs_on_workers()
        if estimator == "partita.dask.CLARA":
            est = CLARA(K, random_state=0)
        else:
            est = dask_ml_cluster.KMeans(n_clusters=K, random_state=0)
        seconds = benchmark.pedantic(lambda: fit_timed(est, Xd), rounds=1, iterations=1)
        ari = adjusted_rand_score(y, np.asarray(est.labels_.compute()))
        extra = {"n_iter": int(getattr(est, "n_iter_", 0))}
        report(benchmark, estimator, seconds, ari, **extra)


@pytest.mark.benchmark(group=f"partita.dask.CLARA n={N} d={D} k={K}: workers")
@pytest.mark.parametrize("n_workers", [1, 2])
def test_clara_scaling(benchmark, n_workers):
    with cluster(n_workers) as c, distributed.Client(c):
        Xd, y = blobs_on_workers()
        est = CLARA(K, random_state=0)
        seconds = benchmark.pedantic(lambda: fit_timed(est, Xd), rounds=1, iterations=1)
        ari = adjusted_rand_score(y, np.asarray(est.labels_.compute()))
        report(benchmark, f"CLARA, {n_workers} worker(s)", seconds, ari)
