"""Sinkhorn scaling with the rows of the cost matrix spread over Dask workers
(docs/algorithms.md, "Sinkhorn on row blocks")."""

import math
import uuid

import numpy as np

from .. import transport as _local
from .._core import transport as _kernels
from .._validation import check_int, check_real
from ._arrays import as_rows
from ._comm import SerialComm, SocketComm
from ._medoids import task_threads


def _column_pieces(blocks, eps, threads):
    return [
        (index, *_kernels.block_column_lse(C, log_a, f, eps, threads))
        for index, C, log_a, f in blocks
        if C.shape[0]
    ]


def _gather_lse(comm, pieces, change):
    """Column LSEs of all rows (the pieces of every block combined in block order), and the
    largest change of f on any rank: one allgather."""
    everything = comm.allgather((pieces, change))
    ordered = sorted((p for part, _ in everything for p in part), key=lambda p: p[0])
    mx = np.ascontiguousarray(np.stack([p[1] for p in ordered]))
    s = np.ascontiguousarray(np.stack([p[2] for p in ordered]))
    return _kernels.combine_column_lse(mx, s), max(c for _, c in everything)


def sinkhorn_loop(comm, blocks, log_b, g, *, eps, phi_a, phi_b, max_iter, tol, threads):
    """The iterations of one rank on its row blocks [(index, C, log_a, f)] (f updated in place):
    a g-update from the column LSEs of all ranks, the stopping test, an f-update of the own
    rows; the same iterates, stopping rule and err as the local solver (docs/algorithms.md,
    "Stopping"). Returns (g, n_iter, err, converged), equal on every rank."""
    relaxed = phi_a < 1.0 or phi_b < 1.0
    b = np.exp(log_b)
    L, _ = _gather_lse(comm, _column_pieces(blocks, eps, threads), 0.0)
    n_iter, err, converged = 0, math.inf, False
    for it in range(1, max_iter + 1):
        g_new = -phi_b * eps * L
        if not relaxed and it >= 2:
            err = float(np.sum(b * np.abs(np.expm1((g - g_new) / eps))))
            if err < tol:
                n_iter, converged = it - 1, True
                break
        dg = float(np.max(np.abs(g_new - g)))
        g = g_new
        change = 0.0
        for _, C, _, f in blocks:
            if C.shape[0]:
                change = max(change, _kernels.block_row_update(C, log_b, g, eps, phi_a, f, threads))
        L, df = _gather_lse(comm, _column_pieces(blocks, eps, threads), change)
        n_iter = it
        if relaxed:
            err = max(dg, df) / eps
            if err < tol:
                converged = True
                break
    else:
        if not relaxed:  # out of iterations: the violation of the last state
            err = float(np.sum(b * np.abs(np.expm1((g + eps * L) / eps))))
            converged = err < tol
    return g, n_iter, err, converged


def _worker_host():
    from distributed import get_worker

    address = get_worker().address
    if address.startswith("tcp://"):
        return address[len("tcp://") :].rsplit(":", 1)[0]
    return "127.0.0.1"


def _rank_task(rank, size, name, blocks, log_b, g, options):
    """One worker's long task: connect to the other ranks, iterate, return the own f blocks."""
    import socket

    from distributed import Variable

    blocks = [(i, C, la, np.array(f, dtype=np.float64)) for i, C, la, f in blocks]
    if size == 1:
        comm = SerialComm()
    elif rank == 0:
        address = Variable(name)
        host = _worker_host()
        comm = SocketComm(
            0,
            size,
            server=socket.create_server((host, 0)),
            publish=lambda _, port: address.set((host, port)),
        )
    else:
        comm = SocketComm(rank, size, lookup=lambda: tuple(Variable(name).get(timeout=120)))
    try:
        out = sinkhorn_loop(comm, blocks, log_b, np.array(g), **options)
    finally:
        comm.close()
    return {i: f for i, _, _, f in blocks}, out


