"""The GPU path of the transport family: ``sinkhorn``, ``sinkhorn_points``, ``equipartition`` and
``SinkhornKMeans`` with ``device="cuda"``.

Costs (and point clouds) that are GPU arrays (CuPy, PyTorch, anything with
``__cuda_array_interface__`` or CUDA DLPack) are read where they are and validated with their own
library's reductions (no copy to the host); NumPy input is validated as on the CPU and copied to the
device once. Marginals and warm starts are small and cross as NumPy. The plan of a GPU cost is
returned in the cost's library (CuPy or PyTorch), otherwise as NumPy. The schedule is specified in
docs/algorithms.md ("Sinkhorn on the GPU").
"""

import math

import numpy as np

from . import _backend, _validation
from ._gpu_arrays import DL_CUDA, DL_CUDA_MANAGED, as_device_array

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_MAX_DIM = 16  # point clouds: coordinates per point (kept in registers by the kernel)


def _transport():
    from . import transport  # imported late: transport imports this module's entry points

    return transport


def kernels():
    """``_cuda.transport`` (warns GPUNotValidatedWarning until validated on a GPU)."""
    return _backend.family_module("transport", "cuda")


def on_gpu(x):
    """Whether ``x`` is a GPU array (read in place rather than through NumPy)."""
    if hasattr(x, "__cuda_array_interface__"):
        return True
    try:
        return hasattr(x, "__dlpack__") and x.__dlpack_device__()[0] in (DL_CUDA, DL_CUDA_MANAGED)
    except (AttributeError, TypeError, ValueError, IndexError):
        return False


def _to_host(x):
    """A small GPU array (marginals, warm starts) as NumPy; anything else unchanged."""
    if not on_gpu(x):
        return x
    if hasattr(x, "get"):  # CuPy
        return x.get()
    if hasattr(x, "cpu"):  # PyTorch
        return x.detach().cpu().numpy()
    raise TypeError(f"cannot read {type(x).__name__} back to the host")


def _check_device_array(x, name, ndims):
    """A GPU array as a DeviceArray, and (min, max) from its own library's reductions."""
    arr = as_device_array(x, name=name)
    if arr.dtype not in _FLOAT_DTYPES:
        raise ValueError(f"{name} on the GPU must be float32 or float64, got {arr.dtype}")
    if arr.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions")
    if 0 in arr.shape:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    lo, hi = float(x.min()), float(x.max())  # NaN propagates through both
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} contains NaN or infinity; it must be finite")
    return arr, lo, hi


def _batched(arr, batched):
    """The DeviceArray with a leading batch axis of 1 when it has none (a view)."""
    if batched:
        return arr
    return type(arr)(
        arr.ptr, (1, *arr.shape), (0, *arr.strides), arr.dtype, arr.on_device, arr.owner
    )


def _empty_like(x, shape, dtype):
    """An uninitialised array for the plan: in x's GPU library when x is a CuPy or PyTorch GPU
    array, else NumPy (which the kernel fills by a copy from the device)."""
    module = type(x).__module__.split(".")[0]
    if module == "cupy" and on_gpu(x):
        import cupy

        with cupy.cuda.Device(x.device.id):
            return cupy.empty(shape, dtype=dtype)
    if module == "torch" and on_gpu(x):
        import torch

        return torch.empty(shape, dtype=x.dtype, device=x.device)
    return np.empty(shape, dtype=dtype)


