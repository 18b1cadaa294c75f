"""Kernel k-means against tslearn's KernelKMeans, same data, same run.

    python -m pytest benchmarks/test_bench_kernel_kmeans.py --benchmark-group-by=group

Setting: rbf kernel (gamma = 1 / n_features) on blobs with 16 features,
n = 5000, k = 10, 1 initialisation, both libraries run for exactly the same number of iterations
(tol = 0, max_iter = ITERS; partita's count is checked), the Gram computation included. tslearn
drops the centre-norm term of the distance, so its partition is not compared. Large case:
n = 50,000, d = 32, k = 20, the Gram rows recomputed in blocks every iteration (the n x n float64
matrix, 20 GB, is not stored).
"""

import warnings

import pytest
from sklearn.datasets import make_blobs

from partita import KernelKMeans

tslearn_clustering = pytest.importorskip("tslearn.clustering")

ITERS = 10


@pytest.fixture(scope="module")
def blobs_5k():
    X, _ = make_blobs(5000, n_features=16, centers=10, random_state=0)
    return X


def _partita(X, n_jobs, **kw):
    return KernelKMeans(
        10,
        kernel="rbf",
        init="random",
        random_state=0,
        tol=0.0,
        max_iter=ITERS,
        n_jobs=n_jobs,
        **kw,
    ).fit(X)


@pytest.mark.benchmark(group="kernel k-means rbf n=5000 k=10 d=16, 10 iterations")
def test_peer_tslearn(benchmark, blobs_5k):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tslearn_clustering.KernelKMeans(
                n_clusters=10,
                kernel="rbf",
                kernel_params={"gamma": 1 / 16},
                max_iter=ITERS,
                tol=0.0,
                n_init=1,
                random_state=0,
            ).fit(blobs_5k)

    m = benchmark.pedantic(run, rounds=2, iterations=1)
    benchmark.extra_info.update(n_iter=int(m.n_iter_))


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("gram", ["stored", "blocked"])
@pytest.mark.benchmark(group="kernel k-means rbf n=5000 k=10 d=16, 10 iterations")
def test_partita(benchmark, blobs_5k, n_jobs, gram):
    # A start that needs all ITERS iterations, so that both libraries do the same work.
    est = benchmark.pedantic(
        _partita, args=(blobs_5k, n_jobs), kwargs=dict(gram=gram), rounds=5, iterations=1
    )
    benchmark.extra_info.update(n_iter=est.n_iter_, inertia=est.inertia_)


@pytest.mark.benchmark(group="kernel k-means rbf n=50000 k=20 d=32 (blocked Gram)")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_partita_large(benchmark, dtype):
    X, _ = make_blobs(50_000, n_features=32, centers=20, random_state=0)
    X = X.astype(dtype)

    def run():
        return KernelKMeans(20, kernel="rbf", random_state=0, gram="blocked").fit(X)

    est = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(n_iter=est.n_iter_, inertia=est.inertia_)


@pytest.mark.benchmark(group="kernel k-means rbf n=50000 k=20 d=32 (blocked Gram), 10 iterations")
def test_partita_large_10_iterations(benchmark):
    """Exactly 10 iterations from a random start: one full pass over the Gram matrix (its upper
    half computed, each block serving both halves), then incremental passes for the points that
    moved. The row-by-row pass computed all n^2 entries."""
    X, _ = make_blobs(50_000, n_features=32, centers=20, random_state=0)

    def run():
        return KernelKMeans(
            20, kernel="rbf", init="random", random_state=0, gram="blocked", tol=0.0, max_iter=10
        ).fit(X)

    est = benchmark.pedantic(run, rounds=1, iterations=1)
    assert est.n_iter_ == 10
    benchmark.extra_info.update(n_iter=est.n_iter_, inertia=est.inertia_)