def _plan_rows(C, af, log_b, g, eps):
    log_a, f = af[:, 0], af[:, 1]
    with np.errstate(under="ignore", over="ignore"):
        P = np.exp((log_a + f / eps)[:, None] + (log_b + g / eps)[None, :] - C / eps)
    return np.minimum(P, np.finfo(C.dtype).max).astype(C.dtype)


def _cost_stats(block):
    if block.size == 0:
        return np.array([[0.0, np.inf, 0.0]])
    return np.array(
        [[float(np.count_nonzero(~np.isfinite(block))), float(block.min()), float(block.max())]]
    )


def sinkhorn(
    C,
    a=None,
    b=None,
    *,
    reg,
    reg_m=None,
    max_iter=1000,
    tol=1e-9,
    f0=None,
    g0=None,
    return_plan=True,
    n_jobs=None,
):
    """Entropic optimal transport with the rows of C spread over the Dask workers.

    The problem, the iterations and the stopping rule of :func:`partita.transport.sinkhorn`
    (balanced or KL-relaxed; one problem): every worker runs one long task on the row blocks of
    C it holds, and per iteration the workers exchange the column log-sum-exps of their rows
    directly (one allgather of 2m + 1 numbers per worker), not through the scheduler. f, g,
    n_iter and converged equal the local ones to rounding (about 1e-12 relative in float64).

    Parameters
    ----------
    C : dask.array.Array or array-like of shape (n, m)
        Non-negative finite costs, in chunks of rows. float32 stays float32.
    a, b : array-like of shape (n,) / (m,), default uniform
        Non-negative marginals with a positive sum (Dask or NumPy).
    reg : float
        Entropic regularisation.
    reg_m : float, pair of floats or None, default=None
        KL marginal penalties, as for :func:`partita.transport.sinkhorn`.
    max_iter : int, default=1000
    tol : float, default=1e-9
    f0, g0 : array-like of shape (n,) / (m,), default zeros
        Warm start.
    return_plan : bool, default=True
        Whether to return the plan, a Dask array chunked as C (computed when asked for).
    n_jobs : int or None, default=None
        OpenMP threads of every worker's task (None: one).

    Returns
    -------
    partita.transport.SinkhornResult
        ``(plan, f, g, n_iter, err, converged)``; plan is a Dask array (or None), f and g NumPy.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from partita.dask import sinkhorn
    >>> C = da.from_array(np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]), chunks=2)
    >>> r = sinkhorn(C, reg=0.1)
    >>> bool(r.converged), np.round(r.plan.sum(axis=0).compute(), 6).tolist()
    (True, [0.5, 0.5])
    """
    import dask.array as da

    reg = _local._check_reg(reg)
    rho_a, rho_b = _local._check_reg_m(reg_m)
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    tol = check_real(tol, "tol", min_value=0)
    if not isinstance(return_plan, (bool, np.bool_)):
        raise ValueError(f"return_plan must be True or False, got {return_plan!r}")
    C = as_rows(C)
    if C.dtype not in (np.float32, np.float64):
        C = C.astype(np.float64)
    n, m = C.shape
    if n == 0 or m == 0:
        raise ValueError(f"C must not be empty, got shape {C.shape}")
    stats = C.map_blocks(_cost_stats, dtype=np.float64, chunks=((1,) * C.numblocks[0], (3,)))
    stats = stats.compute()
    if stats[:, 0].sum() > 0:
        raise ValueError("C contains NaN or infinity; costs must be finite")
    if stats[:, 1].min() < 0:
        raise ValueError(
            f"costs must be non-negative; the smallest entry of C is {stats[:, 1].min():g}"
        )
    A = _local._check_marginal(_computed(a), 1, n, "a", False)
    Bm = _local._check_marginal(_computed(b), 1, m, "b", False)
    f = _local._check_potential(_computed(f0), 1, n, "f0", False)[0]
    g = _local._check_potential(_computed(g0), 1, m, "g0", False)[0]
    top = np.full((1, 1, 1), stats[:, 2].max(), dtype=C.dtype)  # what the range check reads
    _local._check_ranges(top, A, Bm, f[None], g[None], reg)
    hard = math.isinf(rho_a) and math.isinf(rho_b)
    A, Bm = A[0], Bm[0]
    if hard:
        sa, sb = A.sum(), Bm.sum()
        if abs(sa - sb) > _local._SUM_RTOL * max(sa, sb):
            raise ValueError(
                f"a balanced problem needs sum(a) == sum(b); got {sa:.17g} and {sb:.17g} "
                "(use reg_m for unbalanced transport)"
            )
        Bm = Bm * (sa / sb)
    log_a, log_b = _local._safe_log(A), _local._safe_log(Bm)
    options = dict(
        eps=reg,
        phi_a=1.0 if math.isinf(rho_a) else rho_a / (rho_a + reg),
        phi_b=1.0 if math.isinf(rho_b) else rho_b / (rho_b + reg),
        max_iter=max_iter,
        tol=tol,
        threads=task_threads(n_jobs),
    )
    f, g, n_iter, err, converged = _run(C, log_a, f, log_b, g, options)
    plan = None
    if return_plan:
        af = da.from_array(np.stack([log_a, f], axis=1), chunks=(C.chunks[0], 2))
        plan = da.map_blocks(_plan_rows, C, af, log_b, g, reg, dtype=C.dtype)
    return _local.SinkhornResult(plan, f, g, int(n_iter), float(err), bool(converged))


