"""Parameters at and beyond what the machine and the kernels can take: n_jobs beyond the usable
CPUs (capped, so that OpenMP never fails to create threads), integers beyond 64 bits (a clear
ValueError, never pybind11's TypeError), a process under an address-space limit."""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from partita import CLARA, CLARANS, DenseMulticut, KernelKMeans, KMedoids, SinkhornKMeans
from partita.transport import equipartition, sinkhorn

from conftest import assert_unfitted


def _child_env():
    # The child imports the partita this test runs on (installed, or src/ of a developer build).
    return dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))


def test_n_jobs_beyond_the_cpus_gives_the_one_thread_result():
    X = np.random.RandomState(0).rand(300, 3)
    one = KMedoids(3, n_jobs=1, random_state=0).fit(X)
    many = KMedoids(3, n_jobs=2000, random_state=0).fit(X)
    np.testing.assert_array_equal(many.medoid_indices_, one.medoid_indices_)
    np.testing.assert_array_equal(many.labels_, one.labels_)
    assert many.inertia_ == one.inertia_


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")
def test_n_jobs_2000_fits_under_an_address_space_limit():
    # 2000 OpenMP threads need ~16 GiB of stacks: libgomp ended the interpreter (status 1, no
    # exception) when it could not create them under a 4 GiB limit.
    code = textwrap.dedent("""
        import numpy as np
        from partita import KMedoids
        X = np.random.RandomState(0).rand(2000, 3)
        model = KMedoids(3, n_jobs=2000).fit(X)
        print("fitted", len(model.medoid_indices_))
    """)
    proc = subprocess.run(
        ["prlimit", f"--as={4 * 2**30}", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_child_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "fitted 3" in proc.stdout


X_SMALL = np.random.RandomState(1).rand(30, 3)

TOO_LARGE = [
    (KMedoids, dict(n_clusters=3, n_jobs=2**70)),
    (KMedoids, dict(n_clusters=3, max_iter=2**63)),
    (KMedoids, dict(n_clusters=2**70)),
    (CLARA, dict(n_clusters=3, n_jobs=-(2**64))),
    (CLARA, dict(n_clusters=3, max_iter=2**63)),
    (CLARA, dict(n_clusters=3, sample_size=2**64)),
    (CLARANS, dict(n_clusters=3, n_local=2**63)),
    (CLARANS, dict(n_clusters=3, max_neighbors=2**63)),
    (CLARANS, dict(n_clusters=2**70)),
    (KernelKMeans, dict(n_clusters=3, max_iter=2**63)),
    (KernelKMeans, dict(n_clusters=3, n_init=2**64)),
    (KernelKMeans, dict(n_clusters=3, n_jobs=2**70)),
    (SinkhornKMeans, dict(n_clusters=3, max_iter=2**63)),
    (SinkhornKMeans, dict(n_clusters=3, sinkhorn_max_iter=2**63)),
    (SinkhornKMeans, dict(n_clusters=2**70)),
    (DenseMulticut, dict(n_neighbors=2**63)),
    (DenseMulticut, dict(n_jobs=2**70)),
]


@pytest.mark.parametrize(
    "estimator, params",
    TOO_LARGE,
    ids=[
        f"{e.__name__}-{next(iter(p.items()))[0] if len(p) == 1 else list(p)[1]}"
        for e, p in TOO_LARGE
    ],
)
def test_integers_beyond_64_bits_are_a_value_error(estimator, params):
    model = estimator(**params)
    name = [p for p, v in params.items() if abs(v) >= 2**63][0]
    with pytest.raises(ValueError, match=rf"{name} must be .*64 bits"):
        model.fit(X_SMALL)
    assert_unfitted(model)


@pytest.mark.parametrize(
    "estimator, params",
    [
        (KMedoids, dict(n_clusters=3)),
        (CLARA, dict(n_clusters=3)),
        (CLARANS, dict(n_clusters=3)),
        (KernelKMeans, dict(n_clusters=3)),
        (SinkhornKMeans, dict(n_clusters=3)),
        (DenseMulticut, dict()),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
@pytest.mark.parametrize("n_jobs", [2**31, 2**40, -(2**40)])
def test_n_jobs_beyond_a_c_int_is_capped(estimator, params, n_jobs):
    model = estimator(**params, n_jobs=n_jobs).fit(X_SMALL)
    assert len(model.labels_) == len(X_SMALL)


def test_sinkhorn_kmeans_mass_none_is_a_value_error():
    model = SinkhornKMeans(3, mass=None)
    with pytest.raises(ValueError, match="mass"):
        model.fit(X_SMALL)
    assert_unfitted(model)


def test_transport_functions_refuse_integers_beyond_64_bits():
    C = np.random.RandomState(2).rand(4, 5)
    with pytest.raises(ValueError, match="max_iter .*64-bit"):
        sinkhorn(C, reg=0.1, max_iter=2**63)
    with pytest.raises(ValueError, match="n_iter .*64-bit"):
        equipartition(C, n_iter=2**64)
    # n_jobs beyond the CPUs (or a C int) is capped, not an error
    assert sinkhorn(C, reg=0.1, n_jobs=2**40).plan.shape == (4, 5)