def _device_problem(A, Bm, reg, rho, mass, virtual_column):
    """The CPU solver's mapping of balanced / relaxed / partial problems onto the kernel
    (docs/algorithms.md, "Relaxed and partial transport"): (log_a, log_b, log_av, log_bv,
    phi_a, phi_b)."""
    T = _transport()
    rho_a, rho_b = rho
    hard_a, hard_b = math.isinf(rho_a), math.isinf(rho_b)
    sa, sb = A.sum(axis=1), Bm.sum(axis=1)
    log_av = log_bv = None
    if mass is None:
        if hard_a and hard_b:
            bad = np.abs(sa - sb) > T._SUM_RTOL * np.maximum(sa, sb)
            if np.any(bad):
                i = int(np.argmax(bad))
                raise ValueError(
                    f"a balanced problem needs sum(a) == sum(b); got {sa[i]:.17g} and {sb[i]:.17g}"
                    " (use reg_m for unbalanced transport, or mass for partial transport)"
                )
            Bm = Bm * (sa / sb)[:, None]
    elif hard_b and not virtual_column:
        moved = mass * np.minimum(sa, sb)
        if np.any(sa - moved > 0):
            log_bv = T._safe_log(np.maximum(sa - moved, 0.0))
        if np.any(sb - moved > 0):
            log_av = T._safe_log(np.maximum(sb - moved, 0.0))
    else:
        moved = mass * sa
        Bm = Bm * (moved / sb)[:, None]
        if mass < 1.0:
            log_bv = T._safe_log(sa - moved)
    phi_a = 1.0 if hard_a else rho_a / (rho_a + reg)
    phi_b = 1.0 if hard_b else rho_b / (rho_b + reg)
    return T._safe_log(A), T._safe_log(Bm), log_av, log_bv, phi_a, phi_b


def solve(mod, cost, Y, A, Bm, reg, rho, mass, max_iter, tol, f, g, plan, virtual_column=False):
    """One kernel call: cost a DeviceArray (B, n, m), or with Y the points X (B, n, d) and Y
    (B, m, d); A, Bm, f, g float64 (B, n) / (B, m); plan None or a (B, n, m) array to fill.
    Returns the kernel's SinkhornResult (f, g flat)."""
    log_a, log_b, log_av, log_bv, phi_a, phi_b = _device_problem(
        A, Bm, reg, rho, mass, virtual_column
    )
    B = A.shape[0]
    params = mod.SinkhornParams()
    params.eps, params.phi_a, params.phi_b = reg, phi_a, phi_b
    params.max_iter, params.tol = int(max_iter), float(tol)
    top = _backend._cuda  # ArrayRef lives in the top module
    plan_ref = plan
    if plan is not None and not isinstance(plan, np.ndarray):
        plan_ref = as_device_array(plan, name="plan").array_ref(top)
    return mod.sinkhorn(
        cost.array_ref(top),
        None if Y is None else Y.array_ref(top),
        log_a.ravel(),
        log_b.ravel(),
        None if log_av is None else np.ascontiguousarray(log_av),
        None if log_bv is None else np.ascontiguousarray(log_bv),
        f.ravel(),
        g.ravel(),
        np.zeros(B),
        np.zeros(B),
        params,
        plan_ref,
    )


def _check_options(reg, reg_m, mass, max_iter, tol, return_plan, method):
    T = _transport()
    reg = T._check_reg(reg)
    rho = T._check_reg_m(reg_m)
    mass = T._check_mass(mass)
    max_iter = _validation.check_int(max_iter, "max_iter", min_value=1)
    tol = _validation.check_real(tol, "tol", min_value=0)
    if not isinstance(return_plan, (bool, np.bool_)):
        raise ValueError(f"return_plan must be True or False, got {return_plan!r}")
    method = _validation.check_choice(method, "method", T._METHODS)
    if method == "sinkhorn_stabilized":
        raise ValueError(
            'method="sinkhorn_stabilized" does not run on the GPU yet: use method="auto" or '
            '"sinkhorn_log" (the same iterates)'
        )
    if mass is not None and not math.isinf(rho[0]):
        raise ValueError(
            "partial transport (mass) needs hard sample (row) marginals: use "
            "reg_m=None or reg_m=(inf, rho_b)"
        )
    return reg, rho, mass, max_iter, tol


