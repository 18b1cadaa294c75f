"""SinkhornKMeans' whole fit: the compiled Lloyd loop against the NumPy loop it replaced and
against scikit-learn's KMeans (plain k-means, no size constraint), same data, same run.

    python -m pytest benchmarks/test_bench_sinkhorn_kmeans.py --benchmark-group-by=group

Data: 200,000 blob points in 32 dimensions around 20 centres, float64, k = 20, k-means++ with
the same seed, 2 threads. "separated": make_blobs' default spread (Lloyd converges in a few
iterations; the fit is the initialisation and the assignments); "overlapping": cluster_std 6
(more iterations, so the distances and centre updates weigh more).

The NumPy loop is the previous implementation of the fit: squared distances cluster by cluster
with NumPy, Newton's assignment in C++, the centre update with NumPy, the loop in Python. It
reaches the same centres (to rounding: its sums run in NumPy's order).
"""

import math

import numpy as np
import pytest
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.datasets import make_blobs

from partita import SinkhornKMeans, _core

N, D, K = 200_000, 32, 20
THREADS = 2


@pytest.fixture(scope="module", params=["separated", "overlapping"])
def blobs(request):
    std = 1.0 if request.param == "separated" else 6.0
    X, _ = make_blobs(N, n_features=D, centers=K, cluster_std=std, random_state=0)
    return request.param, X


def _numpy_lloyd(X, k, reg=0.05, tol=1e-4, sinkhorn_tol=1e-6, max_iter=100, seed=0):
    """The NumPy Lloyd loop of SinkhornKMeans before it moved to C++ (balanced clusters, uniform
    weights; Newton's assignment). Returns (centres, n_iter)."""

    def sq_dist(c):
        out = np.empty((X.shape[0], c.shape[0]))
        for j in range(c.shape[0]):
            diff = X - c[j]
            out[:, j] = np.einsum("ij,ij->i", diff, diff)
        return out

    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    mean = X.mean(0)
    eps = reg * float(np.einsum("i,i->", a, sq_dist(mean[None])[:, 0]))
    tol_abs = tol * float(np.mean(X.var(0)))
    log_b = np.log(np.full(k, 1.0 / k))
    params = _core.transport.NewtonParams()
    params.eps, params.max_iter, params.want_plan, params.n_threads = eps, 100, True, THREADS
    params.tol = min(sinkhorn_tol, max(1e-3 * math.sqrt(tol), 1e-12))
    rng = np.random.RandomState(seed)
    centres, _ = kmeans_plusplus(X, k, sample_weight=a * n, random_state=rng.randint(2**31 - 1))
    g = np.zeros(k)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (returned)
        r = _core.transport.semidual_newton(sq_dist(centres), a, log_b, g, params)
        P = r.plan
        mass = P.sum(axis=0)
        new = centres.copy()
        for j in range(k):
            if mass[j] > 0:
                new[j] = np.einsum("i,ij->j", P[:, j], X) / mass[j]
        shift = float(((new - centres) ** 2).sum())
        centres = new
        if shift <= tol_abs:
            break
    _core.transport.semidual_newton(sq_dist(centres), a, log_b, g, params)
    return centres, n_iter


@pytest.mark.benchmark(group="SinkhornKMeans fit 200000 x 32, k 20")
def test_partita_fit(benchmark, blobs):
    name, X = blobs
    km = benchmark.pedantic(
        lambda: SinkhornKMeans(K, random_state=0, n_jobs=THREADS).fit(X), rounds=3, iterations=1
    )
    benchmark.extra_info.update(data=name, n_iter=km.n_iter_, converged=km.converged_)


@pytest.mark.benchmark(group="SinkhornKMeans fit 200000 x 32, k 20")
def test_numpy_lloyd_loop_before(benchmark, blobs):
    name, X = blobs
    centres, n_iter = benchmark.pedantic(lambda: _numpy_lloyd(X, K), rounds=1, iterations=1)
    km = SinkhornKMeans(K, random_state=0, n_jobs=THREADS).fit(X)
    assert n_iter == km.n_iter_
    np.testing.assert_allclose(centres, km.cluster_centers_, rtol=0, atol=1e-6)
    benchmark.extra_info.update(data=name, n_iter=n_iter)


@pytest.mark.benchmark(group="SinkhornKMeans fit 200000 x 32, k 20")
def test_peer_sklearn_kmeans(benchmark, blobs):
    name, X = blobs
    km = benchmark.pedantic(
        lambda: KMeans(K, n_init=1, random_state=0).fit(X), rounds=3, iterations=1
    )
    benchmark.extra_info.update(data=name, n_iter=int(km.n_iter_))


@pytest.mark.benchmark(group="SinkhornKMeans fit 200000 x 32, k 20: parts")
def test_part_kmeans_plusplus(benchmark, blobs):
    # The initialisation alone (scikit-learn's, as in the fit).
    _, X = blobs
    benchmark.pedantic(
        lambda: kmeans_plusplus(X, K, sample_weight=np.ones(N), random_state=209652396),
        rounds=3,
        iterations=1,
    )


@pytest.mark.benchmark(group="SinkhornKMeans fit 200000 x 32, k 20: parts")
def test_part_distances(benchmark, blobs):
    # One pass of the shared register-tiled kernel: n k d subtract-multiply-adds.
    _, X = blobs
    centres = np.ascontiguousarray(X[:K])
    benchmark.pedantic(
        lambda: _core.transport.centre_distances(X, centres, THREADS), rounds=5, iterations=1
    )
    benchmark.extra_info.update(gflops=3 * N * K * D / benchmark.stats.stats.min / 1e9)


@pytest.mark.benchmark(group="SinkhornKMeans fit 200000 x 32, k 20: parts")
def test_part_centre_update(benchmark, blobs):
    _, X = blobs
    P = np.random.default_rng(0).dirichlet(np.ones(K), N) / N
    centres = np.ascontiguousarray(X[:K])
    benchmark.pedantic(
        lambda: _core.transport.update_centres(X, P, centres.copy(), THREADS),
        rounds=5,
        iterations=1,
    )
    benchmark.extra_info.update(gflops=2 * N * K * D / benchmark.stats.stats.min / 1e9)
