"""Dense multicut kernels (cpp/include/partita/multicut/). Python validates every argument;
X is a C-contiguous float32 or float64 array of shape (n, d)."""

from collections.abc import Callable
from typing import ClassVar

import numpy as np
import numpy.typing as npt

class Algorithm:
    """Contraction: exact greedy order or kNN rounds."""

    gaec: ClassVar[Algorithm]
    lazy: ClassVar[Algorithm]
    __members__: ClassVar[dict[str, Algorithm]]
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class Metric:
    """Features as given (dot) or unit-normalised rows (cosine)."""

    dot: ClassVar[Metric]
    cosine: ClassVar[Metric]
    __members__: ClassVar[dict[str, Metric]]
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class Params:
    """Parameters of solve()."""

    offset: float
    metric: Metric
    algorithm: Algorithm
    n_neighbors: int
    refine: bool
    max_passes: int
    max_rounds: int
    n_threads: int
    def __init__(
        self,
        *,
        offset: float = 0.0,
        metric: Metric = ...,
        algorithm: Algorithm = ...,
        n_neighbors: int = 10,
        refine: bool = True,
        max_passes: int = 20,
        max_rounds: int = 10,
        n_threads: int = 0,
    ) -> None: ...

class Result:
    """A multicut: labels and what the solver did."""

    @property
    def labels(self) -> npt.NDArray[np.int64]: ...
    @property
    def n_clusters(self) -> int: ...
    @property
    def n_merges(self) -> int: ...
    @property
    def n_rounds(self) -> int: ...
    @property
    def n_queries(self) -> int: ...
    @property
    def n_moves(self) -> int: ...
    @property
    def objective(self) -> float: ...
    @property
    def converged(self) -> bool: ...
    @property
    def n_threads(self) -> int: ...

class KnnResult:
    """Exact kNN lists with positive costs, shape (n, k); -1 (cost 0) past the last one."""

    @property
    def indices(self) -> npt.NDArray[np.int64]: ...
    @property
    def costs(self) -> npt.NDArray[np.float64]: ...

def solve(
    X: npt.NDArray[np.floating],
    params: Params,
    weights: npt.NDArray[np.float64] | None = None,
    knn: Callable[
        [npt.NDArray[np.float64], npt.NDArray[np.float64], float, int],
        tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]],
    ]
    | None = None,
) -> Result:
    """Dense multicut of the rows of X (node weights: None for 1), optionally refined by node
    moves; labels 0..c-1. knn: None, or the kNN search of every lazy round, (F, sizes, offset,
    k) -> (indices, costs) with knn_positive's contract (the GPU's)."""

def objective(
    X: npt.NDArray[np.floating],
    labels: npt.NDArray[np.int64],
    n_clusters: int,
    offset: float,
    metric: Metric,
    weights: npt.NDArray[np.float64] | None = None,
) -> float:
    """Sum of the costs <f_i, f_j> - offset of the edges cut by labels (0..n_clusters-1)."""

def knn_positive(
    X: npt.NDArray[np.floating],
    sizes: npt.NDArray[np.float64],
    offset: float,
    k: int,
    metric: Metric,
    n_threads: int,
) -> KnnResult:
    """Exact kNN with positive costs <x_i, x_j> - offset * s_i * s_j, ordered by cost (ties to
    the smaller index)."""
