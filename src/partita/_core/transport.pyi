"""partita._core.transport: batched log-domain Sinkhorn scaling and Newton's method on the
semi-dual (cpp/include/partita/transport/). Python validates; these take C-contiguous arrays."""

from typing import ClassVar

import numpy as np
import numpy.typing as npt

class Method:
    """How a Sinkhorn iteration is computed (pybind11 enum)."""

    sinkhorn_log: ClassVar[Method]  # an exp per entry and iteration
    sinkhorn_stabilized: ClassVar[Method]  # a stored Gibbs kernel, the potentials absorbed
    __members__: ClassVar[dict[str, Method]]
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...
    def __index__(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class SinkhornParams:
    """Parameters of :func:`sinkhorn`; phi = rho / (rho + eps), 1 for a hard side."""

    eps: float
    phi_a: float
    phi_b: float
    max_iter: int
    tol: float
    method: Method
    write_plan: bool
    n_threads: int
    def __init__(self) -> None: ...

class SinkhornResult:
    """Per problem of the batch."""
    @property
    def n_iter(self) -> npt.NDArray[np.int64]: ...
    @property
    def err(self) -> npt.NDArray[np.float64]: ...
    @property
    def converged(self) -> npt.NDArray[np.bool_]: ...
    @property
    def n_log_sweeps(self) -> npt.NDArray[np.int64]:
        """Sweeps that evaluated an exp per entry."""

def sinkhorn(
    C: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    log_a: npt.NDArray[np.float64],
    log_b: npt.NDArray[np.float64],
    f: npt.NDArray[np.float64],
    g: npt.NDArray[np.float64],
    fv: npt.NDArray[np.float64],
    gv: npt.NDArray[np.float64],
    params: SinkhornParams,
    *,
    log_av: npt.NDArray[np.float64] | None = None,
    log_bv: npt.NDArray[np.float64] | None = None,
    buffer: npt.NDArray[np.float32] | npt.NDArray[np.float64] | None = None,
) -> SinkhornResult:
    """Batched log-domain Sinkhorn (KL convention) on C (B, n, m); updates the potentials f
    (B*n), g (B*m), fv (B), gv (B) in place. log_av / log_bv (B): log masses of a virtual row /
    column. buffer (C's shape and dtype): the stored Gibbs kernel of the stabilised method, and
    the plans at the end when params.write_plan."""

class NewtonParams:
    """Parameters of :func:`semidual_newton`."""

    eps: float
    rho: float
    """KL relaxation of the real columns; inf: hard."""
    virtual_column: bool
    """A hard virtual column of cost 0 (the last potential)."""
    log_bv: float
    """Log mass of the virtual column."""
    max_iter: int
    tol: float
    want_plan: bool
    n_threads: int
    def __init__(self) -> None: ...

class NewtonResult:
    @property
    def f(self) -> npt.NDArray[np.float64]: ...
    @property
    def plan(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def n_iter(self) -> int: ...
    @property
    def err(self) -> float:
        """L1 norm of the gradient."""
    @property
    def converged(self) -> bool: ...

def semidual_newton(
    C: npt.NDArray[np.float64],
    a: npt.NDArray[np.float64],
    log_b: npt.NDArray[np.float64],
    g: npt.NDArray[np.float64],
    params: NewtonParams,
) -> NewtonResult:
    """Entropic OT with hard rows (weights a) and few columns (costs C (n, k), log-masses log_b)
    by Newton's method on the semi-dual; g (k, +1 with the virtual column) is updated in place."""

class AccelerationParams:
    """Parameters of :func:`sinkhorn_accelerated`: epsilon-scaling stages and the Newton tail."""

    rho_a: float
    """KL penalty of the rows; inf: hard."""
    rho_b: float
    """KL penalty of the columns; inf: hard."""
    eps_start: float
    """Eps of the first stage; <= params.eps: no stages."""
    factor: float
    """Eps ratio of successive Sinkhorn stages."""
    newton_factor: float
    """Eps ratio of successive Newton stages."""
    stage_tol: float
    stage_max_iter: int
    newton_max_columns: int
    """Newton up to this many unknowns; 0: none."""
    newton_max_work: float
    """Newton only where (other side) x unknowns^2 is at most this."""
    def __init__(self) -> None: ...

def sinkhorn_accelerated(
    C: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    log_a: npt.NDArray[np.float64],
    log_b: npt.NDArray[np.float64],
    f: npt.NDArray[np.float64],
    g: npt.NDArray[np.float64],
    fv: npt.NDArray[np.float64],
    gv: npt.NDArray[np.float64],
    params: SinkhornParams,
    acc: AccelerationParams,
    *,
    log_av: npt.NDArray[np.float64] | None = None,
    log_bv: npt.NDArray[np.float64] | None = None,
    buffer: npt.NDArray[np.float32] | npt.NDArray[np.float64] | None = None,
) -> SinkhornResult:
    """sinkhorn() with epsilon-scaling stages from acc.eps_start down to params.eps and a Newton
    tail, then Sinkhorn at params.eps; n_iter counts every part, and all parts together run at
    most params.max_iter."""
