"""Which compiled module and device to use.

``partita._core`` (C++/OpenMP) is always built. ``partita._cuda`` is built when a CUDA compiler
was found at install time, and is usable only when a GPU and driver are present at run time.
Both hold one submodule per family (``_core.medoids``, ``_cuda.medoids``, ...); a family has GPU
kernels when ``_cuda`` has its submodule, which :func:`family_module` looks up.
"""

import sys
import warnings

from . import _core

try:  # the CUDA module is optional at build time and at run time
    from . import _cuda
except ImportError:  # pragma: no cover - depends on the build
    _cuda = None
if _cuda is not None and getattr(_cuda, "__file__", None) is None:
    # Not built: what was imported is the folder of type stubs (_cuda/*.pyi), a namespace package.
    _cuda = None

FAMILIES = ("medoids", "transport", "kernel_kmeans", "multicut")

# Families whose _cuda kernels have passed their tests (tests/test_<family>_cuda.py, marker
# cuda) on a real GPU, with the log committed under benchmarks/gpu/. The others warn on use.
VALIDATED_ON_GPU = ()


class GPUNotValidatedWarning(UserWarning):
    """A family's GPU kernels are used before their tests have passed on a real GPU."""


def has_cuda_kernels(family):
    """Whether partita was built with GPU kernels for ``family`` (whether or not a GPU is
    usable now)."""
    return _cuda is not None and hasattr(_cuda, family)


def family_module(family, device):
    """The compiled module of ``family`` for ``device`` ("cpu" or "cuda"): ``_core.<family>``
    or ``_cuda.<family>``.

    Raises ValueError for an unknown family or device, or when the family has no kernels for
    the device. The CUDA module of a family that has not been validated on a GPU warns
    (GPUNotValidatedWarning).
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    if device == "cpu":
        return getattr(_core, family)
    if device != "cuda":
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if not has_cuda_kernels(family):
        raise ValueError(f"partita has no CUDA kernels for {family} (see partita.show_config())")
    if family not in VALIDATED_ON_GPU:
        warnings.warn(
            f"the CUDA kernels of {family} have not yet passed their tests on a GPU",
            GPUNotValidatedWarning,
            stacklevel=2,
        )
    return getattr(_cuda, family)


def supported_devices(family, estimator=None):
    """The devices ``family`` has kernels for: ("cpu",) or ("cpu", "cuda").

    With ``estimator`` (a class name), the devices that estimator's ``fit`` runs on: a family's
    CUDA submodule lists them in its ``estimators`` attribute, since GPU kernels can exist
    (building blocks, tested on their own) before an estimator runs on them.
    """
    if not has_cuda_kernels(family):
        return ("cpu",)
    if estimator is not None and estimator not in getattr(getattr(_cuda, family), "estimators", ()):
        return ("cpu",)
    return ("cpu", "cuda")


def cuda_available():
    """Whether partita was built with CUDA and a CUDA GPU is usable now."""
    return _cuda is not None and _cuda.device_count() > 0


def resolve_device(device, supported=("cpu",), family=None, estimator=None):
    """Validate ``device`` ("cpu", "cuda" or "auto") and return the device to run on.

    Estimators pass their ``family`` and ``estimator`` (class name): the devices come from
    :func:`supported_devices`. ``supported`` is for callers without a family.
    """
    if family is not None:
        supported = supported_devices(family, estimator)
    if device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")
    if device == "auto":
        return "cuda" if ("cuda" in supported and cuda_available()) else "cpu"
    if device == "cuda":
        if "cuda" not in supported:
            raise ValueError(
                "device='cuda' is not available for this estimator yet; use device='cpu'"
            )
        if not cuda_available():
            raise ValueError(
                "device='cuda' was requested but no usable CUDA GPU was found "
                "(see partita.show_config())"
            )
    return device


def usable_cpus():
    """CPUs this process may run on: the affinity mask and a cgroup CPU quota taken into
    account (joblib's count, as scikit-learn uses)."""
    from joblib import cpu_count  # a dependency of scikit-learn; imported on first use

    return max(1, int(cpu_count()))


def n_threads(n_jobs):
    """Translate scikit-learn's ``n_jobs`` into an OpenMP thread count for a kernel.

    None: what OpenMP would use (all cores unless OMP_NUM_THREADS or threadpoolctl limit it),
    passed to the kernels as 0. Positive: that many, capped at the usable CPUs
    (:func:`usable_cpus`: affinity- and cgroup-aware), so ``n_jobs=2000`` runs on every usable
    CPU. Negative: joblib's convention over the usable CPUs, -1 = all, -2 = all but one, ...

    The cap is what keeps a large ``n_jobs`` safe: OpenMP (libgomp) ends the process, with no
    exception to catch, when it cannot create a thread (an address-space or process limit), and
    more threads than CPUs would not run faster. The result is never above 2**31 - 1 (a C int).
    """
    if n_jobs is None:
        return 0
    if (
        isinstance(n_jobs, bool)
        or not isinstance(n_jobs, (int,))
        and not hasattr(n_jobs, "__index__")
    ):
        raise ValueError(f"n_jobs must be None or a non-zero integer, got {n_jobs!r}")
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive count or -1")
    cpus = usable_cpus()
    if n_jobs < 0:
        return max(1, cpus + 1 + n_jobs)
    return min(n_jobs, cpus)


def show_config(file=None):
    """Print the version, compiler, OpenMP threads and CUDA status of this installation."""
    file = sys.stdout if file is None else file
    info = _core.build_info()
    lines = [
        f"partita {info['version']}",
        f"  C++ compiler : {info['compiler']}",
        f"  OpenMP       : {info['openmp']} ({info['max_threads']} threads, "
        f"{info['num_procs']} processors)",
        f"  SIMD         : {info['simd']}"
        + (
            f" (this CPU: avx2={info['cpu_avx2']}, avx512f={info['cpu_avx512f']})"
            if "cpu_avx2" in info
            else ""
        ),
    ]
    if _cuda is None:
        lines.append("  CUDA module  : not built (no CUDA compiler at install time)")
    else:
        rt = _cuda.runtime_version()
        lines.append(f"  CUDA module  : built against CUDA {rt // 1000}.{rt % 1000 // 10}")
        count = _cuda.device_count()
        if count == 0:
            lines.append("  GPU          : none usable (no device or no driver)")
        for i in range(count):
            d = _cuda.device_info(i)
            cc = ".".join(map(str, d["compute_capability"]))
            lines.append(
                f"  GPU {i}        : {d['name']} (sm {cc}, {d['total_memory'] / 2**30:.1f} GiB)"
            )
    print("\n".join(lines), file=file)