def _finish(T, rep, B, n, m, plan, batched, below_precision, conv_override=None):
    f = rep.f.reshape(B, n)
    g = rep.g.reshape(B, m)
    n_iter = np.asarray(rep.n_iter, dtype=np.int64)
    err = np.asarray(rep.err, dtype=np.float64)
    conv = np.asarray(rep.converged, dtype=bool)
    if conv_override is not None:
        err, conv = conv_override(f, g, err, conv)
    if batched:
        return T.SinkhornResult(plan, f, g, n_iter, err, conv)
    return T.SinkhornResult(
        None if plan is None else plan[0], f[0], g[0], int(n_iter[0]), float(err[0]), bool(conv[0])
    )


def sinkhorn(C, a, b, *, reg, reg_m, mass, max_iter, tol, f0, g0, return_plan, method):
    """``transport.sinkhorn`` on the GPU (the same arguments and result)."""
    T = _transport()
    reg, rho, mass, max_iter, tol = _check_options(
        reg, reg_m, mass, max_iter, tol, return_plan, method
    )
    mod = kernels()
    if on_gpu(C):
        cost, _, top = _check_device_array(C, "C", (2, 3))
        if cost.ndim == 3 and 0 in cost.shape:
            raise ValueError(f"C must not be empty, got shape {cost.shape}")
        if float(C.min()) < 0:
            raise ValueError("costs must be non-negative")
        host = None
    else:
        host = T._check_cost(C)
        cost, top = as_device_array(host, name="C"), float(host.max())
    batched = cost.ndim == 3
    cost = _batched(cost, batched)
    B, n, m = cost.shape
    A = T._check_marginal(_to_host(a), B, n, "a", batched)
    Bm = T._check_marginal(_to_host(b), B, m, "b", batched)
    f = T._check_potential(_to_host(f0), B, n, "f0", batched)
    g = T._check_potential(_to_host(g0), B, m, "g0", batched)
    scale = top + float(np.abs(f).max()) + float(np.abs(g).max())
    limit = T._SCALE_LIMIT[cost.dtype]
    if not (1.0 / reg <= limit and scale / reg <= limit):
        raise ValueError(
            f"1 / reg and (max(C) + max|f0| + max|g0|) / reg must not exceed {limit:g} in "
            f"{cost.dtype}, got reg={reg:g} and a scale of {scale:g}"
        )
    below = _warn_below_precision(top, cost.dtype, reg)
    plan = None
    if return_plan:
        if not cost.on_device:  # a host plan: the CPU's check
            _validation.check_fits_in_memory(
                B * n * m * cost.dtype.itemsize,
                f"the {B} x {n} x {m} plan",
                "use return_plan=False and the potentials f, g",
            )
        plan = _empty_like(C, (B, n, m), cost.dtype)
    rep = solve(mod, cost, None, A, Bm, reg, rho, mass, max_iter, tol, f, g, plan)
    if plan is not None and not batched:
        plan = plan.reshape(n, m)[None] if isinstance(plan, np.ndarray) else plan
    override = None
    if below:
        balanced = mass is None and math.isinf(rho[0]) and math.isinf(rho[1])

        def override(f, g, err, conv):
            if balanced and host is not None:
                C3 = host if batched else host[None]
                P = plan if (plan is None or isinstance(plan, np.ndarray)) else None
                err = T._plan_marginal_err(C3, A, Bm, f, g, reg, P)
                return err, conv & (err < tol)
            return err, np.zeros_like(conv)  # nothing certifies the plan: not converged

    return _finish(T, rep, B, n, m, plan, batched, below, override)


def _warn_below_precision(top, dtype, reg):
    """As transport's check: the exponents carry max(C) eps_dtype / reg of rounding."""
    import warnings

    spread = top * float(np.finfo(dtype).eps) / reg
    if spread > 0.01:
        warnings.warn(
            f"reg={reg:g} is below the precision of the costs in {dtype} (max(C) = {top:g}): "
            f"the exponents (f + g - C) / reg carry a rounding error of about {spread:.2g}, so "
            "plan entries are only accurate to about that relative error",
            UserWarning,
            stacklevel=4,
        )
        return True
    return False


