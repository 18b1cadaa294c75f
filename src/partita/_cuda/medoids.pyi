"""partita._cuda.medoids: k-medoids kernels on the GPU."""

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from . import ArrayRef

class Assignment:
    """Nearest and second-nearest medoid slot of every point, with distances (the matrix's
    dtype). Without a second medoid (k = 1): seco_i = -1, seco_d = 0."""
    @property
    def near_i(self) -> npt.NDArray[np.int32]: ...
    @property
    def seco_i(self) -> npt.NDArray[np.int32]: ...
    @property
    def near_d(self) -> npt.NDArray[np.floating]: ...
    @property
    def seco_d(self) -> npt.NDArray[np.floating]: ...

def assign(
    D: npt.NDArray[np.floating] | ArrayRef, medoids: npt.NDArray[np.int64]
) -> Assignment: ...

# The search (docs/algorithms.md, "k-medoids on a GPU"). ``data`` is a stored n x n matrix when
# ``metric`` is None, else n x d feature rows whose distances the device computes on the fly.
# Every result equals the CPU kernel's (partita._core.medoids) bit for bit.

estimators: tuple[str, ...]  # the estimators whose fit runs on these kernels

class Metric:
    """Distances computed on the device from the features (pybind11 enum)."""

    euclidean: ClassVar[Metric]
    sqeuclidean: ClassVar[Metric]
    manhattan: ClassVar[Metric]
    cosine: ClassVar[Metric]
    __members__: ClassVar[dict[str, Metric]]
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class Method:
    """The swap schedule (pybind11 enum): FasterPAM's eager swaps or FastPAM1's best swap."""

    fasterpam: ClassVar[Method]
    fastpam1: ClassVar[Method]
    __members__: ClassVar[dict[str, Method]]
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class Result:
    """Medoids found on the device (as partita._core.medoids.Result)."""
    @property
    def medoids(self) -> npt.NDArray[np.int64]: ...
    @property
    def labels(self) -> npt.NDArray[np.int32]: ...
    @property
    def loss(self) -> float: ...
    @property
    def n_iter(self) -> int: ...
    @property
    def n_swaps(self) -> int: ...
    @property
    def converged(self) -> bool: ...
    @property
    def pass_loss(self) -> npt.NDArray[np.float64]: ...
    @property
    def pass_swaps(self) -> npt.NDArray[np.int64]: ...

class Labelling:
    """Every point's nearest medoid (lowest slot on ties) and the weighted loss."""
    @property
    def labels(self) -> npt.NDArray[np.int32]: ...
    @property
    def loss(self) -> float: ...

Data = npt.NDArray[np.floating] | ArrayRef

class DeviceCopy:
    """A host array copied to device memory once; keep it alive while ``ref`` is used."""
    @property
    def ref(self) -> ArrayRef: ...

def to_device(data: Data) -> DeviceCopy: ...
def distance_matrix(X: Data, metric: Metric) -> DeviceCopy: ...
def optimise(
    data: Data,
    metric: Metric | None,
    medoids: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    method: Method,
    max_iter: int,
) -> Result: ...
def clarans(
    data: Data,
    metric: Metric | None,
    weights: npt.NDArray[np.float64],
    n_clusters: int,
    n_local: int,
    max_neighbors: int,
    seed: int,
) -> Result: ...
def label(
    data: Data,
    metric: Metric | None,
    medoids: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
) -> Labelling: ...
def build(
    data: Data, metric: Metric | None, k: int, weights: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]: ...
def lab(
    data: Data,
    metric: Metric | None,
    samples: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]: ...
def kmedoids_plusplus(
    data: Data, metric: Metric | None, k: int, weights: npt.NDArray[np.float64], seed: int
) -> npt.NDArray[np.int64]: ...
