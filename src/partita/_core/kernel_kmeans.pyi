"""Kernel k-means kernels (cpp/include/partita/kernel_kmeans/): Gram sources and Lloyd's
iterations."""

from collections.abc import Callable
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

class Kernel:
    """Kernels computed in C++ from the features."""

    linear: ClassVar[Kernel]
    rbf: ClassVar[Kernel]
    polynomial: ClassVar[Kernel]
    sigmoid: ClassVar[Kernel]
    laplacian: ClassVar[Kernel]
    __members__: ClassVar[dict[str, Kernel]]
    def __init__(self, value: int) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...
    def __index__(self) -> int: ...
    def __int__(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class KernelParams:
    """A kernel and its coefficients."""

    kernel: Kernel
    gamma: float
    degree: float
    coef0: float
    def __init__(
        self, kernel: Kernel = ..., gamma: float = 1.0, degree: float = 3.0, coef0: float = 1.0
    ) -> None: ...

class LloydParams:
    """Stopping rule and threads of lloyd()."""

    max_iter: int
    tol: float
    n_threads: int  # <= 0: what OpenMP would use
    def __init__(self, max_iter: int = 300, tol: float = 1e-4, n_threads: int = 0) -> None: ...

class LloydResult:
    """The outcome of lloyd()."""

    @property
    def labels(self) -> NDArray[np.int32]: ...
    @property
    def centres(self) -> NDArray[np.int32]: ...
    @property
    def distances(self) -> NDArray[np.float64]: ...
    @property
    def cluster_weights(self) -> NDArray[np.float64]: ...
    @property
    def centre_norms(self) -> NDArray[np.float64]: ...
    @property
    def inertia(self) -> float: ...
    @property
    def n_iter(self) -> int: ...
    @property
    def n_reseeded(self) -> int: ...
    @property
    def converged(self) -> bool: ...
    @property
    def tol_reached(self) -> bool: ...

class KernelFeatures32:
    """Feature rows (float32) and a kernel: Gram rows computed on demand."""

    def __init__(self, X: NDArray[np.float32], params: KernelParams) -> None: ...
    @property
    def n_samples(self) -> int: ...
    def diagonal(self) -> NDArray[np.float32]: ...
    def gram(self, n_threads: int) -> NDArray[np.float32]: ...
    def rows(self, indices: NDArray[np.int64], n_threads: int) -> NDArray[np.float32]: ...
    def cross_sums(
        self,
        Y: NDArray[np.float32],
        centres: NDArray[np.int32],
        weights: NDArray[np.float64],
        k: int,
        n_threads: int,
    ) -> tuple[NDArray[np.float64], NDArray[np.float32]]: ...

class KernelFeatures64:
    """Feature rows (float64) and a kernel: Gram rows computed on demand."""

    def __init__(self, X: NDArray[np.float64], params: KernelParams) -> None: ...
    @property
    def n_samples(self) -> int: ...
    def diagonal(self) -> NDArray[np.float64]: ...
    def gram(self, n_threads: int) -> NDArray[np.float64]: ...
    def rows(self, indices: NDArray[np.int64], n_threads: int) -> NDArray[np.float64]: ...
    def cross_sums(
        self,
        Y: NDArray[np.float64],
        centres: NDArray[np.int32],
        weights: NDArray[np.float64],
        k: int,
        n_threads: int,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...

def lloyd(
    source: NDArray[np.float32] | NDArray[np.float64] | KernelFeatures32 | KernelFeatures64,
    seeds: NDArray[np.int64],
    weights: NDArray[np.float64],
    params: LloydParams,
    progress: Callable[[int, int, float], None] | None = None,
) -> LloydResult:
    """Kernel k-means (Lloyd's iterations) from the feature-space images of the seed points.

    source: a stored symmetric Gram matrix, or KernelFeatures whose rows are recomputed in
    blocks; progress(iteration, n_changed, inertia) is called after every iteration."""