def sinkhorn_points(X, Y, a, b, *, reg, reg_m, mass, max_iter, tol, f0, g0, return_plan):
    """``transport.sinkhorn_points`` on the GPU: the cost ||x_i - y_j||^2 recomputed in tiles."""
    T = _transport()
    reg, rho, mass, max_iter, tol = _check_options(
        reg, reg_m, mass, max_iter, tol, return_plan, "auto"
    )
    mod = kernels()
    arrays = []
    for name, P in (("X", X), ("Y", Y)):
        if on_gpu(P):
            arr, lo, hi = _check_device_array(P, name, (2, 3))
        else:
            host = np.asarray(_validation.as_numpy(P))
            if host.ndim not in (2, 3) or 0 in host.shape:
                raise ValueError(f"{name} must have shape (n, d) or (B, n, d), got {host.shape}")
            host = np.ascontiguousarray(host, dtype=_validation.float_dtype(host))
            if not np.all(np.isfinite(host)):
                raise ValueError(f"{name} contains NaN or infinity; it must be finite")
            arr, lo, hi = as_device_array(host, name=name), float(host.min()), float(host.max())
        arrays.append((arr, max(abs(lo), abs(hi))))
    (xa, xr), (ya, yr) = arrays
    if xa.ndim != ya.ndim or xa.dtype != ya.dtype:
        raise ValueError("X and Y must have the same number of dimensions and the same dtype")
    batched = xa.ndim == 3
    xa, ya = _batched(xa, batched), _batched(ya, batched)
    if xa.shape[0] != ya.shape[0] or xa.shape[2] != ya.shape[2]:
        raise ValueError(f"X {xa.shape} and Y {ya.shape}: batch sizes or dimensions differ")
    if xa.shape[2] > _MAX_DIM:
        raise ValueError(f"point clouds on the GPU have at most {_MAX_DIM} coordinates")
    for name, arr in (("X", xa), ("Y", ya)):
        if not _contiguous(arr):
            raise ValueError(f"{name} on the GPU must be C-contiguous")
    B, n, d = xa.shape
    m = ya.shape[1]
    A = T._check_marginal(_to_host(a), B, n, "a", batched)
    Bm = T._check_marginal(_to_host(b), B, m, "b", batched)
    f = T._check_potential(_to_host(f0), B, n, "f0", batched)
    g = T._check_potential(_to_host(g0), B, m, "g0", batched)
    top = d * (xr + yr) ** 2  # a bound on the largest cost
    limit = T._SCALE_LIMIT[xa.dtype]
    scale = top + float(np.abs(f).max()) + float(np.abs(g).max())
    if not (1.0 / reg <= limit and scale / reg <= limit):
        raise ValueError(f"the costs' scale / reg must not exceed {limit:g} in {xa.dtype}")
    plan = _empty_like(X, (B, n, m), xa.dtype) if return_plan else None
    rep = solve(mod, xa, ya, A, Bm, reg, rho, mass, max_iter, tol, f, g, plan)
    return _finish(T, rep, B, n, m, plan, batched, False)


def _contiguous(arr):
    expect = 1
    for n, s in zip(reversed(arr.shape), reversed(arr.strides)):
        if n > 1 and s != expect:
            return False
        expect *= n
    return True


def equipartition(scores, *, reg, n_iter):
    """``transport.equipartition`` on the GPU; a GPU score matrix stays on the GPU (Q too)."""
    if not on_gpu(scores):
        S = np.asarray(_validation.as_numpy(scores))
        if S.ndim not in (2, 3) or S.size == 0:
            raise ValueError(f"scores must have shape (N, K) or (B, N, K), got {S.shape}")
        S = np.asarray(S, dtype=_validation.float_dtype(S))
        if not np.all(np.isfinite(S)):
            raise ValueError("scores contain NaN or infinity")
        C = np.ascontiguousarray(S.max(axis=(-2, -1), keepdims=True) - S)
    else:
        _check_device_array(scores, "scores", (2, 3))
        S = scores
        C = _shifted_costs(scores)
    n_iter = _validation.check_int(n_iter, "n_iter", min_value=1)
    r = sinkhorn(
        C,
        None,
        None,
        reg=reg,
        reg_m=None,
        mass=None,
        max_iter=n_iter,
        tol=0.0,
        f0=None,
        g0=None,
        return_plan=True,
        method="auto",
    )
    Q = r.plan
    Q *= S.shape[-2]
    return Q


