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

estimators: tuple[str, ...]

class SinkhornParams:
    """Parameters of sinkhorn(); phi = rho / (rho + eps)."""

    eps: float
    phi_a: float
    phi_b: float
    max_iter: int
    tol: float
    def __init__(self) -> None: ...

class SinkhornResult:
    """Potentials and per-problem report of sinkhorn()."""

    @property
    def f(self) -> npt.NDArray[np.float64]: ...
    @property
    def g(self) -> npt.NDArray[np.float64]: ...
    @property
    def fv(self) -> npt.NDArray[np.float64]: ...
    @property
    def gv(self) -> npt.NDArray[np.float64]: ...
    @property
    def n_iter(self) -> npt.NDArray[np.int64]: ...
    @property
    def err(self) -> npt.NDArray[np.float64]: ...
    @property
    def converged(self) -> npt.NDArray[np.bool_]: ...

def sinkhorn(
    C: npt.NDArray[np.floating] | ArrayRef,
    Y: npt.NDArray[np.floating] | ArrayRef | None,
    log_a: npt.NDArray[np.float64],
    log_b: npt.NDArray[np.float64],
    log_av: npt.NDArray[np.float64] | None,
    log_bv: npt.NDArray[np.float64] | None,
    f: npt.NDArray[np.float64],
    g: npt.NDArray[np.float64],
    fv: npt.NDArray[np.float64],
    gv: npt.NDArray[np.float64],
    params: SinkhornParams,
    plan: npt.NDArray[np.floating] | ArrayRef | None = None,
) -> SinkhornResult:
    """Batched log-domain Sinkhorn on the device: C (B, n, m) stored costs, or with Y the points
    X (B, n, d), Y (B, m, d) of a squared euclidean cost; potentials flat (warm start)."""
