"""partita._cuda.kernel_kmeans: kernel k-means kernels on the GPU."""

import enum

import numpy as np
import numpy.typing as npt

from . import ArrayRef

estimators: tuple[str, ...]

def free_device_memory() -> int:
    """Free bytes of device memory (whether a Gram matrix can be stored)."""

class Kernel(enum.Enum):
    linear = 0
    rbf = 1
    polynomial = 2
    sigmoid = 3
    laplacian = 4

class KernelParams:
    def __init__(
        self, kernel: Kernel, gamma: float, degree: float = 3.0, coef0: float = 1.0
    ) -> None: ...

class Assignment:
    """Nearest cluster of every point and its distance."""
    @property
    def labels(self) -> npt.NDArray[np.int32]: ...
    @property
    def distances(self) -> npt.NDArray[np.float64]: ...

class Problem:
    """A Gram matrix on the device (stored, or recomputed in tiles from the features) and the
    cluster sums E = K Z of kernel k-means."""
    def __init__(
        self, X: npt.NDArray[np.floating] | ArrayRef, params: KernelParams, store: bool
    ) -> None: ...
    @staticmethod
    def precomputed(K: npt.NDArray[np.floating] | ArrayRef) -> Problem:
        """A precomputed n x n Gram matrix (the caller keeps it alive)."""
    @property
    def size(self) -> int: ...
    @property
    def stored(self) -> bool: ...
    @property
    def dtype(self) -> str: ...
    def diagonal(self) -> npt.NDArray[np.floating]: ...
    def rows(self, js: npt.NDArray[np.int64]) -> npt.NDArray[np.floating]:
        """Gram rows js (count x n) in the Gram's dtype."""
    def reset_sums(self, k: int) -> None: ...
    def accumulate(
        self,
        js: npt.NDArray[np.int64],
        from_: npt.NDArray[np.int32],
        to: npt.NDArray[np.int32],
        w: npt.NDArray[np.float64],
    ) -> None:
        """E[from] -= w K[j], E[to] += w K[j] for each row j in order (from -1: none)."""
    def assign(self, s: npt.NDArray[np.float64], norms: npt.NDArray[np.float64]) -> Assignment: ...
    def own_sums(self, labels: npt.NDArray[np.int32]) -> npt.NDArray[np.float64]: ...