def _shifted_costs(S):
    """max(S) - S per problem, in S's own GPU library (one new array: the costs)."""
    if S.ndim == 2:
        return S.max() - S
    if type(S).__module__.startswith("torch"):
        return S.amax(dim=(1, 2), keepdim=True) - S
    return S.max(axis=(1, 2), keepdims=True) - S


def fit_sinkhorn_kmeans(est, X, sample_weight):
    """SinkhornKMeans.fit (validate_params has run) with every assignment solved on the GPU:
    Sinkhorn warm-started from the previous potentials (no Newton step on the device), the
    rest as docs/algorithms.md ("SinkhornKMeans") says."""
    import time

    from sklearn.utils import check_random_state

    T = _transport()
    X = est._validate_X(X, reset=True)
    n, d = X.shape
    k, reg, reg_m, mass, cw = est._check_params(n, d)
    w = _validation.check_sample_weight(sample_weight, n)
    _validation.check_weight_scale(w, small=False)
    total = float(w.sum())
    a = w / total
    rng = check_random_state(est.random_state)
    X64 = np.asarray(X, dtype=np.float64)
    threads = _backend.n_threads(est.n_jobs)
    mean = np.einsum("i,ij->j", a, X64)
    scale = float(np.einsum("i,i->", a, T._sq_dist(X64, mean[None], threads)[:, 0]))
    scale = scale if scale > 0 else 1.0
    eps = reg * scale
    if not (reg >= T._MIN_RELATIVE_REG and eps >= T._MIN_RELATIVE_REG):
        raise ValueError(
            f"reg={reg:g} gives epsilon_={eps:g} (reg times the data's variance): both must "
            f"be at least {T._MIN_RELATIVE_REG:g}, or the exponents (g - D) / epsilon overflow"
        )
    rho = math.inf if math.isinf(reg_m) else reg_m * scale
    var = float(np.mean(np.einsum("i,ij->j", a, (X64 - mean) ** 2)))
    tol_abs = float(est.tol) * var
    assign_tol = T._assignment_tol(float(est.tol), float(est.sinkhorn_tol))
    n_init = int(est.n_init)
    if not isinstance(est.init, str) and n_init > 1:
        import warnings

        warnings.warn(
            "Explicit initial center position passed: performing only one init in "
            f"SinkhornKMeans instead of n_init={n_init}.",
            RuntimeWarning,
            stacklevel=4,
        )
        n_init = 1
    if est.verbose:
        print(f"[SinkhornKMeans] {n} samples, {k} clusters, epsilon {eps:.6g} (GPU)")

    def assign(D, g_kl, f):
        return _device_assignment(est, D, a, cw, eps, rho, mass, g_kl, f, assign_tol)

    best = None
    for run in range(n_init):
        t0 = time.perf_counter()
        centres = est._initial_centres(X64, k, w, rng)
        g_kl = f = labels = None
        n_iter, converged = 0, False
        for n_iter in range(1, int(est.max_iter) + 1):
            D = T._sq_dist(X64, centres, threads)
            P, g_plain, gv_plain, g_kl, f, rep = assign(D, g_kl, f)
            if est.tol == 0:
                previous, labels = labels, est._labels(D, g_plain, gv_plain)
                if previous is not None and np.array_equal(previous, labels):
                    converged = True
                    break
            mass_j = P.sum(axis=0)
            new = centres.copy()
            for j in range(k):
                if mass_j[j] > 0:
                    new[j] = np.einsum("i,ij->j", P[:, j], X64) / mass_j[j]
            shift = float(((new - centres) ** 2).sum())
            centres = new
            if est.verbose:
                print(
                    f"[SinkhornKMeans] run {run + 1}, iteration {n_iter}: centre shift "
                    f"{shift:.6g} (tol {tol_abs:.3g}); Sinkhorn {rep.n_iter} iterations, "
                    f"error {rep.err:.3g}"
                )
            if shift <= tol_abs and est.tol > 0:
                converged = True
                break
        D = T._sq_dist(X64, centres, threads)
        P, g_plain, gv_plain, g_kl, f, rep = assign(D, g_kl, f)
        cost = float(np.einsum("ij,ij->", D, P))
        if est.verbose:
            print(
                f"[SinkhornKMeans] run {run + 1}/{est.n_init}: {n_iter} iterations, transport "
                f"cost {cost * total:.6g}, {time.perf_counter() - t0:.3f} s"
            )
        if best is None or cost < best[0]:
            best = (cost, centres, P, D, g_plain, gv_plain, n_iter, rep, converged)
    cost, centres, P, D, g_plain, gv_plain, n_iter, rep, converged = best
    est._warn_after_fit(rep, converged, assign_tol, centres, k, D, eps)
    labels = est._labels(D, g_plain, gv_plain)
    est.cluster_centers_ = centres.astype(X.dtype)
    est._centres64 = centres
    est.labels_ = labels
    est.cluster_potentials_ = g_plain
    est.unassigned_potential_ = gv_plain
    est.cluster_sizes_ = P.sum(axis=0) * total
    assigned = labels >= 0
    est.inertia_ = float(np.dot(w[assigned], D[assigned, labels[assigned]]))
    if not assigned.any():
        import warnings

        est.inertia_ = math.nan
        warnings.warn(
            f"no sample was assigned to a cluster (mass={mass:g}, n_clusters={k}): every "
            "label is -1 and inertia_ is NaN; increase mass or decrease n_clusters",
            UserWarning,
            stacklevel=4,
        )
    est.transport_cost_ = cost * total
    est.epsilon_ = eps
    est.n_iter_ = int(n_iter)
    est.converged_ = bool(converged)
    est._n_features_out = k
    return est


