"""partita's version, build report and device / thread dispatch (partita._backend)."""

import importlib.metadata
import io
from pathlib import Path

import joblib
import numpy as np
import pytest

import partita
from partita import _backend


def test_version_is_the_installed_distribution_version():
    assert isinstance(partita.__version__, str)
    assert partita.__version__ != ""
    assert partita.__version__ != "unknown"
    assert partita.__version__ == importlib.metadata.version("partita")


def test_show_config_prints_version_openmp_and_cuda(capsys):
    assert partita.show_config() is None
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"partita {partita.__version__}"
    assert any("OpenMP" in line for line in lines)
    assert any("CUDA" in line for line in lines)


def test_show_config_writes_to_the_given_file(capsys):
    buf = io.StringIO()
    partita.show_config(file=buf)
    assert capsys.readouterr().out == ""
    text = buf.getvalue()
    assert "partita" in text and "OpenMP" in text and "CUDA" in text


def test_cuda_available_returns_a_bool():
    assert type(partita.cuda_available()) is bool
    assert partita.cuda_available() is _backend.cuda_available()


@pytest.mark.parametrize(
    "n_jobs, expected",
    [
        (None, 0),
        (-1, joblib.cpu_count()),
        (1, 1),
        (2, min(2, joblib.cpu_count())),
        (7, min(7, joblib.cpu_count())),
    ],
)
def test_n_threads(n_jobs, expected):
    assert _backend.n_threads(n_jobs) == expected


def test_n_threads_is_capped_at_the_usable_cpus():
    cpus = joblib.cpu_count()  # affinity- and cgroup-aware
    assert _backend.usable_cpus() == cpus
    for n_jobs in (cpus, cpus + 1, 2000, 2**31, 2**40, 2**70):
        assert _backend.n_threads(n_jobs) == cpus
    assert _backend.n_threads(-(2**70)) == 1


