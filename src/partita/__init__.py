"""partita: clustering by partitioning, with C++ (OpenMP) and CUDA kernels.

Estimators follow scikit-learn's conventions and can be used in pipelines and grid searches.

k-medoids
    :class:`KMedoids` (FasterPAM, FastPAM1, PAM, alternate; BUILD, LAB, k-medoids++ init; a
    stored distance matrix or distances computed on the fly), :class:`CLARA` and
    :class:`CLARANS` for data too large for any n x n matrix. Medoid silhouette clustering
    (``KMedoids(method="fastermsc")``) and :class:`DynMSC`, which chooses the number of
    clusters in one run; :func:`partita.metrics.silhouette` and
    :func:`partita.metrics.medoid_silhouette` score a clustering.

kernel k-means
    :class:`KernelKMeans` (true Lloyd iterations in a kernel's feature space; a stored or
    block-recomputed Gram matrix; k-means++ in feature space).

optimal-transport assignment
    :func:`partita.transport.sinkhorn` (batched log-domain Sinkhorn: balanced, KL-relaxed,
    partial; per-problem stopping), :class:`SinkhornKMeans` (k-means with a balanced /
    size-constrained OT assignment and a reject option) and
    :func:`partita.transport.equipartition` (SwAV / SeLa pseudo-labels).

dense multicut
    :class:`DenseMulticut` (correlation clustering of feature vectors, the number of clusters
    found from the data: exact-order GAEC or kNN rounds on the complete graph without any
    n x n matrix, then local moves) and :func:`partita.multicut.multicut_objective`.
"""

from . import metrics, transport
from ._backend import cuda_available, show_config
from .kernel_kmeans import KernelKMeans
from .medoids import CLARA, CLARANS, DynMSC, KMedoids
from .multicut import DenseMulticut
from .transport import SinkhornKMeans

try:
    from ._core import build_info as _build_info

    __version__ = _build_info()["version"]
except Exception:  # pragma: no cover - only when the extension failed to build
    __version__ = "unknown"

__all__ = [
    "KMedoids",
    "CLARA",
    "CLARANS",
    "DynMSC",
    "KernelKMeans",
    "DenseMulticut",
    "SinkhornKMeans",
    "transport",
    "metrics",
    "cuda_available",
    "show_config",
    "__version__",
]
