"""partita._cuda.multicut: dense multicut kernels on the GPU."""

import numpy as np
import numpy.typing as npt

estimators: tuple[str, ...]

def knn_positive(
    F: npt.NDArray[np.float64],
    sizes: npt.NDArray[np.float64],
    offset: float,
    k: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Exact kNN with positive costs <F_i, F_j> - offset * s_i * s_j of the float64 rows F:
    (indices, costs) of shape (m, k), ordered by cost (ties to the smaller index), -1 (cost 0)
    past the last positive one; the CPU's float64 costs, bit for bit."""

def objective(
    X: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    n_clusters: int,
    offset: float,
    weights: npt.NDArray[np.float64] | None = None,
) -> float:
    """The multicut objective of labels (0..n_clusters-1) of the float64 rows X (node weights
    None for 1), the CPU's value bit for bit."""
