"""k-medoids kernels (cpp/include/partita/medoids/): BUILD, LAB, k-medoids++, FasterPAM, FastPAM1,
PAM, alternate, CLARANS; medoid silhouette: FasterMSC, FastMSC, DynMSC, the silhouette and the
medoid silhouette. A ``source`` is a C-contiguous float32 / float64 n x n distance matrix
or a FeatureSpace32 / FeatureSpace64 computing distance rows on the fly. ``n_threads`` 0 means
all threads; no result depends on it."""

from typing import ClassVar, Union

import numpy as np
import numpy.typing as npt

class Metric:
    """Distances computed in C++ from the features (pybind11 enum)."""

    euclidean: ClassVar[Metric]
    sqeuclidean: ClassVar[Metric]
    manhattan: ClassVar[Metric]
    cosine: ClassVar[Metric]
    callback: ClassVar[Metric]  # a compiled f(x*, y*, n_features) -> float64, given by address
    __members__: ClassVar[dict[str, Metric]]
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class Method:
    """The optimiser run by :func:`optimise` (pybind11 enum)."""

    fasterpam: ClassVar[Method]
    fastpam1: ClassVar[Method]
    pam: ClassVar[Method]
    alternate: ClassVar[Method]
    fastermsc: ClassVar[Method]  # eager medoid silhouette swaps (Result.loss: the silhouette)
    fastmsc: ClassVar[Method]  # the best medoid silhouette swap per iteration
    __members__: ClassVar[dict[str, Method]]
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class Result:
    """Medoids found by an optimiser."""
    @property
    def medoids(self) -> npt.NDArray[np.int64]: ...  # point index of every medoid (slot)
    @property
    def labels(self) -> npt.NDArray[np.int32]: ...  # nearest medoid slot, the lowest on ties
    @property
    def loss(self) -> float: ...  # weighted total distance (msc methods: medoid silhouette)
    @property
    def n_iter(self) -> int: ...  # passes, swaps or candidates examined
    @property
    def n_swaps(self) -> int: ...
    @property
    def converged(self) -> bool: ...  # the last pass found nothing to improve (not max_iter)
    @property
    def pass_loss(self) -> npt.NDArray[np.float64]: ...  # loss after every pass (iteration)
    @property
    def pass_swaps(self) -> npt.NDArray[np.int64]: ...  # medoid changes in every pass

class DynResult:
    """DynMSC: the best k's clustering and every k's score."""
    @property
    def best(self) -> Result: ...  # n_iter and n_swaps summed over every k
    @property
    def losses(self) -> npt.NDArray[np.float64]: ...  # medoid silhouette, k = k_min .. k_max

class SilhouetteResult:
    """A silhouette and its per-point values."""
    @property
    def mean(self) -> float: ...  # weighted mean over the points
    @property
    def samples(self) -> npt.NDArray[np.float64]: ...  # empty unless asked for

class Labelling:
    """Every point's nearest medoid."""
    @property
    def labels(self) -> npt.NDArray[np.int32]: ...
    @property
    def loss(self) -> float: ...

class BlockLabelling:
    """Labels of points first, first + 1, ... and their weighted distances cut at the multiples
    of ``block`` (docs/algorithms.md, "Chunked loss")."""
    @property
    def labels(self) -> npt.NDArray[np.int32]: ...
    @property
    def head(self) -> npt.NDArray[np.float64]: ...  # terms before the first multiple of block
    @property
    def sums(self) -> npt.NDArray[np.float64]: ...  # one sequential sum per whole block
    @property
    def tail(self) -> npt.NDArray[np.float64]: ...  # terms after the last multiple of block

class ClaransParams:
    """What CLARANS searches, and for how long."""

    n_clusters: int
    n_local: int  # restarts from random medoids
    max_neighbors: int  # consecutive rejected candidates that end a restart
    seed: int
    def __init__(
        self, n_clusters: int = 8, n_local: int = 2, max_neighbors: int = 1, seed: int = 0
    ) -> None: ...

class FeatureSpace32:
    """float32 feature rows whose pairwise distances are computed on demand."""
    def __init__(self, X: npt.NDArray[np.float32], metric: Metric, function: int = 0) -> None: ...
    @property
    def n_samples(self) -> int: ...
    def distance_matrix(self, n_threads: int) -> npt.NDArray[np.float32]: ...
    def distances_to(
        self, indices: npt.NDArray[np.int64], n_threads: int
    ) -> npt.NDArray[np.float32]: ...

class FeatureSpace64:
    """float64 feature rows whose pairwise distances are computed on demand."""
    def __init__(self, X: npt.NDArray[np.float64], metric: Metric, function: int = 0) -> None: ...
    @property
    def n_samples(self) -> int: ...
    def distance_matrix(self, n_threads: int) -> npt.NDArray[np.float64]: ...
    def distances_to(
        self, indices: npt.NDArray[np.int64], n_threads: int
    ) -> npt.NDArray[np.float64]: ...

Source = Union[np.ndarray, FeatureSpace32, FeatureSpace64]  # noqa: UP007 (a runtime alias)

def optimise(
    source: Source,
    medoids: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    method: Method,
    max_iter: int,
    n_threads: int,
) -> Result: ...
def dynmsc(
    source: Source,
    medoids: npt.NDArray[np.int64],
    k_min: int,
    weights: npt.NDArray[np.float64],
    max_iter: int,
    n_threads: int,
) -> DynResult: ...
def silhouette(
    source: Source,
    labels: npt.NDArray[np.int32],
    n_clusters: int,
    weights: npt.NDArray[np.float64],
    samples: bool,
    n_threads: int,
) -> SilhouetteResult: ...
def medoid_silhouette(
    source: Source,
    medoids: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    samples: bool,
    n_threads: int,
) -> SilhouetteResult: ...
def clarans(
    source: Source, weights: npt.NDArray[np.float64], params: ClaransParams, n_threads: int
) -> Result: ...
def assign(
    source: Source, medoids: npt.NDArray[np.int64], weights: npt.NDArray[np.float64], n_threads: int
) -> Labelling: ...
def label(
    source: Source, medoids: npt.NDArray[np.int64], weights: npt.NDArray[np.float64], n_threads: int
) -> Labelling: ...
def label_blocks(
    source: Source,
    medoids: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float64],
    n_points: int,
    first: int,
    block: int,
    n_threads: int,
) -> BlockLabelling:
    """label() of the first n_points points of the source (the rest are medoid rows from
    elsewhere), which are the points first, first + 1, ... of a larger set."""

def ordered_sum(values: npt.NDArray[np.float64]) -> float:
    """Sequential sum from 0.0 in index order."""

def build(
    source: Source, k: int, weights: npt.NDArray[np.float64], n_threads: int
) -> npt.NDArray[np.int64]: ...
def lab(
    source: Source, samples: npt.NDArray[np.int64], weights: npt.NDArray[np.float64], n_threads: int
) -> npt.NDArray[np.int64]: ...
def kmedoids_plusplus(
    source: Source, k: int, weights: npt.NDArray[np.float64], seed: int, n_threads: int
) -> npt.NDArray[np.int64]: ...
