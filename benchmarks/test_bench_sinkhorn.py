"""Sinkhorn against POT, same data, same run.

    python -m pytest benchmarks/test_bench_sinkhorn.py --benchmark-group-by=group

Settings (ANCHORS.md, issue 4), random uniform costs in [0, 1], float64, uniform marginals:

* 20000 x 1000, reg 0.05, exactly 100 iterations (tol=0 / stopThr=0), plan returned:
  partita (1 and 2 threads; method "sinkhorn_stabilized", the default here, and
  "sinkhorn_log") against POT ``sinkhorn_log`` (stable) and POT ``sinkhorn`` (multiplicative,
  unstable for small reg). extra_info records the effective bandwidth (one read of C or of the
  stored kernel per iteration: 100 x 160 MB / time), to compare with the machine's floor, and
  the number of iterations that evaluated an exp per entry.
* The same 20000 x 1000 costs KL-relaxed on both sides (reg_m 1.0), 100 iterations: partita
  against POT ``ot.unbalanced.sinkhorn_unbalanced`` (multiplicative).
* A batch of 64 problems of 2048 x 256, reg 0.05, 100 iterations each: partita's batched call
  against a Python loop over POT ``sinkhorn_log``; and partita with per-problem stopping at
  tol=1e-9 (extra_info: iterations).
"""
import warnings

import numpy as np
import pytest

from partita.transport import sinkhorn

ot = pytest.importorskip("ot")

ITERS = 100
REG = 0.05


@pytest.fixture(scope="module")
def big():
    return np.random.default_rng(0).uniform(0, 1, (20000, 1000))


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(1).uniform(0, 1, (64, 2048, 256))


def _uniform(k):
    return np.full(k, 1.0 / k)


GROUP_BIG = "sinkhorn 20000x1000 float64 reg 0.05, 100 iterations"


@pytest.mark.benchmark(group=GROUP_BIG)
@pytest.mark.parametrize("method", ["sinkhorn_stabilized", "sinkhorn_log"])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_partita_big(benchmark, big, n_jobs, method):
    r = benchmark.pedantic(lambda: sinkhorn(big, reg=REG, max_iter=ITERS, tol=0, n_jobs=n_jobs,
                                            method=method),
                           rounds=3, iterations=1)
    assert r.n_iter == ITERS
    t = benchmark.stats.stats.min
    benchmark.extra_info.update(n_iter=r.n_iter, err=r.err,
                                gb_per_s=ITERS * big.nbytes / t / 1e9)


@pytest.mark.benchmark(group=GROUP_BIG)
def test_peer_pot_sinkhorn_multiplicative(benchmark, big):
    a, b = _uniform(big.shape[0]), _uniform(big.shape[1])

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ot.sinkhorn(a, b, big, REG, numItermax=ITERS, stopThr=0)

    benchmark.pedantic(run, rounds=2, iterations=1)


@pytest.mark.benchmark(group=GROUP_BIG)
def test_peer_pot_sinkhorn_log(benchmark, big):
    a, b = _uniform(big.shape[0]), _uniform(big.shape[1])

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ot.sinkhorn(a, b, big, REG, method="sinkhorn_log", numItermax=ITERS,
                               stopThr=0)

    P = benchmark.pedantic(run, rounds=1, iterations=1)
    r = sinkhorn(big, reg=REG, max_iter=ITERS, tol=0, f0=-REG * np.log(a))
    benchmark.extra_info.update(max_plan_diff_vs_partita=float(np.abs(P - r.plan).max()))


GROUP_BATCH = "sinkhorn batch 64 x 2048x256 float64 reg 0.05"


@pytest.mark.benchmark(group=GROUP_BATCH)
@pytest.mark.parametrize("method", ["sinkhorn_stabilized", "sinkhorn_log"])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_partita_batch_fixed(benchmark, batch, n_jobs, method):
    r = benchmark.pedantic(lambda: sinkhorn(batch, reg=REG, max_iter=ITERS, tol=0,
                                            n_jobs=n_jobs, method=method), rounds=3,
                           iterations=1)
    assert np.all(r.n_iter == ITERS)


@pytest.mark.benchmark(group=GROUP_BATCH)
def test_partita_batch_per_problem_stopping(benchmark, batch):
    r = benchmark.pedantic(lambda: sinkhorn(batch, reg=REG, tol=1e-9), rounds=3, iterations=1)
    benchmark.extra_info.update(n_iter_min=int(r.n_iter.min()), n_iter_max=int(r.n_iter.max()),
                                converged=bool(r.converged.all()))


@pytest.mark.benchmark(group=GROUP_BATCH)
def test_peer_pot_sinkhorn_log_loop(benchmark, batch):
    a, b = _uniform(batch.shape[1]), _uniform(batch.shape[2])

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [ot.sinkhorn(a, b, C, REG, method="sinkhorn_log", numItermax=ITERS,
                                stopThr=0) for C in batch]

    benchmark.pedantic(run, rounds=1, iterations=1)


GROUP_UNBALANCED = "sinkhorn unbalanced (KL, reg_m 1.0) 20000x1000 float64 reg 0.05, 100 iterations"


@pytest.mark.benchmark(group=GROUP_UNBALANCED)
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_partita_unbalanced(benchmark, big, n_jobs):
    r = benchmark.pedantic(lambda: sinkhorn(big, reg=REG, reg_m=1.0, max_iter=ITERS, tol=0,
                                            n_jobs=n_jobs), rounds=3, iterations=1)
    assert r.n_iter == ITERS


@pytest.mark.benchmark(group=GROUP_UNBALANCED)
def test_peer_pot_sinkhorn_unbalanced(benchmark, big):
    # POT's default unbalanced solver (multiplicative, KL), the same fixed iteration count.
    a, b = _uniform(big.shape[0]), _uniform(big.shape[1])

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ot.unbalanced.sinkhorn_unbalanced(a, b, big, REG, 1.0, numItermax=ITERS,
                                                     stopThr=0)

    # (POT updates u first from u = 1/n: after 100 unconverged iterations the plans differ; the
    # converged solutions agree to 1e-8, tests/test_sinkhorn.py::test_equals_pot_unbalanced.)
    benchmark.pedantic(run, rounds=2, iterations=1)
