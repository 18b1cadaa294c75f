"""partita._cuda.transport: optimal-transport kernels on the GPU."""

import numpy as np
import numpy.typing as npt

from . import ArrayRef

def row_sweep(
    C: npt.NDArray[np.floating] | ArrayRef,
    log_a: npt.NDArray[np.float64] | None,
    log_b: npt.NDArray[np.float64] | None,
    g: npt.NDArray[np.float64],
    eps: float,
) -> npt.NDArray[np.float64]:
    """f = eps * (log_a - LSE_j(log_b + (g - C) / eps)) for every row of a (B, n, m) batch,
    float64 accumulation; log_a / log_b None for 0. Returns (B, n)."""
