"""Fits from several Python threads at once (the kernels release the GIL) give exactly the
results of the same fits one after another, for every family."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from partita import CLARA, DenseMulticut, KernelKMeans, KMedoids, SinkhornKMeans
from partita.transport import sinkhorn

X = np.random.RandomState(0).rand(300, 5)


def fitted(make):
    def run(seed):
        model = make(seed).fit(X)
        return model.labels_, getattr(model, "inertia_", None)

    return run


def sinkhorn_potentials(seed):
    rs = np.random.RandomState(seed)
    r = sinkhorn(rs.rand(120, 80), reg=0.05, n_jobs=2)
    return r.f, r.g


CALLS = {
    "KMedoids": fitted(lambda s: KMedoids(6, init="k-medoids++", random_state=s, n_jobs=2)),
    "KMedoids on the fly": fitted(
        lambda s: KMedoids(6, distances="on-the-fly", random_state=s, n_jobs=2)
    ),
    "CLARA": fitted(lambda s: CLARA(6, random_state=s, n_jobs=2)),
    "KernelKMeans": fitted(lambda s: KernelKMeans(6, random_state=s, n_jobs=2)),
    "KernelKMeans blocked": fitted(
        lambda s: KernelKMeans(6, gram="blocked", random_state=s, n_jobs=2)
    ),
    "SinkhornKMeans": fitted(lambda s: SinkhornKMeans(6, random_state=s, n_jobs=2)),
    "DenseMulticut": fitted(lambda s: DenseMulticut(offset=0.6, n_jobs=2)),
    "sinkhorn": sinkhorn_potentials,
}


@pytest.mark.parametrize("name", list(CALLS))
def test_concurrent_fits_equal_sequential_ones(name):
    call = CALLS[name]
    seeds = [0, 1, 2, 3] * 3
    expected = [call(s) for s in seeds[:4]]
    barrier = threading.Barrier(6)

    def start_together(seed):
        barrier.wait()  # the first six calls overlap for sure
        return call(seed)

    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(start_together, seeds))
    for seed, result in zip(seeds, got):
        for a, b in zip(result, expected[seed]):
            np.testing.assert_array_equal(a, b)
