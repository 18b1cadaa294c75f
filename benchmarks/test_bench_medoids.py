"""k-medoids against the reference implementation (the `kmedoids` package), same data, same run.

    python -m pytest benchmarks/test_bench_medoids.py --benchmark-group-by=group

Setting: euclidean distances of 10,000 blob points in 16 dimensions,
k = 100, the same random initial medoids for both libraries. Every partita run is checked to
give the peer's loss before it is timed.
"""

import numpy as np
import pytest

from partita import KMedoids, _core

kmedoids = pytest.importorskip("kmedoids")


def _fit(D, medoids, n_jobs, method="fasterpam"):
    return KMedoids(
        len(medoids), metric="precomputed", method=method, init=medoids, n_jobs=n_jobs
    ).fit(D)


@pytest.mark.benchmark(group="fasterpam n=10000 k=100 float64")
def test_peer_fasterpam_1_thread(benchmark, blobs_10k):
    D, medoids = blobs_10k
    r = benchmark.pedantic(
        kmedoids.fasterpam,
        args=(D, medoids.copy()),
        kwargs=dict(max_iter=300, n_cpu=1),
        rounds=3,
        iterations=1,
    )
    benchmark.extra_info.update(loss=float(r.loss), n_swaps=int(r.n_swap))


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.benchmark(group="fasterpam n=10000 k=100 float64")
def test_partita_fasterpam(benchmark, blobs_10k, n_jobs):
    D, medoids = blobs_10k
    ref = kmedoids.fasterpam(D, medoids.copy(), max_iter=300, n_cpu=1)
    est = benchmark.pedantic(_fit, args=(D, medoids, n_jobs), rounds=5, iterations=1)
    assert est.inertia_ == ref.loss and est.n_swaps_ == ref.n_swap
    benchmark.extra_info.update(loss=est.inertia_, n_swaps=est.n_swaps_)


@pytest.mark.benchmark(group="fasterpam n=10000 k=100 float64, scikit-learn's matrix")
def test_peer_fasterpam_sklearn_matrix(benchmark, sklearn_10k):
    D, medoids = sklearn_10k
    r = benchmark.pedantic(
        kmedoids.fasterpam,
        args=(D, medoids.copy()),
        kwargs=dict(max_iter=300, n_cpu=1),
        rounds=3,
        iterations=1,
    )
    benchmark.extra_info.update(loss=float(r.loss), n_swaps=int(r.n_swap))


@pytest.mark.benchmark(group="fasterpam n=10000 k=100 float64, scikit-learn's matrix")
def test_partita_fasterpam_sklearn_matrix(benchmark, sklearn_10k):
    """The whole fit, one thread, on pairwise_distances output (not bitwise symmetric: the input
    check compares every entry with its mirror)."""
    D, medoids = sklearn_10k
    ref = kmedoids.fasterpam(D, medoids.copy(), max_iter=300, n_cpu=1)
    est = benchmark.pedantic(_fit, args=(D, medoids, 1), rounds=5, iterations=1)
    assert est.medoid_indices_.tolist() == [int(m) for m in ref.medoids]
    assert est.labels_.tolist() == [int(c) for c in ref.labels]
    assert est.n_swaps_ == ref.n_swap
    # The same medoids and labels; the losses differ in the last bits only because partita sums
    # D[medoid, i] and the peer D[i, medoid], which this matrix holds with different roundings.
    assert est.inertia_ == pytest.approx(ref.loss, rel=1e-13)
    benchmark.extra_info.update(loss=est.inertia_, n_swaps=est.n_swaps_)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.benchmark(group="fasterpam kernel only n=10000 k=100 float64")
def test_partita_fasterpam_kernel(benchmark, blobs_10k, n_jobs):
    """The optimisation alone, without the estimator's validation pass over the matrix."""
    D, medoids = blobs_10k
    w = np.ones(len(D))
    r = benchmark.pedantic(
        _core.medoids.optimise,
        args=(D, medoids.astype(np.int64), w, _core.medoids.Method.fasterpam, 300, n_jobs),
        rounds=5,
        iterations=1,
    )
    benchmark.extra_info.update(loss=r.loss, n_swaps=r.n_swaps)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.benchmark(group="fasterpam n=10000 k=100 float32")
def test_partita_fasterpam_float32(benchmark, blobs_10k_f32, n_jobs):
    D, medoids = blobs_10k_f32
    est = benchmark.pedantic(_fit, args=(D, medoids, n_jobs), rounds=5, iterations=1)
    benchmark.extra_info.update(loss=est.inertia_, n_swaps=est.n_swaps_)


@pytest.mark.benchmark(group="fasterpam n=10000 k=100 float32")
def test_peer_fasterpam_float32(benchmark, blobs_10k_f32):
    D, medoids = blobs_10k_f32
    r = benchmark.pedantic(
        kmedoids.fasterpam,
        args=(D, medoids.copy()),
        kwargs=dict(max_iter=300, n_cpu=1),
        rounds=3,
        iterations=1,
    )
    benchmark.extra_info.update(loss=float(r.loss))


@pytest.mark.benchmark(group="BUILD n=10000 k=100 float64")
def test_peer_build(benchmark, blobs_10k):
    D, _ = blobs_10k
    r = benchmark.pedantic(kmedoids.pam_build, args=(D, 100), rounds=1, iterations=1)
    benchmark.extra_info.update(loss=float(r.loss))


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.benchmark(group="BUILD n=10000 k=100 float64")
def test_partita_build(benchmark, blobs_10k, n_jobs):
    D, _ = blobs_10k
    ref = kmedoids.pam_build(D, 100) if n_jobs == 1 else None

    def run():
        return KMedoids(100, metric="precomputed", init="build", max_iter=0, n_jobs=n_jobs).fit(D)

    est = benchmark.pedantic(run, rounds=3, iterations=1)
    if ref is not None:
        assert est.medoid_indices_.tolist() == [int(m) for m in ref.medoids]
    benchmark.extra_info.update(loss=est.inertia_)


@pytest.mark.benchmark(group="BUILD n=10000 k=100 float64")
def test_partita_lab(benchmark, blobs_10k):
    D, _ = blobs_10k

    def run():
        return KMedoids(100, metric="precomputed", init="lab", max_iter=0, random_state=0).fit(D)

    est = benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info.update(loss=est.inertia_)


@pytest.mark.benchmark(group="validation pass n=10000 float64")
def test_partita_matrix_check(benchmark, blobs_10k):
    """The estimator's one pass over a precomputed matrix (finite, >= 0, symmetric, zero
    diagonal)."""
    D, _ = blobs_10k
    benchmark.pedantic(_core.common.inspect_matrix, args=(D, 0), rounds=5, iterations=1)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.benchmark(group="validation pass n=10000 float64")
def test_partita_matrix_check_sklearn_matrix(benchmark, sklearn_10k, n_jobs):
    """The same pass on scikit-learn's output, symmetric to rounding only."""
    D, _ = sklearn_10k
    r = benchmark.pedantic(_core.common.inspect_matrix, args=(D, n_jobs), rounds=5, iterations=1)
    assert 0 < r.max_asymmetry < 1e-10 * r.max