def _device_assignment(est, D, a, cw, eps, rho, mass, g0, f0, tol):
    """The assignment of SinkhornKMeans (same contract as SinkhornKMeans._assign) on the GPU."""
    T = _transport()
    mod = kernels()
    n, k = D.shape
    partial = mass < 1.0
    C3 = np.ascontiguousarray(D[None])
    f = np.zeros((1, n)) if f0 is None else np.array(f0[None], dtype=np.float64)
    g = np.zeros((1, k)) if g0 is None else np.array(g0[None, :k], dtype=np.float64)
    plan = np.empty((1, n, k))
    m = mass if partial else None
    rep = solve(
        mod,
        as_device_array(C3, name="D"),
        None,
        a[None],
        cw[None],
        eps,
        (math.inf, rho),
        m,
        int(est.sinkhorn_max_iter),
        tol,
        f,
        g,
        plan,
        virtual_column=True,
    )
    _, log_b, _, _, _, _ = _device_problem(a[None], cw[None], eps, (math.inf, rho), m, True)
    g_kl = rep.g.copy()
    g_plain = g_kl + eps * log_b[0]
    gv_plain = None
    if partial:
        gv = float(rep.gv[0])
        with np.errstate(divide="ignore"):
            gv_plain = float(gv + eps * np.log(a.sum() * (1.0 - mass)))
        g_kl = np.append(g_kl, gv)
    report = T._AssignmentReport(int(rep.n_iter[0]), float(rep.err[0]), bool(rep.converged[0]))
    return plan[0], g_plain, gv_plain, g_kl, rep.f.copy(), report