def _computed(x):
    return x.compute() if hasattr(x, "dask") else x


def _client():
    """The distributed client that computes Dask collections now, or None (another scheduler)."""
    from dask.base import get_scheduler

    try:
        from distributed import Client
    except ImportError:
        return None
    owner = getattr(get_scheduler(), "__self__", None)
    return owner if isinstance(owner, Client) else None


def _run(C, log_a, f, log_b, g, options):
    """The loop on the workers that hold C's row blocks (one long task each), or here when no
    distributed client is running."""
    from dask import compute

    firsts = np.concatenate([[0], np.cumsum(C.chunks[0])]).astype(np.int64)
    pieces = [
        (log_a[firsts[i] : firsts[i + 1]], f[firsts[i] : firsts[i + 1]])
        for i in range(C.numblocks[0])
    ]
    client = _client()
    if client is None:
        blocks = compute(*C.to_delayed().ravel())
        mine = [(i, np.ascontiguousarray(B), *pieces[i]) for i, B in enumerate(blocks)]
        mine = [(i, B, la, np.array(fi)) for i, B, la, fi in mine]
        g, n_iter, err, converged = sinkhorn_loop(SerialComm(), mine, log_b, g, **options)
        return np.concatenate([b[3] for b in mine]), g, n_iter, err, converged
    from distributed import futures_of, wait

    C = C.map_blocks(np.ascontiguousarray).persist()
    wait(C)
    by_key = {fut.key: fut for fut in futures_of(C)}
    ordered = [by_key[(C.name, i, 0)] for i in range(C.numblocks[0])]
    who_has = client.who_has(ordered)
    owners = [sorted(who_has.get(fut.key) or who_has.get(str(fut.key)))[0] for fut in ordered]
    workers = sorted(set(owners))
    name = f"partita-sinkhorn-{uuid.uuid4().hex}"
    tasks = [
        client.submit(
            _rank_task,
            rank,
            len(workers),
            name,
            [(i, ordered[i], *pieces[i]) for i in range(len(ordered)) if owners[i] == worker],
            log_b,
            g,
            options,
            workers=[worker],
            allow_other_workers=False,
            pure=False,
        )
        for rank, worker in enumerate(workers)
    ]
    try:
        results = client.gather(tasks)
    finally:
        from distributed import Variable

        Variable(name, client=client).delete()  # rank 0's address
    f_out = np.empty(len(log_a))
    for blocks, _ in results:
        for i, fi in blocks.items():
            f_out[firsts[i] : firsts[i + 1]] = fi
    g, n_iter, err, converged = results[0][1]
    return f_out, g, n_iter, err, converged
