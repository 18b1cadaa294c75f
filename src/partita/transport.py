"""Optimal-transport assignment: :func:`sinkhorn`, :class:`SinkhornKMeans`, :func:`equipartition`.

Batched log-domain Sinkhorn scaling runs in C++ (``cpp/include/partita/transport/``): one
fused streaming pass over the cost matrix per iteration (the f-update of a row and that row's
share of the next g-update's column sums while it is in cache), each problem of a batch
stopping on its own tolerance; with a stored Gibbs kernel (stabilised scaling, absorption into
the potentials when the scalings drift) the passes compute no exponentials. This module
validates the input, maps the balanced, KL-relaxed and partial variants onto the kernel, and
builds the clustering estimator on top of it. The algorithms are specified in
docs/algorithms.md ("Log-domain Sinkhorn" to "Equipartition").

Conventions (KL, as POT's ``sinkhorn_log`` and ``sinkhorn_unbalanced(reg_type="kl")``)::

    min_P <C, P> + reg KL(P | a b^T) + rho_a KL(P 1 | a) + rho_b KL(P^T 1 | b)
    P_ij = a_i b_j exp((f_i + g_j - C_ij) / reg)

POT's log-scalings relate to the potentials by ``log_u = log a + f / reg`` and
``log_v = log b + g / reg``.
"""

import math
import time
import warnings
from typing import NamedTuple

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _core, _validation
from ._backend import n_threads, resolve_device
from ._validation import (
    Integer,
    Options,
    Real,
    as_numpy,
    check_int,
    check_n_clusters,
    check_real,
    check_sample_weight,
    check_weight_scale,
    fit_or_leave_unfitted,
    validate_params,
    warn_if_distance_matrix,
)

__all__ = [
    "sinkhorn",
    "SinkhornResult",
    "sinkhorn_loss",
    "SinkhornLoss",
    "sinkhorn_divergence",
    "sinkhorn_points",
    "SinkhornKMeans",
    "equipartition",
]

_LOG_ZERO = -1e30  # log 0 as the kernel expects it (finite in float32 and float64)
_NEWTON_MAX_COLUMNS = (
    64  # SinkhornKMeans: Newton's method on the semi-dual up to this many clusters
)
_NEWTON_MAX_STEPS = 100  # then (rare, degenerate problems) Sinkhorn continues from its potentials
_MIN_RELATIVE_REG = 1e-290  # SinkhornKMeans: D / (reg * variance) must stay below ~1e300
_SUM_RTOL = 1e-6  # balanced problems: sum(a) and sum(b) must agree to this relative tolerance


class SinkhornResult(NamedTuple):
    """Result of :func:`sinkhorn`; per problem (leading batch axis) when C is a batch.

    plan : ndarray (n, m) or (B, n, m), C's dtype, or None when ``return_plan=False``
        P_ij = a_i b_j exp((f_i + g_j - C_ij) / reg) (the real rows and columns only).
    f, g : ndarray (n,) / (m,) or (B, n) / (B, m), float64
        Dual potentials, KL convention (balanced: defined up to f + c, g - c).
    n_iter : int or ndarray (B,)
        Iterations (one g-update and one f-update each) of the returned state.
    err : float or ndarray (B,)
        Balanced (and partial): L1 violation of the column marginal ||P^T 1 - b||_1 (the rows
        are exact). KL-relaxed: sup-norm change of the potentials in the last iteration, divided
        by reg (the largest relative change of a plan entry).
    converged : bool or ndarray (B,)
        err < tol. When reg is below the precision of the costs (the UserWarning), the kernel's
        err no longer describes the plan: a balanced problem's err is then the L1 violation of
        both marginals by the plan itself, and a relaxed or partial problem is never converged.
    """

    plan: object
    f: object
    g: object
    n_iter: object
    err: object
    converged: object


class _AssignmentReport(NamedTuple):
    """How an assignment step of SinkhornKMeans ended (Newton's steps or Sinkhorn's iterations)."""

    n_iter: int
    err: float
    converged: bool


# ---- validation ----------------------------------------------------------------------------


def _check_reg(reg):
    if reg is None:
        raise ValueError("reg (the entropic regularisation) is required")
    reg = check_real(reg, "reg", allow_inf=True)
    if not (math.isfinite(reg) and reg > 0):
        raise ValueError(f"reg must be positive and finite, got {reg!r}")
    return reg


def _check_reg_m(reg_m):
    """(rho_a, rho_b), inf for a hard side."""
    if reg_m is None:
        return math.inf, math.inf
    if isinstance(reg_m, (tuple, list, np.ndarray)):
        vals = list(np.asarray(reg_m, dtype=object).ravel())
        if len(vals) != 2:
            raise ValueError(f"reg_m must be a number or a pair (rho_a, rho_b), got {reg_m!r}")
    else:
        vals = [reg_m, reg_m]
    out = []
    for v in vals:
        v = math.inf if v is None else check_real(v, "reg_m", allow_inf=True)
        if not v > 0 or math.isnan(v):
            raise ValueError(f"reg_m must be positive (inf for a hard marginal), got {reg_m!r}")
        out.append(v)
    return tuple(out)


def _check_mass(mass):
    if mass is None:
        return None
    mass = check_real(mass, "mass")
    if not (0.0 < mass <= 1.0):
        raise ValueError(f"mass must be in (0, 1], got {mass!r}")
    return mass


