"""partita: clustering by partitioning, with C++ (OpenMP) and CUDA kernels.

Estimators follow scikit-learn's conventions and can be used in pipelines and grid searches.

k-medoids
    :class:`KMedoids` (FasterPAM, FastPAM1, PAM, alternate; BUILD, LAB, k-medoids++ init).
"""
from ._backend import cuda_available, show_config
from .medoids import KMedoids

try:
    from ._core import build_info as _build_info

    __version__ = _build_info()["version"]
except Exception:  # pragma: no cover - only when the extension failed to build
    __version__ = "unknown"

__all__ = ["KMedoids", "cuda_available", "show_config", "__version__"]
