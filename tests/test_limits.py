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


_FEATURE_ESTIMATORS = [
    KMedoids(2, random_state=0),
    KMedoids(2, distances="on-the-fly", random_state=0),
    CLARA(2, random_state=0),
    CLARANS(2, random_state=0),
    KernelKMeans(2, random_state=0),
    DenseMulticut(),
    SinkhornKMeans(2, random_state=0),
]


@pytest.mark.parametrize("estimator", _FEATURE_ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(
    "dtype, scale", [(np.float64, 1e155), (np.float64, 1e-161), (np.float32, 1e20)]
)
def test_features_whose_squared_distances_overflow_or_underflow_are_refused(
    estimator, dtype, scale
):
    X = (np.random.RandomState(0).rand(40, 3) * scale).astype(dtype)
    with pytest.raises(ValueError, match="overflow|underflow"):
        estimator.fit(X)
    assert_unfitted(estimator)


@pytest.mark.parametrize("estimator", _FEATURE_ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("dtype, scale", [(np.float64, 1e150), (np.float32, 1e16)])
def test_large_features_within_the_safe_range_give_finite_results(estimator, dtype, scale):
    X = np.random.RandomState(0).rand(40, 3) - 0.5
    X[:20] += 5
    X[20:] -= 5  # two groups: close within, far apart, and of opposite signs (for dot products)
    X = (X * scale).astype(dtype)
    fitted = estimator.fit(X)
    labels = fitted.labels_
    assert np.unique(labels).size == 2 and labels.shape == (40,)
    if hasattr(fitted, "inertia_"):
        assert np.isfinite(fitted.inertia_)


def test_feature_range_thresholds_come_from_the_dtype():
    from partita._validation import check_feature_range

    limit = np.sqrt(np.finfo(np.float64).max) / (2 * np.sqrt(10 * 3))
    check_feature_range(np.full((10, 3), limit * 0.999))
    with pytest.raises(ValueError, match="overflow"):
        check_feature_range(np.full((10, 3), limit * 1.001))
    identical = np.full((10, 3), 1e-300)  # duplicates: all distances are truly 0
    check_feature_range(identical)
    X = np.zeros((2, 1))
    X[1] = np.sqrt(np.finfo(np.float64).tiny) * 1.001
    check_feature_range(X)
    X[1] = np.sqrt(np.finfo(np.float64).tiny) * 0.999
    with pytest.raises(ValueError, match="underflow"):
        check_feature_range(X)


def _point_limits_at(monkeypatch, tmp_path, *, meminfo, v2=None, v1=None):
    from partita import _validation

    def write(name, text):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    missing = str(tmp_path / "missing")
    monkeypatch.setattr(_validation, "_MEMINFO", write("meminfo", meminfo))
    monkeypatch.setattr(
        _validation,
        "_CGROUP_V2",
        (write("v2.max", v2[0]), write("v2.current", v2[1])) if v2 else (missing, missing),
    )
    monkeypatch.setattr(
        _validation,
        "_CGROUP_V1",
        (write("v1.limit", v1[0]), write("v1.usage", v1[1])) if v1 else (missing, missing),
    )
    monkeypatch.setattr(_validation, "_address_space_headroom", lambda: None)
    return _validation.available_memory


MEMINFO = "MemTotal:       65536000 kB\nMemAvailable:   32768000 kB\n"


def test_available_memory_honours_cgroup_v2(monkeypatch, tmp_path):
    available = _point_limits_at(
        monkeypatch, tmp_path, meminfo=MEMINFO, v2=(f"{2**30}\n", f"{2**28}\n")
    )
    assert available() == 2**30 - 2**28
    available = _point_limits_at(monkeypatch, tmp_path, meminfo=MEMINFO, v2=("max\n", "5\n"))
    assert available() == 32768000 * 1024


def test_available_memory_honours_cgroup_v1(monkeypatch, tmp_path):
    available = _point_limits_at(
        monkeypatch, tmp_path, meminfo=MEMINFO, v1=(f"{2**31}\n", f"{2**30}\n")
    )
    assert available() == 2**30
    unlimited = f"{(2**63 - 1) // 4096 * 4096}\n"
    available = _point_limits_at(monkeypatch, tmp_path, meminfo=MEMINFO, v1=(unlimited, "5\n"))
    assert available() == 32768000 * 1024


def test_available_memory_honours_the_address_space_limit(monkeypatch, tmp_path):
    from partita import _validation

    resource = pytest.importorskip("resource")
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmSize:\t  1048576 kB\n")
    monkeypatch.setattr(_validation, "_PROC_STATUS", str(status))
    monkeypatch.setattr(resource, "getrlimit", lambda which: (3 * 2**30, resource.RLIM_INFINITY))
    assert _validation.available_memory() <= 2 * 2**30


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")
def test_kmedoids_switches_to_on_the_fly_distances_under_an_address_space_limit():
    # The 20000 x 20000 matrix (3.2 GB) does not fit in 2 GiB of address space: the automatic
    # choice must see the limit, not only the machine's free memory.
    code = textwrap.dedent("""
        import numpy as np
        from partita import KMedoids
        X = np.random.RandomState(0).rand(20000, 2)
        model = KMedoids(3, random_state=0, max_iter=3).fit(X)
        print("fitted", len(model.medoid_indices_))
    """)
    proc = subprocess.run(
        ["prlimit", f"--as={2 * 2**30}", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_child_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "fitted 3" in proc.stdout


@pytest.mark.parametrize(
    "dtype, scale",
    [(np.float64, 1e200), (np.float64, 1e-170), (np.float32, 1e25), (np.float32, 1e-25)],
)
def test_cosine_is_scale_free_at_any_magnitude(dtype, scale):
    # Rows whose sum of squares overflows or underflows are normalised after dividing by their
    # largest |x| (before: norms of 1e154 and more normalised rows to zero, objective 0; norms
    # below 1e-154 were "all zeros").
    from partita.multicut import multicut_objective

    X = np.random.RandomState(0).rand(60, 4) - 0.3
    X[:30, 0] += 3
    X = X.astype(dtype)
    Xs = (X.astype(np.float64) * scale).astype(dtype)
    assert np.all(np.isfinite(Xs)) and np.all(np.any(Xs != 0, axis=1))
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    for make in (
        lambda: KMedoids(2, metric="cosine", random_state=0),
        lambda: KMedoids(2, metric="cosine", distances="on-the-fly", random_state=0),
    ):
        plain, scaled = make().fit(X), make().fit(Xs)
        np.testing.assert_array_equal(scaled.medoid_indices_, plain.medoid_indices_)
        np.testing.assert_allclose(scaled.inertia_, plain.inertia_, rtol=rtol)
    plain, scaled = DenseMulticut(metric="cosine").fit(X), DenseMulticut(metric="cosine").fit(Xs)
    np.testing.assert_array_equal(scaled.labels_, plain.labels_)
    labels = np.arange(60) % 2
    np.testing.assert_allclose(
        multicut_objective(Xs, labels, metric="cosine"),
        multicut_objective(X, labels, metric="cosine"),
        rtol=rtol,
    )