def _check_cost(C):
    arr = np.asarray(as_numpy(C))
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"C must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError("C must be real")
    dtype = _validation.float_dtype(arr)
    if arr.ndim not in (2, 3):
        raise ValueError(f"C must have shape (n, m) or (B, n, m), got shape {arr.shape}")
    if arr.size == 0 or min(arr.shape) == 0:
        raise ValueError(f"C must not be empty, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.all(np.isfinite(arr)):
        raise ValueError("C contains NaN or infinity; costs must be finite")
    if arr.min() < 0:
        raise ValueError(
            f"costs must be non-negative; the smallest entry of C is {arr.min():g} "
            "(add a constant: it does not change the plan of a balanced problem)"
        )
    return arr


def _per_problem(x, B, n, name, batched):
    """x as a finite float64 (B, n) array: one vector for every problem, or (batches) one row
    per problem. A read-only view when broadcast."""
    x = np.asarray(as_numpy(x), dtype=np.float64)
    if x.ndim == 1 and x.shape[0] == n:
        x = np.broadcast_to(x, (B, n))
    elif not (batched and x.shape == (B, n)):
        want = f"({n},)" + (f" or ({B}, {n})" if batched else "")
        raise ValueError(f"{name}.shape == {x.shape}, expected {want} to match C")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinity")
    return x


def _check_marginal(w, B, n, name, batched):
    if w is None:
        return np.full((B, n), 1.0 / n)
    w = _per_problem(w, B, n, name, batched)
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative")
    with np.errstate(over="ignore"):  # an overflowing sum is refused by _check_ranges
        positive = w.sum(axis=1) > 0
    if np.any(~positive):
        raise ValueError(f"{name} must have a positive sum")
    return np.ascontiguousarray(w)


def _check_potential(p, B, n, name, batched):
    if p is None:
        return np.zeros((B, n))
    p = _per_problem(p, B, n, name, batched)
    return np.array(p, dtype=np.float64, order="C")  # a copy: the kernel updates it in place


def _warn_if_reg_below_precision(C, reg):
    """The exponents (f + g - C) / reg carry C's rounding, max(C) eps_dtype / reg in absolute
    terms: above 1% the plan entries are not meaningful (whatever the method, and err may still
    be small), which deserves a warning rather than a silent result. Returns whether it warned."""
    spread = float(C.max()) * float(np.finfo(C.dtype).eps) / reg
    if spread > 0.01:
        warnings.warn(
            f"reg={reg:g} is below the precision of the costs in {C.dtype} (max(C) = "
            f"{float(C.max()):g}): the exponents (f + g - C) / reg carry a rounding error of "
            f"about {spread:.2g}, so plan entries are only accurate to about that relative error"
            + (" (use float64 costs)" if C.dtype == np.float32 else ""),
            UserWarning,
            stacklevel=3,
        )
        return True
    return False


# The exponents (f + g - C) / reg and the plan entries must stay well inside the dtype's range
# (an overflow there is a NaN plan, an underflow an all-zero one): limits on the scale ratio
# (max(C) + max|f0| + max|g0|) / reg and on the total mass of a marginal, per cost dtype.
_SCALE_LIMIT = {np.dtype(np.float64): 1e300, np.dtype(np.float32): 1e30}
_MASS_RANGE = {np.dtype(np.float64): (1e-150, 1e150), np.dtype(np.float32): (1e-18, 1e18)}


def _check_ranges(C3, A, Bm, f, g, reg):
    limit = _SCALE_LIMIT[C3.dtype]
    scale = float(C3.max()) + float(np.abs(f).max()) + float(np.abs(g).max())
    if not (1.0 / reg <= limit and scale / reg <= limit):
        raise ValueError(
            f"1 / reg and (max(C) + max|f0| + max|g0|) / reg must not exceed {limit:g} in "
            f"{C3.dtype}, got reg={reg:g} and a scale of {scale:g} (reg too small, or costs "
            "or warm starts f0, g0 too large)"
        )
    lo, hi = _MASS_RANGE[C3.dtype]
    for name, w in (("a", A), ("b", Bm)):
        with np.errstate(over="ignore"):
            sums = w.sum(axis=1)
        if not np.all((sums >= lo) & (sums <= hi)):
            raise ValueError(
                f"sum({name}) must be within [{lo:g}, {hi:g}] for {C3.dtype} costs, got "
                f"{float(sums.min() if np.any(sums < lo) else sums.max()):g} (rescale a and b: "
                "the plan scales with them, and tol is absolute)"
            )


def _plan_marginal_err(C3, A, Bm, f, g, reg, plan):
    """||P 1 - a||_1 + ||P^T 1 - b||_1 of the plan as it is (rebuilt from f, g when not
    returned), per problem: below the costs' precision the kernel's err, measured inside its
    log-sum-exps, no longer describes the plan."""
    err = np.empty(C3.shape[0])
    Bm = Bm * (A.sum(axis=1) / Bm.sum(axis=1))[:, None]  # the totals the kernel used
    for k in range(C3.shape[0]):
        rows, cols = np.empty(C3.shape[1]), np.zeros(C3.shape[2])
        for i in range(0, C3.shape[1], 1024):  # row blocks: no n x m temporary
            if plan is not None:
                P = plan[k, i : i + 1024].astype(np.float64)
            else:
                with np.errstate(all="ignore"):
                    P = np.exp(
                        _safe_log(A[k, i : i + 1024])[:, None]
                        + _safe_log(Bm[k])[None, :]
                        + (f[k, i : i + 1024, None] + g[k][None, :] - C3[k, i : i + 1024]) / reg
                    )
            rows[i : i + 1024] = P.sum(axis=1)
            cols += P.sum(axis=0)
        with np.errstate(over="ignore", invalid="ignore"):
            err[k] = np.abs(rows - A[k]).sum() + np.abs(cols - Bm[k]).sum()
    err[~np.isfinite(err)] = np.inf
    return err


def _safe_log(w):
    with np.errstate(divide="ignore"):
        out = np.log(w)
    out[w == 0] = _LOG_ZERO
    return out


_METHODS = ("auto", "sinkhorn_log", "sinkhorn_stabilized")

# Hard problems (docs/algorithms.md, "Epsilon-scaling" and "Newton tail"). "auto" accelerates
# from this max(C) / reg on; the stages start at eps = max(C), each stopping when its err is
# below _STAGE_TOL (times the mass for a balanced or partial problem, whose err is a mass).
# Sinkhorn stages divide eps by 4 and run at most _STAGE_MAX_ITER iterations; Newton stages
# (every problem of the batch qualifies for Newton) divide it by 10.
_HARD_RATIO = 100.0
_SCALING_FACTOR = 0.25
_NEWTON_SCALING_FACTOR = 0.1
_STAGE_MAX_ITER = 20
_STAGE_TOL = 1e-2
# The Newton tail: at most this many unknowns, and (other side) x unknowns^2 (a step's Hessian
# work, a few tenths of a second) at most _NEWTON_TAIL_MAX_WORK.
_NEWTON_TAIL_MAX_UNKNOWNS = 512
_NEWTON_TAIL_MAX_WORK = 2.0**28
# "auto" takes more than _NEWTON_MAX_COLUMNS unknowns only from this max(C) / reg on: a step
# then costs hundreds of Sinkhorn iterations, which moderately hard problems do not need.
_VERY_HARD_RATIO = 1e3
# "auto" first runs plain Sinkhorn where Newton would run, for at most the work of about
# _PROBE_NEWTON_STEPS Newton steps, and keeps it if it converges: some problems hard by the
# ratio are easy in fact. A step with k unknowns costs about 5 + k^2 / 500 Sinkhorn iterations
# (measured at k = 41 and 401). The probe stops early when its linear rate over _PROBE_CHUNK
# iterations predicts more.
_PROBE_NEWTON_STEPS = 10
_PROBE_CHUNK = 10


def _check_switch(value, name):
    if isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be 'auto', True or False, got {value!r}")


def _acceleration(epsilon_scaling, newton, overrelaxation, C3, A, reg, rho, mass, tol, warm_start):
    """The AccelerationParams of a sinkhorn call (docs/algorithms.md, "Epsilon-scaling" and
    "Newton tail"), or None for plain Sinkhorn. "auto": both when
    max(C) / reg >= _HARD_RATIO and tol > 0 (a fixed iteration count stays plain Sinkhorn);
    epsilon-scaling only without a warm start (which the first stages would discard)."""
    top = float(C3.max())
    hard = top >= _HARD_RATIO * reg and tol > 0
    scale = (hard and not warm_start) if epsilon_scaling == "auto" else epsilon_scaling
    use_newton = hard if newton == "auto" else newton
    balanced = mass is None and math.isinf(rho[0]) and math.isinf(rho[1])
    if overrelaxation is True and not balanced:
        raise ValueError("overrelaxation=True needs a balanced problem (reg_m=None and mass=None)")
    # 2: always; 1: where no problem takes Newton's tail; 0: never. "auto" only with newton
    # "auto" too: both switches False still mean plain Sinkhorn.
    auto_overrelax = hard and balanced and newton == "auto"
    overrelax = {True: 2, False: 0, "auto": 1 if auto_overrelax else 0}[overrelaxation]
    if not (scale or use_newton or overrelax):
        return None
    acc = _core.transport.AccelerationParams()
    if scale:
        acc.eps_start = top
        acc.factor = _SCALING_FACTOR
        acc.newton_factor = _NEWTON_SCALING_FACTOR
        acc.stage_max_iter = _STAGE_MAX_ITER
        relaxed = not (math.isinf(rho[0]) and math.isinf(rho[1]))
        acc.stage_tol = _STAGE_TOL * (1.0 if relaxed else float(A.sum(axis=1).min()))
    unknowns = _NEWTON_TAIL_MAX_UNKNOWNS
    if newton == "auto" and top < _VERY_HARD_RATIO * reg:
        unknowns = _NEWTON_MAX_COLUMNS
    acc.newton_max_columns = unknowns if use_newton else 0
    acc.newton_max_work = _NEWTON_TAIL_MAX_WORK
    if epsilon_scaling == "auto" and newton == "auto" and use_newton:
        k = min(C3.shape[1], C3.shape[2]) + 1
        acc.probe_max_iter = int(_PROBE_NEWTON_STEPS * (5 + k * k / 500))
        acc.probe_chunk = _PROBE_CHUNK
    acc.overrelax = overrelax
    return acc


def _stores_kernel(method, nbytes, max_iter, return_plan):
    """Whether the stabilised scaling runs (it needs one array the size of C: the plan's when
    the plan is returned). "auto": from two iterations on, when that array fits comfortably."""
    if method == "sinkhorn_log":
        return False
    if method == "sinkhorn_stabilized":
        if not return_plan:
            _validation.check_fits_in_memory(
                nbytes, "the stored Gibbs kernel", 'use method="sinkhorn_log"'
            )
        return True
    if max_iter < 2:
        return False
    available = _validation.available_memory()
    return return_plan or available is None or nbytes <= available // 4


def _solve(
    C3,
    a,
    b,
    reg,
    rho,
    mass,
    max_iter,
    tol,
    f0,
    g0,
    threads,
    virtual_column=False,
    method="auto",
    return_plan=False,
    acceleration=None,
):
    """The kernel call on validated arrays (C3 (B, n, m), a (B, n), b (B, m) float64).

    Partial transport (mass not None, hard rows): with ``virtual_column`` or relaxed columns,
    one virtual column receives exactly (1 - mass) sum a and the real columns target
    mass sum a b / sum b (P^2OT); otherwise (hard columns) a virtual row and a virtual column
    make P 1 <= a, P^T 1 <= b with mass min(sum a, sum b) transported.

    Returns (f, g, fv, gv, report, plan, log_b): fv / gv are the potentials of the virtual row /
    column (None when absent), report the kernel's per-problem ``_core.transport.SinkhornResult``,
    plan the (B, n, m) plans of the real rows and columns (None unless return_plan), log_b the
    log of the column marginal the kernel used. ``acceleration``: None, or a
    ``_core.transport.AccelerationParams`` (its penalties are set here) for epsilon-scaling
    stages and the Newton tail."""
    B = C3.shape[0]
    rho_a, rho_b = rho
    hard_a, hard_b = math.isinf(rho_a), math.isinf(rho_b)
    sa, sb = a.sum(axis=1), b.sum(axis=1)
    log_av = log_bv = None
    if mass is None:
        if hard_a and hard_b:
            bad = np.abs(sa - sb) > _SUM_RTOL * np.maximum(sa, sb)
            if np.any(bad):
                i = int(np.argmax(bad))
                raise ValueError(
                    f"a balanced problem needs sum(a) == sum(b); got {sa[i]:.17g} and {sb[i]:.17g}"
                    " (use reg_m for unbalanced transport, or mass for partial transport)"
                )
            b = b * (sa / sb)[:, None]  # exact totals, so that err can reach tol
    elif not hard_a:
        raise ValueError(
            "partial transport (mass) needs hard sample (row) marginals: use "
            "reg_m=None or reg_m=(inf, rho_b)"
        )
    elif hard_b and not virtual_column:
        moved = mass * np.minimum(sa, sb)
        if np.any(sa - moved > 0):
            log_bv = _safe_log(np.maximum(sa - moved, 0.0))
        if np.any(sb - moved > 0):
            log_av = _safe_log(np.maximum(sb - moved, 0.0))
    else:
        moved = mass * sa
        b = b * (moved / sb)[:, None]
        if mass < 1.0:
            log_bv = _safe_log(sa - moved)
    phi_a = 1.0 if hard_a else rho_a / (rho_a + reg)
    phi_b = 1.0 if hard_b else rho_b / (rho_b + reg)
    log_a, log_b = _safe_log(a), _safe_log(b)
    fv, gv = np.zeros(B), np.zeros(B)
    absorb = _stores_kernel(method, C3.nbytes, max_iter, return_plan)
    buffer = np.empty_like(C3) if (absorb or return_plan) else None
    params = _core.transport.SinkhornParams()
    params.eps, params.phi_a, params.phi_b = reg, phi_a, phi_b
    params.max_iter, params.tol = int(max_iter), float(tol)
    params.method = (
        _core.transport.Method.sinkhorn_stabilized
        if absorb
        else _core.transport.Method.sinkhorn_log
    )
    params.write_plan = bool(return_plan)
    params.n_threads = threads
    arrays = (C3, log_a.ravel(), log_b.ravel(), f0.reshape(-1), g0.reshape(-1), fv, gv, params)
    virtual = dict(
        log_av=None if log_av is None else np.ascontiguousarray(log_av),
        log_bv=None if log_bv is None else np.ascontiguousarray(log_bv),
        buffer=buffer,
    )
    if acceleration is None:
        rep = _core.transport.sinkhorn(*arrays, **virtual)
    else:
        acceleration.rho_a, acceleration.rho_b = rho_a, rho_b
        rep = _core.transport.sinkhorn_accelerated(*arrays, acceleration, **virtual)
    return (
        f0,
        g0,
        None if log_av is None else fv,
        None if log_bv is None else gv,
        rep,
        buffer if return_plan else None,
        log_b,
    )


def sinkhorn(
    C,
    a=None,
    b=None,
    *,
    reg,
    reg_m=None,
    mass=None,
    max_iter=1000,
    tol=1e-9,
    f0=None,
    g0=None,
    return_plan=True,
    method="auto",
    epsilon_scaling="auto",
    newton="auto",
    overrelaxation="auto",
    n_jobs=None,
    device="cpu",
):
    """Entropic optimal transport by log-domain Sinkhorn scaling, one problem or a batch.

    Solves ``min_P <C, P> + reg KL(P | a b^T) + rho_a KL(P 1 | a) + rho_b KL(P^T 1 | b)``
    (KL convention, the same problem and potentials as POT's ``ot.sinkhorn(...,
    method="sinkhorn_log")`` and ``ot.unbalanced.sinkhorn_unbalanced(..., reg_type="kl")``).
    Updates, one iteration = a g-update then an f-update, phi = rho / (rho + reg)::

        g_j <- -phi_b reg LSE_i(log a_i + (f_i - C_ij) / reg)
        f_i <- -phi_a reg LSE_j(log b_j + (g_j - C_ij) / reg)
        P_ij = a_i b_j exp((f_i + g_j - C_ij) / reg)

    Never overflows (no NaN or inf for any reg > 0 in float64). Each iteration streams the cost
    matrix (or the stored kernel, see ``method``) once (C++, OpenMP over the problems and fixed
    chunks of rows; the result does not depend on the thread count).

    Parameters
    ----------
    C : array-like of shape (n, m) or (B, n, m)
        Non-negative finite costs; a 3-d array is a batch of B independent problems. float32
        stays float32 (the plan too), anything else becomes float64.
    a, b : array-like of shape (n,) / (m,), or (B, n) / (B, m) for a batch, default uniform
        Non-negative marginals with a positive sum. Balanced problems need sum(a) == sum(b)
        (to a relative 1e-6; b is then rescaled to a's total exactly).
    reg : float
        Entropic regularisation eps > 0, in the units of C.
    reg_m : float, pair of floats or None, default=None
        KL marginal penalties: one number for both sides or (rho_a, rho_b); ``inf`` (or None)
        keeps a side hard. None: balanced. ``(inf, rho)``: semi-relaxed (rows exact).
    mass : float in (0, 1] or None, default=None
        Partial transport. With both sides hard, exactly ``mass * min(sum a, sum b)`` is
        transported, ``P 1 <= a`` and ``P^T 1 <= b`` (entropic version of
        ``ot.partial.partial_wasserstein``; it tends to it as reg -> 0), through a virtual
        column and a virtual row of cost 0. With the columns KL-relaxed (``reg_m=(inf, rho)``)
        it is the P^2OT semi-relaxed setting: the rows are exact, a virtual column receives
        exactly ``(1 - mass) sum a``, the real columns are relaxed towards ``mass * sum a * b /
        sum b``. The sample (row) side must be hard.
    max_iter : int, default=1000
        Iterations per problem (>= 1).
    tol : float, default=1e-9
        Every problem stops on its own when its ``err`` (see :class:`SinkhornResult`) is below
        tol; a stopped problem costs nothing. ``tol=0`` runs exactly max_iter iterations.
    f0, g0 : array-like of shape (n,) / (m,) (or (B, n) / (B, m)), default zeros
        Warm start (KL-convention potentials, e.g. a previous result's f and g).
    return_plan : bool, default=True
        Whether to build the n x m plan (C's memory; one more pass over it).
    method : {"auto", "sinkhorn_log", "sinkhorn_stabilized"}, default="auto"
        How an iteration is computed. The iterates are the same up to rounding: plans agree to
        about 1e-12 relative in float64 (the log domain's exp is accurate to 3e-13).

        - "sinkhorn_log": every iteration evaluates ``exp((f_i + g_j - C_ij) / reg)`` for every
          entry; no memory beyond C and the plan.
        - "sinkhorn_stabilized": stabilised scaling (Schmitzer 2019, POT's
          ``sinkhorn_stabilized``). A log-domain iteration stores the Gibbs kernel with the
          current potentials absorbed, ``K_ij = a_i b_j exp((f_i + g_j - C_ij) / reg)``, in an
          array of C's size (the plan's own array when the plan is returned); the following
          iterations only multiply K by the scalings ``u, v`` (no exp). A problem goes back to
          a log-domain iteration, absorbing u, v into f, g and storing a fresh K, when a
          scaling leaves [1e-100, 1e100] (float32: [1e-15, 1e15]) or a sum gets too small to
          be trusted; it never overflows either. Problems with a zero weight in a or b stay in
          the log domain, and a problem that keeps needing fresh kernels stores them less often.
        - "auto": stabilised when max_iter >= 2 and the kernel array is the returned plan or
          fits in a quarter of the available memory; otherwise the log domain.
    epsilon_scaling : {"auto", True, False}, default="auto"
        Anneal: solve at a decreasing sequence of regularisations from max(C) down to ``reg``,
        each stage warm-started from the previous one and stopped early (its err 1e-2 of the
        mass). Sinkhorn stages divide the regularisation by 4 and run at most 20 iterations;
        when every problem qualifies for ``newton``, the stages are Newton's and divide it by
        10. "auto": when max(C) / reg >= 100, tol > 0 and no warm start is given.
    newton : {"auto", True, False}, default="auto"
        Accelerated tail: Newton's method on the semi-dual at ``reg`` (Levenberg-Marquardt
        damped), before the final Sinkhorn iterations, for every problem whose smaller side has
        k <= 512 points (counting partial transport's virtual point) with (other side) x k^2 <=
        2^28, the side of the unknowns: rows hard for the columns as unknowns, columns hard for
        the rows; all masses positive. A step costs O(k^2) per point of the other side (counted
        as one iteration). "auto": when max(C) / reg >= 100 and tol > 0, for k <= 64 below
        max(C) / reg = 1000.
    overrelaxation : {"auto", True, False}, default="auto"
        Accelerated tail of balanced problems (no ``reg_m``, no ``mass``): Sinkhorn at ``reg``
        with every potential moved omega times its step, omega from the observed linear rate
        theta of plain Sinkhorn, 2 / (1 + sqrt(1 - theta)) at most 1.99, raised as the rate
        slows, halved towards 1 when the violation keeps growing; plain Sinkhorn iterations
        then measure
        ``err`` and build the plan. "auto": with ``newton="auto"``, when max(C) / reg >= 100,
        tol > 0 and no problem of the batch takes the Newton tail; True: also after a Newton
        tail.
    n_jobs : int or None, default=None
        Threads (None: all cores). Never changes the result.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        "cuda": the batched solver on the GPU (docs/algorithms.md, "Sinkhorn on the GPU"); a
        CuPy or PyTorch GPU ``C`` is read in place and the plan returned in its library.
        It warns ``GPUNotValidatedWarning``: it has run under the CPU emulator only. The GPU
        runs plain Sinkhorn iterations: ``epsilon_scaling``, ``newton`` and
        ``overrelaxation`` left at "auto" (or False) are not used there, and True is an error.

    Returns
    -------
    SinkhornResult
        ``(plan, f, g, n_iter, err, converged)``, per problem when C is a batch. With
        the probe, epsilon-scaling, the Newton or the overrelaxed tail, ``n_iter`` counts the
        iterations of every part and every Newton step (at most ``max_iter`` in all), and
        ``err``, ``converged`` are measured by the final plain Sinkhorn iterations at ``reg``,
        as without them.

    Notes
    -----
    From POT: ``ot.sinkhorn(a, b, M, reg, numItermax=1000, stopThr=1e-9, log=False,
    method="sinkhorn")`` is ``sinkhorn(M, a, b, reg=reg, max_iter=numItermax, tol=stopThr)``:

    ==============================  ===========================================================
    POT                             partita
    ==============================  ===========================================================
    ``a, b, M`` (in that order)     ``C, a, b``: the cost matrix first; ``a``/``b`` may be
                                    omitted (uniform); POT's empty ``[]`` is ``None`` here
    ``reg``                         ``reg`` (keyword only), the same eps
    ``numItermax``                  ``max_iter``
    ``stopThr``                     ``tol`` (on the L1 marginal violation ``err``)
    ``log=True`` (dict)             always returned: ``f``, ``g``, ``n_iter``, ``err``,
                                    ``converged`` fields of the result (``log["u"]`` /
                                    ``log["v"]`` are ``a * exp(f / reg)`` /
                                    ``b * exp(g / reg)``)
    return value (the plan)         ``.plan`` (``return_plan=False``: potentials only)
    ``method="sinkhorn"``,          ``method="auto"`` (the same problem and fixed point;
    ``"sinkhorn_log"``,             ``"sinkhorn_stabilized"``, ``"sinkhorn_log"`` choose how
    ``"sinkhorn_stabilized"``       an iteration is computed, never overflowing)
    ``ot.unbalanced.sinkhorn_``     ``reg_m=...`` (``reg_type="kl"``); ``ot.partial``:
    ``unbalanced(a, b, M, reg,``    ``mass=...``
    ``reg_m)``
    ``warmstart=(log_u, log_v)``    ``f0=reg * (log_u - log a)``, ``g0=reg * (log_v - log b)``
    ``sinkhorn_epsilon_scaling``    ``epsilon_scaling=True`` (on by default when max(C) / reg
                                    >= 100, with the Newton tail ``newton``)
    ``ot.sinkhorn2``                ``sinkhorn_loss(...).cost`` (:func:`sinkhorn_loss`)
    ==============================  ===========================================================

    A batch of B problems is a 3-d ``C`` (B, n, m), each with its own marginals.

    POT's ``sinkhorn_log`` returns log-scalings ``u = log a + f / reg``, ``v = log b + g / reg``
    and measures the L2 (not L1) column violation every 10 iterations; compare after a fixed
    number of iterations, or after convergence. float32: the exponent (f + g - C) / reg
    carries C's rounding, about max(C) 6e-8 / reg, so plans are accurate to roughly that
    relative error (1e-3 for max(C) / reg = 1e4); sums are accumulated in float64 and
    potentials are float64 in both precisions. A UserWarning says so when that error exceeds 1%
    (float64: max(C) / reg > 4.5e13).

    Examples
    --------
    >>> import numpy as np
    >>> from partita.transport import sinkhorn
    >>> C = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> r = sinkhorn(C, reg=0.1)
    >>> np.round(r.plan, 4).tolist(), bool(r.converged)
    ([[0.5, 0.0], [0.0, 0.5]], True)
    """
    if resolve_device(device, family="transport", estimator="sinkhorn") == "cuda":
        from . import _transport_cuda

        if True in (
            _check_switch(epsilon_scaling, "epsilon_scaling"),
            _check_switch(newton, "newton"),
            _check_switch(overrelaxation, "overrelaxation"),
        ):
            raise ValueError(
                "epsilon_scaling, newton and overrelaxation run on the CPU only: use "
                "device='cpu', or leave them 'auto' (plain Sinkhorn iterations on the GPU)"
            )
        return _transport_cuda.sinkhorn(
            C,
            a,
            b,
            reg=reg,
            reg_m=reg_m,
            mass=mass,
            max_iter=max_iter,
            tol=tol,
            f0=f0,
            g0=g0,
            return_plan=return_plan,
            method=method,
        )
    reg = _check_reg(reg)
    rho = _check_reg_m(reg_m)
    mass = _check_mass(mass)
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    tol = check_real(tol, "tol", min_value=0)
    if not isinstance(return_plan, (bool, np.bool_)):
        raise ValueError(f"return_plan must be True or False, got {return_plan!r}")
    method = _validation.check_choice(method, "method", _METHODS)
    epsilon_scaling = _check_switch(epsilon_scaling, "epsilon_scaling")
    newton = _check_switch(newton, "newton")
    overrelaxation = _check_switch(overrelaxation, "overrelaxation")
    if mass is not None and not math.isinf(rho[0]):
        raise ValueError(
            "partial transport (mass) needs hard sample (row) marginals: use "
            "reg_m=None or reg_m=(inf, rho_b)"
        )
    threads = n_threads(n_jobs)
    Carr = _check_cost(C)
    batched = Carr.ndim == 3
    C3 = Carr if batched else Carr[None]
    B, n, m = C3.shape
    A = _check_marginal(a, B, n, "a", batched)
    Bm = _check_marginal(b, B, m, "b", batched)
    f = _check_potential(f0, B, n, "f0", batched)
    g = _check_potential(g0, B, m, "g0", batched)
    _check_ranges(C3, A, Bm, f, g, reg)
    below_precision = _warn_if_reg_below_precision(Carr, reg)
    if return_plan:
        _validation.check_fits_in_memory(
            C3.nbytes, f"the {B} x {n} x {m} plan", "use return_plan=False and the potentials f, g"
        )
    if below_precision:  # "auto" cannot help where the plan is not meaningful
        epsilon_scaling = epsilon_scaling is True
        newton = newton is True
        overrelaxation = overrelaxation is True
    acceleration = _acceleration(
        epsilon_scaling,
        newton,
        overrelaxation,
        C3,
        A,
        reg,
        rho,
        mass,
        tol,
        f0 is not None or g0 is not None,
    )
    f, g, _, _, rep, plan, _ = _solve(
        C3,
        A,
        Bm,
        reg,
        rho,
        mass,
        max_iter,
        tol,
        f,
        g,
        threads,
        method=method,
        return_plan=bool(return_plan),
        acceleration=acceleration,
    )
    n_iter = np.array(rep.n_iter, dtype=np.int64)
    err = np.array(rep.err, dtype=np.float64)
    conv = np.array(rep.converged, dtype=bool)
    if below_precision:
        if mass is None and math.isinf(rho[0]) and math.isinf(rho[1]):
            err = _plan_marginal_err(C3, A, Bm, f, g, reg, plan)
            conv &= err < tol
        else:  # a relaxed or partial plan's violation is not measured: nothing certifies it
            conv[:] = False
    if batched:
        return SinkhornResult(plan, f, g, n_iter, err, conv)
    return SinkhornResult(
        None if plan is None else plan[0], f[0], g[0], int(n_iter[0]), float(err[0]), bool(conv[0])
    )


class SinkhornLoss(NamedTuple):
    """Result of :func:`sinkhorn_loss`; per problem (arrays of shape (B,)) when C is a batch.

    cost : float or ndarray (B,)
        The transport cost <C, P> of the entropic plan (POT's ``sinkhorn2``).
    objective : float or ndarray (B,)
        The entropic objective at the plan, ``<C, P> + reg KL(P | a b^T) + rho_a KL(P 1 | a)
        + rho_b KL(P^T 1 | b)`` with the generalised KL(p | q) = sum p log(p / q) - p + q and
        only the finite penalties (POT's ``sinkhorn_unbalanced2(..., returnCost="total")``
        plus the mass terms, which POT's KL leaves out).
        b is the column target the problem uses (rescaled to a's total when balanced, to
        ``mass * sum a`` in the P^2OT setting); for partial transport the plan and its terms
        are those of the real rows and columns.
    n_iter, err, converged : as in :class:`SinkhornResult`.
    """

    cost: object
    objective: object
    n_iter: object
    err: object
    converged: object


def _generalised_kl(p, q):
    """sum p log(p / q) - p + q along the last axis (0 log 0 = 0), float64."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
    return (t - p + q).sum(axis=-1)


def sinkhorn_loss(
    C,
    a=None,
    b=None,
    *,
    reg,
    reg_m=None,
    mass=None,
    max_iter=1000,
    tol=1e-9,
    method="auto",
    epsilon_scaling="auto",
    newton="auto",
    overrelaxation="auto",
    n_jobs=None,
):
    """Transport cost and entropic objective of :func:`sinkhorn`'s plan, one problem or a batch
    (docs/algorithms.md, "Loss and Sinkhorn divergence").

    The cost <C, P> is what POT's ``ot.sinkhorn2`` returns; the objective is POT's
    ``ot.unbalanced.sinkhorn_unbalanced2(..., returnCost="total")`` with the generalised KL
    (POT leaves out its mass terms ``- p + q``).
    The objective is computed from the potentials and the plan's marginals:
    ``reg KL(P | a b^T) = sum_i f_i r_i + sum_j g_j c_j - <C, P> - reg (sum P - sum a sum b)``
    (r, c the plan's row and column sums, up to the rescaling of b), so entries of P that
    underflowed cost nothing and no log of a plan entry is taken.

    Parameters
    ----------
    C, a, b, reg, reg_m, mass, max_iter, tol, method, n_jobs
        As in :func:`sinkhorn` (the plan is built: C's memory once more).
    epsilon_scaling, newton, overrelaxation
        As in :func:`sinkhorn`.

    Returns
    -------
    SinkhornLoss
        ``(cost, objective, n_iter, err, converged)``, per problem when C is a batch.

    Examples
    --------
    >>> import numpy as np
    >>> from partita.transport import sinkhorn_loss
    >>> C = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> loss = sinkhorn_loss(C, reg=0.1)
    >>> round(loss.cost, 6), round(loss.objective, 6)
    (4.5e-05, 0.06931)
    """
    r = sinkhorn(
        C,
        a,
        b,
        reg=reg,
        reg_m=reg_m,
        mass=mass,
        max_iter=max_iter,
        tol=tol,
        method=method,
        epsilon_scaling=epsilon_scaling,
        newton=newton,
        overrelaxation=overrelaxation,
        n_jobs=n_jobs,
    )
    Carr = _check_cost(C)
    batched = Carr.ndim == 3
    C3 = Carr if batched else Carr[None]
    B, n, m = C3.shape
    A = _check_marginal(a, B, n, "a", batched)
    Bm = _check_marginal(b, B, m, "b", batched)
    reg = float(reg)
    rho = _check_reg_m(reg_m)
    mass = _check_mass(mass)
    sa, sb = A.sum(axis=1), Bm.sum(axis=1)
    target = Bm  # the column target the kernel used (see _solve)
    if mass is None and math.isinf(rho[0]) and math.isinf(rho[1]):
        target = Bm * (sa / sb)[:, None]
    elif mass is not None and not math.isinf(rho[1]):
        target = Bm * (mass * sa / sb)[:, None]
    P = np.asarray(r.plan, dtype=np.float64).reshape(B, n, m)
    f = np.asarray(r.f).reshape(B, n)
    g = np.asarray(r.g).reshape(B, m)
    cost = np.einsum("bij,bij->b", P, C3.astype(np.float64, copy=False))
    rows, cols = P.sum(axis=2), P.sum(axis=1)
    # sum P log(P / (a target^T)) from log P = log a + log target + (f + g - C) / reg
    entropy_term = (np.einsum("bi,bi->b", f, rows) + np.einsum("bj,bj->b", g, cols) - cost) / reg
    objective = cost + reg * (entropy_term - rows.sum(axis=1) + sa * target.sum(axis=1))
    if not math.isinf(rho[0]):
        objective = objective + rho[0] * _generalised_kl(rows, A)
    if not math.isinf(rho[1]):
        objective = objective + rho[1] * _generalised_kl(cols, target)
    if batched:
        return SinkhornLoss(cost, objective, r.n_iter, r.err, r.converged)
    return SinkhornLoss(float(cost[0]), float(objective[0]), r.n_iter, r.err, r.converged)


_DIVERGENCE_METRICS = ("sqeuclidean", "euclidean")
_DIVERGENCE_LOSSES = ("objective", "cost")


def _point_costs(X, Y, metric):
    """Pairwise costs (B, n, m) of the point clouds X (B, n, d) and Y (B, m, d), float64."""
    sq = (
        np.einsum("bid,bid->bi", X, X)[:, :, None]
        + np.einsum("bjd,bjd->bj", Y, Y)[:, None, :]
        - 2.0 * np.einsum("bid,bjd->bij", X, Y)
    )
    np.maximum(sq, 0.0, out=sq)
    return np.sqrt(sq) if metric == "euclidean" else sq


def _check_points(X, name):
    arr = np.asarray(as_numpy(X))
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real")
    if arr.ndim not in (2, 3) or arr.size == 0 or min(arr.shape) == 0:
        raise ValueError(f"{name} must have shape (n, d) or (B, n, d), got shape {arr.shape}")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def sinkhorn_divergence(
    X,
    Y,
    a=None,
    b=None,
    *,
    reg,
    metric="sqeuclidean",
    loss="objective",
    max_iter=1000,
    tol=1e-9,
    epsilon_scaling="auto",
    newton=True,
    n_jobs=None,
):
    """Sinkhorn divergence between two weighted point clouds, one pair or a batch
    (docs/algorithms.md, "Loss and Sinkhorn divergence").

    ``S(a, b) = L(X, Y) - (L(X, X) + L(Y, Y)) / 2`` (Genevay et al. 2018; Feydy et al. 2019),
    each L a balanced :func:`sinkhorn_loss` on the pairwise costs. With ``loss="objective"``
    (default) L is the entropic objective, and S is the debiased divergence of Feydy et al.:
    non-negative, zero for equal clouds. ``loss="cost"`` uses the transport cost <C, P>, as POT's
    ``ot.bregman.empirical_sinkhorn_divergence`` does (which also clips the result at 0).

    Parameters
    ----------
    X : array-like of shape (n, d) or (B, n, d)
        The first point cloud(s).
    Y : array-like of shape (m, d) or (B, m, d)
        The second point cloud(s), with the same d (and B).
    a, b : array-like of shape (n,) / (m,), or (B, n) / (B, m), default uniform
        Weights of the points; sum(a) == sum(b).
    reg : float
        Entropic regularisation, in the units of the costs.
    metric : {"sqeuclidean", "euclidean"}, default="sqeuclidean"
        The cost of moving a unit of mass from x to y: ||x - y||^2 or ||x - y||.
    loss : {"objective", "cost"}, default="objective"
        Which value of :class:`SinkhornLoss` the divergence is built from.
    max_iter, tol, epsilon_scaling, n_jobs
        As in :func:`sinkhorn`, for each of the three problems.
    newton : {"auto", True, False}, default=True
        As in :func:`sinkhorn`, but on by default: in the self-transport problems L(X, X) each
        point sends its mass mostly to itself, a weak coupling under which Sinkhorn converges
        slowly even for moderate max(C) / reg (it applies to clouds of up to 512 points).

    Returns
    -------
    divergence : float or ndarray of shape (B,)
        One value per pair of clouds. A ConvergenceWarning says when one of the three problems
        did not reach ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> from partita.transport import sinkhorn_divergence
    >>> X = np.array([[0.0], [1.0]])
    >>> round(sinkhorn_divergence(X, X + 1.0, reg=0.1), 6)
    1.0
    """
    metric = _validation.check_choice(metric, "metric", _DIVERGENCE_METRICS)
    loss = _validation.check_choice(loss, "loss", _DIVERGENCE_LOSSES)
    Xa, Ya = _check_points(X, "X"), _check_points(Y, "Y")
    if Xa.ndim != Ya.ndim or Xa.shape[-1] != Ya.shape[-1] or Xa.shape[:-2] != Ya.shape[:-2]:
        raise ValueError(
            f"X and Y must both be (n, d) / (m, d) or (B, n, d) / (B, m, d) with the same B and "
            f"d, got shapes {Xa.shape} and {Ya.shape}"
        )
    batched = Xa.ndim == 3
    X3, Y3 = (Xa, Ya) if batched else (Xa[None], Ya[None])
    kw = dict(
        reg=reg,
        max_iter=max_iter,
        tol=tol,
        epsilon_scaling=epsilon_scaling,
        newton=newton,
        n_jobs=n_jobs,
    )
    values, converged = [], True
    for P, Q, wp, wq in ((X3, Y3, a, b), (X3, X3, a, a), (Y3, Y3, b, b)):
        C = _point_costs(P, Q, metric)
        r = sinkhorn_loss(C if batched else C[0], wp, wq, **kw)
        values.append(np.asarray(getattr(r, loss), dtype=np.float64))
        converged = converged and bool(np.all(r.converged))
    if not converged:
        warnings.warn(
            f"sinkhorn_divergence: a transport problem did not reach tol={tol:g} in "
            f"max_iter={max_iter} iterations; increase max_iter or reg",
            ConvergenceWarning,
            stacklevel=2,
        )
    div = values[0] - 0.5 * (values[1] + values[2])
    return div if batched else float(div)


def equipartition(scores, *, reg=0.05, n_iter=3, n_jobs=None, device="cpu"):
    """Equipartition pseudo-labels from a score matrix (SwAV / SeLa), by a few Sinkhorn steps.

    Reproduces SwAV's ``distributed_sinkhorn`` (Caron et al., 2020: ``epsilon=0.05``,
    ``sinkhorn_iterations=3``) on one device: ``Q = exp(scores / reg)``, then ``n_iter`` times
    scale the columns (prototypes) to 1/K and the rows (samples) to 1/N; returns ``N Q``, whose
    rows sum to 1. SeLa (Asano et al., 2020) is the same step run to convergence with
    ``reg = 1 / lambda`` (lambda = 25: ``reg=0.04``; use a large n_iter). It is exactly
    ``N * sinkhorn(scores.max() - scores, reg=reg, max_iter=n_iter, tol=0).plan`` (uniform
    marginals; a constant shift of the costs does not change the plan), computed in the log
    domain, so small reg does not overflow.

    Parameters
    ----------
    scores : array-like of shape (N, K) or (B, N, K)
        Similarities of N samples to K prototypes (higher = closer); finite.
    reg : float, default=0.05
        Entropic regularisation (SwAV's epsilon).
    n_iter : int, default=3
        Sinkhorn iterations (one column and one row normalisation each).
    n_jobs : int or None, default=None
    device : {"cpu", "cuda", "auto"}, default="cpu"
        "cuda": on the GPU (warns ``GPUNotValidatedWarning``); GPU scores (CuPy, PyTorch) stay
        there and Q is returned in their library.

    Returns
    -------
    Q : ndarray of shape (N, K) (or (B, N, K)), float32 for float32 scores else float64
        Soft assignments; rows sum to 1 and columns to N / K (exactly, after enough iterations).
    """
    if resolve_device(device, family="transport", estimator="equipartition") == "cuda":
        from . import _transport_cuda

        return _transport_cuda.equipartition(scores, reg=reg, n_iter=n_iter)
    S = np.asarray(as_numpy(scores))
    _validation.check_real_dtype(S, "scores")
    if S.ndim not in (2, 3) or S.size == 0:
        raise ValueError(f"scores must have shape (N, K) or (B, N, K), got {S.shape}")
    S = np.asarray(S, dtype=_validation.float_dtype(S))
    if not np.all(np.isfinite(S)):
        raise ValueError("scores contain NaN or infinity")
    n_iter = check_int(n_iter, "n_iter", min_value=1)
    top = S.max(axis=(-2, -1), keepdims=True)
    C = np.ascontiguousarray(top - S)
    r = sinkhorn(
        C,
        reg=reg,
        max_iter=n_iter,
        tol=0.0,
        epsilon_scaling=False,
        newton=False,
        n_jobs=n_jobs,
    )
    return (r.plan * S.shape[-2]).astype(S.dtype, copy=False)


# ---- the estimator -------------------------------------------------------------------------


def _assignment_tol(tol, sinkhorn_tol):
    """The tolerance of every assignment step: sinkhorn_tol, tightened for small ``tol`` so
    that the error of an inexact plan cannot move the centres by as much as the stopping rule
    allows. A plan error delta moves a centre by about delta (relative to the data's spread), a
    squared shift of delta^2; 1e-3 sqrt(tol) keeps that a millionth of ``tol`` and leaves the
    default (tol=1e-4: 1e-5 > sinkhorn_tol=1e-6) unchanged. tol=0: as exact as float64 allows."""
    return min(sinkhorn_tol, max(1e-3 * math.sqrt(tol), 1e-12))


def _sq_dist(X, centres, threads):
    """||x_i - c_j||^2 (n, k) in float64, summed over the features in order: the kernel of the
    Lloyd iterations, so that predict gives exactly the fitted labels."""
    X64 = np.ascontiguousarray(X, dtype=np.float64)
    C = np.ascontiguousarray(centres, dtype=np.float64)
    return _core.transport.centre_distances(X64, C, threads)


class _LloydSetup(NamedTuple):
    """What every Lloyd iteration of one fit of SinkhornKMeans uses."""

    a: np.ndarray  # sample weights / their sum
    cw: np.ndarray  # the cluster fractions
    eps: float
    rho: float  # inf: hard cluster sizes
    mass: float
    log_b: np.ndarray  # Newton's column log-masses
    log_bv: object  # the virtual cluster's log mass (mass < 1), else None
    newton: bool  # few enough clusters for Newton's method
    threads: int
    assign_tol: float
    tol_abs: float
    max_iter: int


def _newton_masses(a, cw, rho, mass):
    """The column log-masses of Newton's semi-dual (and the virtual cluster's, mass < 1)."""
    total = float(a.sum())
    if mass < 1.0:
        return _safe_log(cw * (mass * total / cw.sum())), math.log(total * (1.0 - mass))
    return _safe_log(cw * (total / cw.sum()) if math.isinf(rho) else cw), None


class SinkhornKMeans(
    ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator
):
    """k-means with an optimal-transport assignment step (balanced or size-constrained
    clustering, with an optional reject option).

    Lloyd's iterations (docs/algorithms.md, "SinkhornKMeans"), in C++ up to 64 clusters:
    (1) C_ij = ||x_i - c_j||^2;
    (2) solve the entropic
    OT between the samples (weights a = sample_weight / sum) and the clusters (weights
    b = cluster_weights, uniform by default) in C++, warm-started from the previous
    potentials; (3) c_j = sum_i P_ij x_i / sum_i P_ij. The OT step: up to 64 clusters (65 with
    the virtual one), Newton's method on the semi-dual, whose unknowns are the k cluster
    potentials (each step one pass over the n x k costs and a k x k solve; about ten steps even
    for well-separated clusters, where Sinkhorn's convergence collapses; when it has not
    converged in 100 steps, Sinkhorn continues from its potentials); above, Sinkhorn
    (:func:`sinkhorn`). Both reach the same solution. Stops when the squared
    centre shift is at most ``tol`` times the mean feature variance (as scikit-learn's KMeans;
    ``tol=0``: when the labels stop changing).
    A final assignment step with the final centres gives the labels and the potentials.

    Parameters
    ----------
    n_clusters : int, default=8
    reg : float, default=0.05
        Entropic regularisation, relative to the data's scale: eps = reg * (weighted mean
        squared distance of the samples to their mean), stored as ``epsilon_``. Smaller is
        harder (closer to a hard balanced assignment) and needs more Sinkhorn iterations.
    cluster_weights : array-like of shape (n_clusters,) or None, default=None
        Target fractions of the clusters (normalised to sum 1); None: equal sizes.
    reg_m : float or None, default=None
        KL relaxation of the cluster sizes (relative to the same scale as reg); None: the sizes
        are exact (balanced). The samples' marginal is always exact.
    mass : float in (0, 1], default=1.0
        Fraction of the total sample weight assigned to the clusters; the rest goes to a
        virtual cluster of cost 0 (P^2OT), and samples whose mass goes mostly there get label -1
        (the ones farthest from every centre, relative to the cluster prices).
    init : {"k-means++", "random"} or array of shape (n_clusters, n_features), default="k-means++"
    n_init : int, default=1
        Initialisations; the run with the lowest transport cost <C, P> is kept. With an array
        ``init`` one run is made (a RuntimeWarning says so when n_init > 1).
    max_iter : int, default=100
        Lloyd iterations per run; stopping there before converging gives a
        ConvergenceWarning.
    tol : float, default=1e-4
        A run stops when the squared centre shift is at most ``tol`` times the mean feature
        variance; ``tol=0``: when the labels stop changing. Every assignment is solved to
        ``min(sinkhorn_tol, max(1e-3 sqrt(tol), 1e-12))``, so that its error cannot move the
        centres by as much as ``tol`` allows (a refit from the fitted centres stays put).
    sinkhorn_max_iter : int, default=1000
        Newton steps (up to 64 clusters) or Sinkhorn iterations per assignment step.
    sinkhorn_tol : float, default=1e-6
        Tolerance of each assignment: the L1 violation of the cluster sizes (as fractions of
        the total weight; with reg_m, of their optimality condition) for Newton; ``err`` of
        :func:`sinkhorn` otherwise.
    random_state : int, RandomState instance or None, default=None
    n_jobs : int or None, default=None
        Threads of the compiled Lloyd iterations and of the Sinkhorn kernel (None: all cores).
        Never changes the result.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Only "cpu" has kernels so far; "cuda" raises ValueError.
    verbose : int, default=0
        Print every Lloyd iteration (centre shift, Sinkhorn iterations and marginal error) and
        every run's result (the iterations of the compiled loop when it returns).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        argmax_j of the final plan's row (the virtual cluster included: -1), which equals
        ``predict(X)``.
    cluster_potentials_ : ndarray of shape (n_clusters,)
        Cluster prices g_j (plain convention: P_ij is proportional to exp((g_j - C_ij) / eps)
        within a row; the KL-convention potential plus eps log b_j).
    unassigned_potential_ : float or None
        Price of the virtual cluster (cost 0) when mass < 1.
    cluster_sizes_ : ndarray of shape (n_clusters,)
        Sample weight transported to every cluster (sum_i P_ij times the total weight).
    inertia_ : float
        Weighted sum of squared distances of the assigned samples to their centre; NaN (with a
        UserWarning) when no sample is assigned (mass < 1).
    transport_cost_ : float
        <C, P> of the final assignment, times the total weight.
    epsilon_ : float
        The absolute entropic regularisation used.
    n_iter_ : int
        Lloyd iterations of the kept run.
    converged_ : bool
        Whether the kept run met its stopping rule (``tol``) before ``max_iter``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Notes
    -----
    ``predict(X) = argmin_j (C_ij - g_j)`` (with the virtual cluster's cost 0 and price when
    mass < 1) keeps the learned prices, so the balance carries over to new data from the same
    distribution; ``predict_proba(X) = softmax_j((g_j - C_ij) / eps)`` over the real clusters;
    ``transform(X)`` returns the squared distances C.

    Examples
    --------
    >>> import numpy as np
    >>> from partita import SinkhornKMeans
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    >>> km = SinkhornKMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(np.bincount(km.labels_).tolist())
    [3, 3]
    """

    _parameter_constraints = {
        "n_clusters": [Integer(1)],
        "reg": [Real(0, inclusive="neither")],
        "cluster_weights": [None, "array-like"],
        "reg_m": [None, Real(0, inclusive="neither", allow_inf=True)],
        "mass": [Real(0, 1, inclusive="right")],
        "init": [Options("k-means++", "random"), "array-like"],
        "n_init": [Integer(1)],
        "max_iter": [Integer(1)],
        "tol": [Real(0)],
        "sinkhorn_max_iter": [Integer(1)],
        "sinkhorn_tol": [Real(0)],
        "random_state": ["random_state"],
        "n_jobs": [None, Integer()],
        "device": [Options("cpu", "cuda", "auto")],
        "verbose": [Integer(0)],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        reg=0.05,
        cluster_weights=None,
        reg_m=None,
        mass=1.0,
        init="k-means++",
        n_init=1,
        max_iter=100,
        tol=1e-4,
        sinkhorn_max_iter=1000,
        sinkhorn_tol=1e-6,
        random_state=None,
        n_jobs=None,
        device="cpu",
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.reg = reg
        self.cluster_weights = cluster_weights
        self.reg_m = reg_m
        self.mass = mass
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.sinkhorn_max_iter = sinkhorn_max_iter
        self.sinkhorn_tol = sinkhorn_tol
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "cluster_centers_")

    def _validate_X(self, X, reset):
        X = validate_data(
            self,
            as_numpy(X),
            reset=reset,
            accept_sparse=False,
            dtype=[np.float64, np.float32],
            order="C",
            ensure_min_samples=1,
        )
        if reset:
            warn_if_distance_matrix(
                X, n_threads(self.n_jobs), hint="SinkhornKMeans clusters the rows of X as points."
            )
        _validation.check_feature_range(X)
        return X

    def _check_params(self, n_samples, n_features):
        """The checks that relate the parameters to the data (validate_params has run)."""
        k = check_n_clusters(self.n_clusters, n_samples)
        reg = float(self.reg)
        reg_m = math.inf if self.reg_m is None else float(self.reg_m)
        mass = float(self.mass)
        if self.cluster_weights is None:
            cw = np.full(k, 1.0 / k)
        else:
            cw = np.asarray(as_numpy(self.cluster_weights), dtype=np.float64)
            if cw.shape != (k,):
                raise ValueError(f"cluster_weights.shape == {cw.shape}, expected ({k},)")
            if not np.all(np.isfinite(cw)) or np.any(cw <= 0):
                raise ValueError("cluster_weights must be positive and finite")
            cw = cw / cw.sum()
        if not isinstance(self.init, str):
            init = np.asarray(as_numpy(self.init), dtype=np.float64)
            if init.shape != (k, n_features) or not np.all(np.isfinite(init)):
                raise ValueError(
                    f"init as an array must be finite with shape ({k}, {n_features}),"
                    f" got {init.shape}"
                )
        resolve_device(self.device, family="transport", estimator=type(self).__name__)
        return k, reg, reg_m, mass, cw

    def _assign_sinkhorn(self, D, s, g0, f0):
        """The assignment on squared distances D (n, k) by Sinkhorn, from the potentials g0
        (KL convention, the virtual cluster's last) and f0 (or zeros): above 64 clusters, or
        where Newton's method stopped short of its tolerance. Returns (P, g_plain, gv_plain,
        g_kl, f, report); g_kl and f are the warm start of the next call."""
        k = D.shape[1]
        partial = s.mass < 1.0
        C3 = np.ascontiguousarray(D[None])
        f0 = np.zeros((1, D.shape[0])) if f0 is None else np.array(f0[None], dtype=np.float64)
        g0 = np.array(g0[None, :k], dtype=np.float64)
        f, g, _, gv, rep, P, log_b = _solve(
            C3,
            s.a[None],
            s.cw[None],
            s.eps,
            (math.inf, s.rho),
            s.mass if partial else None,
            int(self.sinkhorn_max_iter),
            s.assign_tol,
            f0,
            g0,
            s.threads,
            virtual_column=True,
            return_plan=True,
        )
        P = P[0]
        g_plain = g[0] + s.eps * log_b[0]
        gv_plain = None
        g_kl = g[0]
        if gv is not None:
            with np.errstate(divide="ignore"):
                gv_plain = float(gv[0] + s.eps * np.log(s.a.sum() * (1.0 - s.mass)))
            g_kl = np.append(g_kl, gv[0])
        report = _AssignmentReport(int(rep.n_iter[0]), float(rep.err[0]), bool(rep.converged[0]))
        return P, g_plain, gv_plain, np.array(g_kl, dtype=np.float64), f[0], report

    def _compiled_iterations(self, X64, centres, g, labels, done, final, s):
        """Lloyd's iterations from iteration done + 1 in C++ with Newton's assignments (only
        the final assignment when ``final``); centres and g are updated in place."""
        p = _core.transport.LloydParams()
        p.eps, p.rho = s.eps, s.rho
        p.virtual_column = s.log_bv is not None
        if s.log_bv is not None:
            p.log_bv = s.log_bv
        p.first_iteration = done + 1
        p.max_iter = s.max_iter
        p.final_only = final
        p.shift_tol = s.tol_abs
        p.labels_rule = self.tol == 0
        p.newton_max_iter = min(int(self.sinkhorn_max_iter), _NEWTON_MAX_STEPS)
        p.assign_tol = s.assign_tol
        p.n_threads = s.threads
        return _core.transport.lloyd(X64, s.a, s.log_b, centres, g, labels, p)

    def _print_iteration(self, run, n_iter, shift, steps, err, tol_abs):
        print(
            f"[SinkhornKMeans] run {run + 1}, iteration {n_iter}: centre shift "
            f"{shift:.6g} (tol {tol_abs:.3g}); Sinkhorn {steps} "
            f"iterations, error {err:.3g}"
        )

    def _finish_iteration(self, X64, centres, D, P, g_plain, gv_plain, labels, rep, run, it, s):
        """The rest of an iteration whose assignment Sinkhorn made: the labels rule (tol=0), the
        centre update. Returns (stop, labels)."""
        if self.tol == 0:  # stop when the labels stop changing (as KMeans' tol=0)
            previous, labels = labels, self._labels(D, g_plain, gv_plain)
            if previous is not None and np.array_equal(previous, labels):
                return True, labels
        shift = _core.transport.update_centres(X64, P, centres, s.threads)
        if self.verbose:
            self._print_iteration(run, it, shift, rep.n_iter, rep.err, s.tol_abs)
        return shift <= s.tol_abs and self.tol > 0, labels

    def _lloyd_run(self, X64, centres, run, s):
        """One run from the given centres (updated in place): Lloyd's iterations and the final
        assignment. Up to 64 clusters they run in C++ with Newton's assignments; an assignment
        that Newton leaves short of its tolerance is finished by Sinkhorn here, and the loop
        resumes in C++ at the next iteration. Returns (D, P, g_plain, gv_plain, n_iter, report,
        converged) of the final assignment."""
        k = centres.shape[0]
        g = np.zeros(k + (s.log_bv is not None))
        f = labels = None
        n_iter, converged, final = 0, False, False
        while True:
            if s.newton:
                r = self._compiled_iterations(X64, centres, g, labels, n_iter, final, s)
                if self.verbose:
                    for i, (shift, steps, err) in enumerate(zip(r.shift, r.steps, r.err)):
                        self._print_iteration(run, n_iter + 1 + i, shift, steps, err, s.tol_abs)
                n_iter, final, labels = r.n_iter, r.final, r.labels
                converged = converged or r.converged
                D, out = r.costs, r.assignment
                if out.converged:  # only the final assignment returns converged
                    rep = _AssignmentReport(int(out.n_iter), float(out.err), True)
                    g_plain = g[:k] + s.eps * s.log_b
                    gv_plain = float(g[k] + s.eps * s.log_bv) if s.log_bv is not None else None
                    return D, out.plan, g_plain, gv_plain, n_iter, rep, converged
                f = out.f  # rare (degenerate problems): Sinkhorn takes over from here
            else:
                n_iter += not final
                D = _sq_dist(X64, centres, s.threads)
            P, g_plain, gv_plain, g, f, rep = self._assign_sinkhorn(D, s, g, f)
            if final:
                return D, P, g_plain, gv_plain, n_iter, rep, converged
            stop, labels = self._finish_iteration(
                X64, centres, D, P, g_plain, gv_plain, labels, rep, run, n_iter, s
            )
            converged = stop
            final = stop or n_iter == s.max_iter

    @staticmethod
    def _labels(D, g_plain, gv_plain):
        """argmin_j (C_ij - g_j); -1 where the virtual cluster (cost 0) is cheaper."""
        E = D - g_plain[None, :]
        labels = np.argmin(E, axis=1).astype(np.int64)
        if gv_plain is not None:
            labels[-gv_plain < E[np.arange(E.shape[0]), labels]] = -1
        return labels

    def fit(self, X, y=None, sample_weight=None):
        """Cluster X (sample_weight: non-negative weights, the samples' marginal)."""
        return fit_or_leave_unfitted(self, self._fit, X, sample_weight)

    def _initial_centres(self, X64, k, w, rng):
        """The first centres of one run: k-means++ (weighted), k distinct random samples, or
        the given array."""
        if isinstance(self.init, str) and self.init == "k-means++":
            centres, _ = kmeans_plusplus(
                X64, k, sample_weight=w, random_state=rng.randint(2**31 - 1)
            )
            return centres
        if isinstance(self.init, str):
            idx = rng.choice(X64.shape[0], k, replace=False, p=None)
            return X64[idx].copy()
        return np.array(as_numpy(self.init), dtype=np.float64)

    def _warn_after_fit(self, rep, converged, assign_tol, centres, k, D, eps):
        """The warnings of the kept run: reg below the precision of the final distances, the
        final assignment or Lloyd's iterations not converged, or coincident centres."""
        spread = float(D.max()) * float(np.finfo(np.float64).eps) / eps
        if spread > 0.01:  # as sinkhorn's check: the exponents (g - D) / eps carry D's rounding
            warnings.warn(
                f"reg={self.reg!r} (epsilon_={eps:g}) is below the precision of the squared "
                f"distances (max {float(D.max()):g}): the exponents carry a rounding error of "
                f"about {spread:.2g}, so the plan, cluster_sizes_ and labels_ are not "
                "meaningful; increase reg",
                UserWarning,
                stacklevel=5,
            )
        if not rep.converged:
            warnings.warn(
                f"the final OT assignment did not reach its tolerance {assign_tol:g} "
                f"(sinkhorn_tol={self.sinkhorn_tol}, tightened by tol={self.tol}) in "
                f"sinkhorn_max_iter={self.sinkhorn_max_iter} iterations (violation "
                f"{rep.err:.3g}); increase sinkhorn_max_iter or reg",
                ConvergenceWarning,
                stacklevel=5,
            )
        if not converged:
            warnings.warn(
                f"SinkhornKMeans stopped after max_iter={self.max_iter} iterations "
                f"before converging (tol={self.tol}); increase max_iter",
                ConvergenceWarning,
                stacklevel=5,
            )
        # Soft assignments give every cluster its mass even when argmax labels skip some; the
        # degenerate case is coincident centres (which stay coincident, sharing their mass).
        found = np.unique(centres, axis=0).shape[0]
        if found < k:
            warnings.warn(
                f"Number of distinct clusters ({found}) found smaller than n_clusters "
                f"({k}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _fit(self, X, sample_weight):
        validate_params(self)
        if resolve_device(self.device, family="transport", estimator=type(self).__name__) == "cuda":
            from . import _transport_cuda

            return _transport_cuda.fit_sinkhorn_kmeans(self, X, sample_weight)
        X = self._validate_X(X, reset=True)
        n, d = X.shape
        k, reg, reg_m, mass, cw = self._check_params(n, d)
        w = check_sample_weight(sample_weight, n)
        check_weight_scale(w, small=False)  # k-means++ weighs squared distances by them
        total = float(w.sum())
        a = w / total
        threads = n_threads(self.n_jobs)
        rng = check_random_state(self.random_state)
        X64 = np.ascontiguousarray(X, dtype=np.float64)
        mean = np.einsum("i,ij->j", a, X64)
        scale = float(np.einsum("i,i->", a, _sq_dist(X64, mean[None], threads)[:, 0]))
        if not scale > 0:
            scale = 1.0  # all samples coincide: any eps gives the same (trivial) clustering
        eps = reg * scale
        if not (reg >= _MIN_RELATIVE_REG and eps >= _MIN_RELATIVE_REG):
            raise ValueError(
                f"reg={reg:g} gives epsilon_={eps:g} (reg times the data's variance): both must "
                f"be at least {_MIN_RELATIVE_REG:g}, or the exponents (g - D) / epsilon overflow"
            )
        rho = math.inf if math.isinf(reg_m) else reg_m * scale
        var = float(np.mean(np.einsum("i,ij->j", a, (X64 - mean) ** 2)))
        tol_abs = float(self.tol) * var
        assign_tol = _assignment_tol(float(self.tol), float(self.sinkhorn_tol))
        n_init = int(self.n_init)
        if not isinstance(self.init, str) and n_init > 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"SinkhornKMeans instead of n_init={n_init}.",
                RuntimeWarning,
                stacklevel=4,
            )
            n_init = 1

        if self.verbose:
            print(f"[SinkhornKMeans] {n} samples, {k} clusters, epsilon {eps:.6g}")
        log_b, log_bv = _newton_masses(a, cw, rho, mass)
        setup = _LloydSetup(
            a,
            cw,
            eps,
            rho,
            mass,
            log_b,
            log_bv,
            k + (mass < 1.0) <= _NEWTON_MAX_COLUMNS,
            threads,
            assign_tol,
            tol_abs,
            int(self.max_iter),
        )
        best = None
        for run in range(n_init):
            t0 = time.perf_counter()
            centres = np.array(self._initial_centres(X64, k, w, rng), dtype=np.float64, order="C")
            D, P, g_plain, gv_plain, n_iter, rep, converged = self._lloyd_run(
                X64, centres, run, setup
            )
            cost = float(np.einsum("ij,ij->", D, P))
            if self.verbose:
                print(
                    f"[SinkhornKMeans] run {run + 1}/{self.n_init}: {n_iter} iterations, "
                    f"transport cost {cost * total:.6g}, {time.perf_counter() - t0:.3f} s"
                )
            if best is None or cost < best[0]:
                best = (cost, centres, P, D, g_plain, gv_plain, n_iter, rep, converged)

        cost, centres, P, D, g_plain, gv_plain, n_iter, rep, converged = best
        self._warn_after_fit(rep, converged, assign_tol, centres, k, D, eps)
        labels = self._labels(D, g_plain, gv_plain)
        self.cluster_centers_ = centres.astype(X.dtype)
        self._centres64 = centres
        self.labels_ = labels
        self.cluster_potentials_ = g_plain
        self.unassigned_potential_ = gv_plain
        self.cluster_sizes_ = P.sum(axis=0) * total
        assigned = labels >= 0
        self.inertia_ = float(np.dot(w[assigned], D[assigned, labels[assigned]]))
        if not assigned.any():  # an inertia of 0.0 would read as a perfect fit
            self.inertia_ = math.nan
            warnings.warn(
                f"no sample was assigned to a cluster (mass={mass:g}, n_clusters={k}): every "
                "label is -1 and inertia_ is NaN; increase mass or decrease n_clusters",
                UserWarning,
                stacklevel=4,
            )
        self.transport_cost_ = cost * total
        self.epsilon_ = eps
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        self._n_features_out = k
        return self

    def transform(self, X):
        """Squared euclidean distances to the cluster centres, shape (n_samples, n_clusters)."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        D = _sq_dist(X, self._centres64, n_threads(self.n_jobs))
        return D.astype(X.dtype, copy=False)

    def predict(self, X):
        """argmin_j (||x - c_j||^2 - g_j) with the learned prices g; -1 (unassigned) where the
        virtual cluster is cheaper (mass < 1)."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        D = _sq_dist(X, self._centres64, n_threads(self.n_jobs))
        return self._labels(D, self.cluster_potentials_, self.unassigned_potential_)

    def fit_predict(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).labels_

    def predict_proba(self, X):
        """Soft assignment softmax_j((g_j - ||x - c_j||^2) / eps) over the real clusters; rows
        sum to 1."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        D = _sq_dist(X, self._centres64, n_threads(self.n_jobs))
        Z = (self.cluster_potentials_[None, :] - D) / self.epsilon_
        Z -= Z.max(axis=1, keepdims=True)
        E = np.exp(Z)
        return E / E.sum(axis=1, keepdims=True)

    def score(self, X, y=None, sample_weight=None):
        """Negative weighted sum of squared distances of the assigned samples to the centre of
        their predicted cluster (equals -inertia_ on the training data)."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        D = _sq_dist(X, self._centres64, n_threads(self.n_jobs))
        labels = self._labels(D, self.cluster_potentials_, self.unassigned_potential_)
        w = check_sample_weight(sample_weight, D.shape[0])
        ok = labels >= 0
        return -float(np.dot(w[ok], D[ok, labels[ok]]))


def sinkhorn_points(
    X,
    Y,
    a=None,
    b=None,
    *,
    reg,
    reg_m=None,
    mass=None,
    max_iter=1000,
    tol=1e-9,
    f0=None,
    g0=None,
    return_plan=False,
    device="cpu",
):
    """:func:`sinkhorn` between two point clouds, on the cost C_ij = ||x_i - y_j||^2.

    On the GPU (``device="cuda"``) the cost is recomputed in tiles at every pass and never
    stored (docs/algorithms.md, "Sinkhorn on the GPU"), so problems whose cost does not fit in
    memory can be solved; CuPy / PyTorch point clouds are read in place. On the CPU the cost is
    built (float64 sums of squared differences) and :func:`sinkhorn` solves it.

    Parameters
    ----------
    X : array-like of shape (n, d) or (B, n, d)
        The row points (at most 16 coordinates on the GPU).
    Y : array-like of shape (m, d) or (B, m, d)
        The column points.
    a, b : array-like, default uniform
        Marginals, as in :func:`sinkhorn`.
    reg : float
        Entropic regularisation, in the units of the squared distances.
    reg_m, mass, max_iter, tol, f0, g0 :
        As in :func:`sinkhorn`.
    return_plan : bool, default=False
        Whether to build the n x m plan.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        "cuda" warns ``GPUNotValidatedWarning`` (it has run under the CPU emulator only).

    Returns
    -------
    SinkhornResult
        As :func:`sinkhorn`'s.
    """
    if resolve_device(device, family="transport", estimator="sinkhorn_points") == "cuda":
        from . import _transport_cuda

        return _transport_cuda.sinkhorn_points(
            X,
            Y,
            a,
            b,
            reg=reg,
            reg_m=reg_m,
            mass=mass,
            max_iter=max_iter,
            tol=tol,
            f0=f0,
            g0=g0,
            return_plan=return_plan,
        )
    P, Q = np.asarray(as_numpy(X)), np.asarray(as_numpy(Y))
    _validation.check_real_dtype(P, "X")
    _validation.check_real_dtype(Q, "Y")
    P, Q = P.astype(np.float64, copy=False), Q.astype(np.float64, copy=False)
    if P.ndim not in (2, 3) or Q.ndim != P.ndim or P.shape[-1] != Q.shape[-1]:
        raise ValueError(f"X {P.shape} and Y {Q.shape} must be (n, d) and (m, d) point sets")
    C = ((P[..., :, None, :] - Q[..., None, :, :]) ** 2).sum(axis=-1)
    return sinkhorn(
        C,
        a,
        b,
        reg=reg,
        reg_m=reg_m,
        mass=mass,
        max_iter=max_iter,
        tol=tol,
        f0=f0,
        g0=g0,
        return_plan=return_plan,
    )