def test_n_threads_negative_follows_joblib():
    cpus = joblib.cpu_count()
    assert _backend.n_threads(-2) == max(1, cpus - 1)
    # never below one thread, however negative
    assert _backend.n_threads(-10 * cpus - 5) == 1


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2", True])
def test_n_threads_rejects_meaningless_values(n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        _backend.n_threads(n_jobs)


def test_resolve_device_cpu_and_auto():
    assert _backend.resolve_device("cpu") == "cpu"
    # KMedoids has CPU kernels only: "auto" always means the CPU for it
    assert _backend.resolve_device("auto", supported=("cpu",)) == "cpu"


def test_resolve_device_auto_is_cpu_without_gpu():
    if partita.cuda_available():
        assert _backend.resolve_device("auto", supported=("cpu", "cuda")) == "cuda"
    else:
        assert _backend.resolve_device("auto", supported=("cpu", "cuda")) == "cpu"


def test_resolve_device_auto_is_cpu_when_cuda_is_unusable(monkeypatch):
    monkeypatch.setattr(_backend, "cuda_available", lambda: False)
    assert _backend.resolve_device("auto", supported=("cpu", "cuda")) == "cpu"


@pytest.mark.parametrize("device", ["gpu", "CUDA", "cuda:0", None, ""])
def test_resolve_device_rejects_unknown_devices(device):
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'auto'"):
        _backend.resolve_device(device)


def test_resolve_device_cuda_without_kernels_or_gpu():
    with pytest.raises(ValueError, match="cuda"):
        _backend.resolve_device("cuda", supported=("cpu",))
    if not partita.cuda_available():
        with pytest.raises(ValueError, match="no usable CUDA GPU"):
            _backend.resolve_device("cuda", supported=("cpu", "cuda"))


# ---- family modules: which compiled module runs a family on a device --------------------------


class _FakeCuda:
    """A stand-in for partita._cuda built with GPU kernels for k-medoids only."""

    medoids = object()

    @staticmethod
    def device_count():
        return 1


def test_family_module_cpu_is_the_core_module():
    mod = _backend.family_module("medoids", "cpu")
    assert mod is _backend._core.medoids


@pytest.mark.parametrize(
    "family, device", [("kmeans", "cpu"), ("medoids", "gpu"), ("medoids", "auto")]
)
def test_family_module_rejects_unknown_families_and_devices(family, device):
    with pytest.raises(ValueError, match="family|device"):
        _backend.family_module(family, device)


def test_family_module_cuda_is_the_submodule_and_warns_until_validated(monkeypatch):
    monkeypatch.setattr(_backend, "_cuda", _FakeCuda)
    monkeypatch.setattr(_backend, "VALIDATED_ON_GPU", ())
    with pytest.warns(_backend.GPUNotValidatedWarning, match="medoids"):
        assert _backend.family_module("medoids", "cuda") is _FakeCuda.medoids
    monkeypatch.setattr(_backend, "VALIDATED_ON_GPU", ("medoids",))
    assert _backend.family_module("medoids", "cuda") is _FakeCuda.medoids  # no warning now


def test_a_family_supports_cuda_when_the_cuda_module_has_its_submodule(monkeypatch):
    monkeypatch.setattr(_backend, "_cuda", _FakeCuda)
    assert _backend.supported_devices("medoids") == ("cpu", "cuda")
    assert _backend.supported_devices("multicut") == ("cpu",)
    with pytest.raises(ValueError, match="no CUDA kernels for multicut"):
        _backend.family_module("multicut", "cuda")
    assert _backend.resolve_device("auto", family="medoids") == "cuda"
    assert _backend.resolve_device("auto", family="multicut") == "cpu"
    with pytest.raises(ValueError, match="not available"):
        _backend.resolve_device("cuda", family="multicut")


def test_without_the_cuda_module_every_family_is_cpu_only(monkeypatch):
    monkeypatch.setattr(_backend, "_cuda", None)
    for family in _backend.FAMILIES:
        assert _backend.supported_devices(family) == ("cpu",)
        assert _backend.resolve_device("auto", family=family) == "cpu"


def test_the_built_cuda_module_has_a_submodule_per_family_with_kernels():
    if _backend._cuda is None:
        pytest.skip("partita._cuda not built")
    assert _backend.has_cuda_kernels("medoids") and _backend.has_cuda_kernels("transport")


def test_validated_families_have_a_committed_gpu_log():
    gpu_logs = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu"
    for family in _backend.VALIDATED_ON_GPU:
        assert family in _backend.FAMILIES
        assert any(family in p.read_text() for p in gpu_logs.glob("*.log")), family


class _FakeCudaWithEstimator:
    """A stand-in for partita._cuda whose k-medoids kernels run KMedoids' fit only."""

    class medoids:
        estimators = ("KMedoids",)

    @staticmethod
    def device_count():
        return 1


def test_an_estimator_runs_on_cuda_only_when_its_family_lists_it(monkeypatch):
    monkeypatch.setattr(_backend, "_cuda", _FakeCudaWithEstimator)
    assert _backend.supported_devices("medoids", "KMedoids") == ("cpu", "cuda")
    assert _backend.supported_devices("medoids", "CLARA") == ("cpu",)
    assert _backend.resolve_device("auto", family="medoids", estimator="KMedoids") == "cuda"
    assert _backend.resolve_device("auto", family="medoids", estimator="CLARA") == "cpu"
    with pytest.raises(ValueError, match="not available for this estimator"):
        _backend.resolve_device("cuda", family="medoids", estimator="CLARA")


def test_no_estimator_accepts_cuda_before_it_has_a_gpu_fit():
    # Kernels exist for some families, but only k-medoids' and transport's estimators fit on
    # them: elsewhere device="cuda" must be an error, never a silently ignored parameter.
    from partita import KernelKMeans, KMedoids

    X = np.random.RandomState(0).rand(20, 2)
    estimators = [KernelKMeans(2, device="cuda")]
    if not _backend.cuda_available():
        estimators.append(KMedoids(2, device="cuda"))
    for est in estimators:
        with pytest.raises(ValueError, match="device='cuda'"):
            est.fit(X)
    if _backend._cuda is not None:
        for family in _backend.FAMILIES:
            if _backend.has_cuda_kernels(family) and family not in ("medoids", "transport"):
                assert getattr(_backend._cuda, family).estimators == ()
        if _backend.has_cuda_kernels("medoids"):
            assert _backend._cuda.medoids.estimators == ("KMedoids", "CLARA", "CLARANS")
