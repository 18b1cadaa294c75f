"""partita._core.transport: batched log-domain Sinkhorn scaling and Newton's method on the
semi-dual, SinkhornKMeans' Lloyd iterations
(cpp/include/partita/transport/). Python validates; these take C-contiguous arrays."""

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
    omega: float
    """Overrelaxation: each potential moves omega times its Sinkhorn step, omega in [1, 2)
    (balanced problems without virtual points)."""
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

class LloydParams:
    """Parameters of :func:`lloyd`."""

    eps: float
    rho: float
    """KL relaxation of the cluster sizes; inf: hard."""
    virtual_column: bool
    """A virtual cluster of cost 0 (mass < 1; the last potential)."""
    log_bv: float
    """Log mass of the virtual cluster."""
    first_iteration: int
    """The first Lloyd iteration to run (the caller ran the ones before)."""
    max_iter: int
    final_only: bool
    """Only the final assignment, with the given centres."""
    shift_tol: float
    """Stop when the squared centre shift is at most this."""
    labels_rule: bool
    """Stop instead when the labels repeat."""
    newton_max_iter: int
    assign_tol: float
    n_threads: int
    def __init__(self) -> None: ...

class LloydResult:
    @property
    def n_iter(self) -> int:
        """The last Lloyd iteration."""
    @property
    def converged(self) -> bool:
        """The stopping rule was met."""
    @property
    def final(self) -> bool:
        """The last assignment is the final one."""
    @property
    def assignment(self) -> NewtonResult:
        """The last assignment (Newton's result)."""
    @property
    def costs(self) -> npt.NDArray[np.float64]: ...
    @property
    def labels(self) -> npt.NDArray[np.int64] | None: ...
    @property
    def shift(self) -> npt.NDArray[np.float64]: ...
    @property
    def steps(self) -> npt.NDArray[np.int64]: ...
    @property
    def err(self) -> npt.NDArray[np.float64]: ...

def lloyd(
    X: npt.NDArray[np.float64],
    a: npt.NDArray[np.float64],
    log_b: npt.NDArray[np.float64],
    centres: npt.NDArray[np.float64],
    g: npt.NDArray[np.float64],
    previous_labels: npt.NDArray[np.int64] | None,
    params: LloydParams,
) -> LloydResult:
    """SinkhornKMeans' Lloyd iterations on X (n, d) with Newton assignments; centres (k, d) and g
    (k, +1 with the virtual cluster) are updated in place. Stops early when an assignment does not
    converge (result.final False, the caller continues)."""

def centre_distances(
    X: npt.NDArray[np.float64], centres: npt.NDArray[np.float64], n_threads: int
) -> npt.NDArray[np.float64]:
    """Squared distances (n, k) of X (n, d) to centres (k, d)."""

def update_centres(
    X: npt.NDArray[np.float64],
    plan: npt.NDArray[np.float64],
    centres: npt.NDArray[np.float64],
    n_threads: int,
) -> float:
    """centres_j = plan[:, j] X / plan[:, j].sum() in place (columns with mass); returns the
    squared shift."""

def block_column_lse(
    C: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    log_a: npt.NDArray[np.float64],
    f: npt.NDArray[np.float64],
    eps: float,
    n_threads: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per column of the row block C (n, m): the largest exponent max_i log_a_i + (f_i - C_ij)
    / eps and the sum of the exponentials shifted by it, rows in order."""

def combine_column_lse(
    mx: npt.NDArray[np.float64], s: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Column log-sum-exps of all rows from the (count, m) pieces of the blocks, in order."""

def block_row_update(
    C: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    log_b: npt.NDArray[np.float64],
    g: npt.NDArray[np.float64],
    eps: float,
    phi: float,
    f: npt.NDArray[np.float64],
    n_threads: int,
) -> float:
    """f_i <- -phi eps LSE_j(log_b_j + (g_j - C_ij) / eps) in place; the largest change of f."""

class AccelerationParams:
    """Parameters of :func:`sinkhorn_accelerated`: the probe, epsilon-scaling stages, the Newton
    and overrelaxed tails."""

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
    probe_max_iter: int
    """Where Newton would run: plain Sinkhorn first, kept if it converges within this many
    iterations (stopped early when its rate says it will not); 0: no probe."""
    probe_chunk: int
    """Iterations between the probe's rate estimates."""
    overrelax: int
    """The overrelaxed tail of balanced problems: 0 never, 1 where no problem takes Newton's
    tail, 2 always."""
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
    """sinkhorn() with a probe of plain Sinkhorn, epsilon-scaling stages from acc.eps_start
    down to params.eps, a Newton and / or an overrelaxed tail, then Sinkhorn at params.eps;
    n_iter counts every part, and all parts together run at most params.max_iter."""
