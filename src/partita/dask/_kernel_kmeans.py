"""Exact kernel k-means on Dask workers: X on every worker, each worker owning a block of Gram
rows (docs/algorithms.md, "Kernel k-means on row blocks")."""

import time
import uuid
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .. import kernel_kmeans as _local
from .._backend import n_threads
from .._core import kernel_kmeans as _kernels
from .._validation import (
    check_n_clusters,
    check_sample_weight,
    check_weight_scale,
    fit_or_leave_unfitted,
    validate_params,
)
from ._comm import SerialComm, SocketComm
from ._medoids import task_threads
from ._post_fit import ChunkedPostFit
from ._validation import check_data

_COLUMN_STEP = 256  # Gram columns added to E per NumPy step (bounds the temporary)


def _features(X, kernel_args):
    kernel, gamma, degree, coef0 = kernel_args
    space = _kernels.KernelFeatures32 if X.dtype == np.float32 else _kernels.KernelFeatures64
    return space(X, _kernels.KernelParams(_local._BUILTIN_KERNELS[kernel], gamma, degree, coef0))


def _running_sum(values):
    """Sum from 0.0 in index order, one addition at a time (what the compiled loop does)."""
    return float(np.cumsum(values)[-1]) if len(values) else 0.0


def _cluster_sums(values, labels, k):
    return np.array([_running_sum(values[labels == c]) for c in range(k)])


def _clamped(D):
    return np.where(D < 0.0, 0.0, D)


def _reseed_empty(L, dist, w, k):
    """The compiled reseed_empty: fill the empty clusters in increasing order with the
    positive-weight points farthest from their centre (docs/algorithms.md, "Empty clusters")."""
    members = np.bincount(L[w > 0], minlength=k)
    empty = np.flatnonzero(members == 0)
    if empty.size == 0:
        return 0
    order = np.argsort(-dist, kind="stable")
    moved, pos, n = 0, 0, L.shape[0]
    for c in empty:
        while pos < n:
            i = order[pos]
            pos += 1
            if w[i] > 0 and members[L[i]] >= 2:
                members[L[i]] -= 1
                L[i] = c
                members[c] = 1
                moved += 1
                break
    return moved


class _BlockSums:
    """E = K Z restricted to the rank's points (k x nb), updated exactly as the compiled
    CentreSums: per entry, the same additions in the same order."""

    def __init__(self, Kb, first, w, k):
        self.Kb, self.first, self.w, self.k = Kb, first, w, k
        self.E = np.zeros((k, Kb.shape[0]))
        self.centres = None

    def move_to(self, comm, nxt):
        w, Kb, E = self.w, self.Kb, self.E
        n = nxt.shape[0]
        full = self.centres is None
        if not full:
            moved = np.flatnonzero((nxt != self.centres) & (w != 0))
            full = 2 * moved.size > n
        if full:
            E[:] = 0.0
            for c in range(self.k):
                js = np.flatnonzero((w != 0) & (nxt == c))
                for start in range(0, js.size, _COLUMN_STEP):
                    j = js[start : start + _COLUMN_STEP]
                    terms = Kb[:, j].astype(np.float64) * w[j]
                    E[c] = np.cumsum(np.hstack([E[c][:, None], terms]), axis=1)[:, -1]
        else:
            for j in moved:
                col = Kb[:, j].astype(np.float64)
                E[self.centres[j]] += -w[j] * col
                E[nxt[j]] += w[j] * col
        self.centres = nxt.copy()
        # s and F summed in point order: every rank sends the F terms of its points.
        nb = Kb.shape[0]
        own = nxt[self.first : self.first + nb]
        terms = w[self.first : self.first + nb] * E[own, np.arange(nb)]
        terms = np.concatenate(comm.allgather(terms))
        self.s = _cluster_sums(w, nxt, self.k)
        F = _cluster_sums(terms, nxt, self.k)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.norms = np.where(self.s > 0, F / (self.s * self.s), 0.0)


def _gather_assignment(comm, labels, dist):
    parts = comm.allgather((labels, dist))
    return (
        np.concatenate([p[0] for p in parts]).astype(np.int32),
        np.concatenate([p[1] for p in parts]),
    )


def lloyd_loop(comm, Kb, first, diag, w, seeds, k, max_iter, tol):
    """The compiled kernel k-means loop (``_core.kernel_kmeans.lloyd``) on the rank's Gram rows
    Kb = K[first:first + nb, :]; every rank returns the same result."""
    nb = Kb.shape[0]
    kb = diag[first : first + nb]
    G = Kb[:, seeds].T.astype(np.float64)
    D = _clamped(kb[None, :] - 2.0 * G + diag[seeds][:, None])
    labels, dist = _gather_assignment(comm, np.argmin(D, axis=0), np.min(D, axis=0, initial=np.inf))
    inertia = _running_sum(w * dist)
    sums = _BlockSums(Kb, first, w, k)
    n_iter = n_reseeded = 0
    converged = tol_reached = False
    while n_iter < max_iter:
        nxt = labels.copy()
        n_reseeded += _reseed_empty(nxt, dist, w, k)
        sums.move_to(comm, nxt)
        s = sums.s
        with np.errstate(divide="ignore", invalid="ignore"):
            D = _clamped(kb[None, :] - 2.0 * sums.E / s[:, None] + sums.norms[:, None])
        D[~(s > 0)] = np.inf
        labels, dist = _gather_assignment(
            comm, np.argmin(D, axis=0), np.min(D, axis=0, initial=np.inf)
        )
        new_inertia = _running_sum(w * dist)
        changed = int(np.count_nonzero(labels != sums.centres))
        n_iter += 1
        previous, inertia = inertia, new_inertia
        if changed == 0:
            converged = True
            break
        if previous - inertia <= tol * previous:
            tol_reached = True
            break
    result = dict(
        centres=sums.centres.copy(),
        cluster_weights=sums.s.copy(),
        centre_norms=sums.norms.copy(),
        n_iter=n_iter,
        n_reseeded=n_reseeded,
        converged=converged,
        tol_reached=tol_reached,
        labels=labels,
    )
    if not converged:  # the objective of the labels, from the means of their own clusters
        sums.move_to(comm, labels)
        own = labels[first : first + nb]
        s = sums.s[own]
        with np.errstate(divide="ignore", invalid="ignore"):
            d = _clamped(kb - 2.0 * sums.E[own, np.arange(nb)] / s + sums.norms[own])
        wb = w[first : first + nb]
        terms = np.where((wb != 0) & (s > 0), wb * d, 0.0)
        inertia = _running_sum(np.concatenate(comm.allgather(terms)))
    result["inertia"] = inertia
    return result


def _gram_block(X, kernel_args, first, last, threads, check):
    """K[first:last, :] by the compiled kernels (the same bits as the stored Gram's rows), and
    its count of non-finite entries when the diagonal does not bound them."""
    if last == first:
        return np.empty((0, X.shape[0]), dtype=X.dtype), 0
    Kb = np.asarray(_features(X, kernel_args).rows(np.arange(first, last), threads))
    return Kb, int(np.count_nonzero(~np.isfinite(Kb))) if check else 0


def _run_rank(comm, X, kernel_args, first, last, w, diag, seeds, k, options):
    Kb, bad = _gram_block(X, kernel_args, first, last, options["threads"], options["check"])
    bad = sum(comm.allgather(bad))
    if bad:
        return {"nonfinite": bad}
    return lloyd_loop(comm, Kb, first, diag, w, seeds, k, options["max_iter"], options["tol"])


def _rank_task(rank, size, name, X, kernel_args, first, last, w, diag, seeds, k, options):
    """One worker's long task: connect to the other ranks, build the own Gram rows, iterate."""
    import socket

    from distributed import Variable

    from ._transport import _worker_host

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
        return _run_rank(comm, X, kernel_args, first, last, w, diag, seeds, k, options)
    finally:
        comm.close()


def _rank_ranges(chunks, size):
    """Contiguous point ranges, one per rank: rank r gets chunks [r nc / size, (r+1) nc / size)."""
    bounds = np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)
    nc = len(chunks)
    return [(int(bounds[r * nc // size]), int(bounds[(r + 1) * nc // size])) for r in range(size)]


class KernelKMeans(ChunkedPostFit, _local.KernelKMeans):
    """Exact kernel k-means on a Dask array: the labels of :class:`partita.KernelKMeans`.

    X is gathered and sent to every worker; each worker runs one long task that computes and
    keeps its block of Gram rows (by the compiled kernels) and runs Lloyd's iterations on it,
    exchanging the labels, the distances and the F terms of its points with the other workers
    directly, not through the scheduler (docs/algorithms.md, "Kernel k-means on row blocks").
    Every sum is taken in the order of the compiled loop, so ``labels_``, ``inertia_``,
    ``n_iter_`` and the centres equal the local estimator's bit for bit, for any chunking and
    number of workers.

    The parameters are those of :class:`partita.KernelKMeans`; ``kernel`` is one computed in
    C++ (rbf, linear, poly, sigmoid, laplacian), ``gram`` must be "auto" (every worker stores
    its block of rows: n^2 / workers entries), and ``n_jobs`` sets the threads of the client's
    initialisation and of every worker's task (None: all cores on the client, one per task).

    Parameters
    ----------
    n_clusters : int, default=8
    kernel : str, default="rbf"
    gamma : float or None, default=None
    degree : float, default=3
    coef0 : float, default=1
    kernel_params : None, default=None
    init : {"k-means++", "random"} or array of shape (n_clusters,), default="k-means++"
    n_init : int, default=1
    max_iter : int, default=300
    tol : float, default=1e-4
    random_state : int, RandomState instance or None, default=None
    n_jobs : int or None, default=None
    device : {"cpu", "auto"}, default="cpu"
    verbose : int, default=0
    gram : {"auto"}, default="auto"

    Attributes
    ----------
    inertia_, n_iter_, converged_, n_reseeded_, cluster_sizes_, gram_ :
        As for :class:`partita.KernelKMeans` (NumPy; ``gram_`` is "stored").
    labels_ : dask.array.Array of shape (n_samples,)
        Chunked as X's rows.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from partita.dask import KernelKMeans
    >>> X = da.from_array(np.array([[0.0], [0.1], [0.2], [5.0], [5.1]]), chunks=2)
    >>> km = KernelKMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(np.bincount(km.labels_.compute()).tolist())
    [2, 3]
    """

    _local_class = _local.KernelKMeans

    def fit(self, X, y=None, sample_weight=None):
        """Cluster X; returns self.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None

        Returns
        -------
        self : KernelKMeans
        """
        return fit_or_leave_unfitted(
            self,
            self._fit_dask,
            X,
            sample_weight,
            private=("_centre_labels", "_source", "_X_fit", "_features_fit", "_feature_args"),
        )

    def _fit_dask(self, X, sample_weight):
        import dask
        import dask.array as da

        validate_params(self)
        self._check_params()
        if not (isinstance(self.kernel, str) and self.kernel in _local._BUILTIN_KERNELS):
            raise ValueError(
                "partita.dask.KernelKMeans computes the kernels built into partita "
                f"({', '.join(sorted(_local._BUILTIN_KERNELS))}), not kernel={self.kernel!r}"
            )
        if self.gram != "auto":
            raise ValueError(
                "partita.dask.KernelKMeans stores every worker's block of Gram rows; "
                f"gram must be 'auto', got {self.gram!r}"
            )
        threads = n_threads(self.n_jobs)
        Xd, wd = check_data(X, sample_weight)
        Xn, weights = dask.compute(Xd, wd)
        Xn = self._validate_X(Xn, reset=True)
        n = Xn.shape[0]
        k = check_n_clusters(self.n_clusters, n)
        weights = check_sample_weight(weights, n)
        check_weight_scale(weights)
        rng = check_random_state(self.random_state)
        kernel_args = self._kernel_args(Xn.shape[1])
        features = _features(Xn, kernel_args)
        diag = np.asarray(features.diagonal(), dtype=np.float64)
        if not np.all(np.isfinite(diag)):
            self._raise_nonfinite_gram(Xn, f"{int(np.sum(~np.isfinite(diag)))} diagonal entries")
        options = dict(
            max_iter=int(self.max_iter),
            tol=float(self.tol),
            threads=task_threads(self.n_jobs),
            check=not self._bounded_by_diagonal(),
        )
        n_init = int(self.n_init)
        if not isinstance(self.init, str) and n_init != 1:
            warnings.warn(
                "Explicit initial centre indices passed: performing only one init in "
                f"KernelKMeans instead of n_init={n_init}.",
                RuntimeWarning,
                stacklevel=4,
            )
            n_init = 1
        run = _Runner(Xn, kernel_args, Xd.chunks[0], weights, diag, k, options)
        best = None
        try:
            for i in range(n_init):
                t0 = time.perf_counter()
                seeds = self._init_indices(features, diag, n, k, weights, rng, threads)
                r = run(seeds)
                if "nonfinite" in r:
                    self._raise_nonfinite_gram(Xn, f"{r['nonfinite']} entries of the Gram matrix")
                if self.verbose:
                    print(
                        f"[KernelKMeans] run {i + 1}/{n_init}: {r['n_iter']} iterations, "
                        f"inertia {r['inertia']:.6g}, {time.perf_counter() - t0:.3f} s"
                    )
                if best is None or r["inertia"] < best["inertia"]:
                    best = r
        finally:
            run.close()
        labels = np.asarray(best["labels"], dtype=np.int64)
        if not (best["converged"] or best["tol_reached"]):
            warnings.warn(
                f"KernelKMeans stopped after max_iter={self.max_iter} iterations "
                "without converging; increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=4,
            )
        distinct = np.unique(labels).size
        if distinct < k:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than "
                f"n_clusters ({k}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=4,
            )
        self.labels_ = da.from_array(labels, chunks=(Xd.chunks[0],))
        self.inertia_ = float(best["inertia"])
        self.n_iter_ = int(best["n_iter"])
        self.converged_ = bool(best["converged"] or best["tol_reached"])
        self.n_reseeded_ = int(best["n_reseeded"])
        self.cluster_sizes_ = np.bincount(labels, weights=weights, minlength=k)
        self.gram_ = "stored"
        self._centre_weights = best["cluster_weights"]
        self._centre_norms = best["centre_norms"]
        self._weights = weights
        self._n_features_out = k
        self._X_fit = Xn
        self._features_fit = None
        self._feature_args = None
        self._centre_labels = np.ascontiguousarray(best["centres"], dtype=np.int32)
        return self


class _Runner:
    """Runs the loop of one initialisation: on the workers of the running distributed client
    (X sent to each once), or here with one rank when there is none."""

    def __init__(self, X, kernel_args, chunks, w, diag, k, options):
        from ._transport import _client

        self.client = _client()
        self.args = (kernel_args, chunks, w, diag, k, options)
        self.X = X
        if self.client is not None:
            workers = sorted(self.client.scheduler_info()["workers"])
            self.workers = workers[: max(1, min(len(workers), len(chunks)))]
            self.X_future = self.client.scatter(X, broadcast=True, workers=self.workers)

    def __call__(self, seeds):
        kernel_args, chunks, w, diag, k, options = self.args
        if self.client is None:
            n = self.X.shape[0]
            return _run_rank(SerialComm(), self.X, kernel_args, 0, n, w, diag, seeds, k, options)
        from distributed import Variable

        size = len(self.workers)
        name = f"partita-kernel-kmeans-{uuid.uuid4().hex}"
        ranges = _rank_ranges(chunks, size)
        tasks = [
            self.client.submit(
                _rank_task,
                rank,
                size,
                name,
                self.X_future,
                kernel_args,
                *ranges[rank],
                w,
                diag,
                seeds,
                k,
                options,
                workers=[worker],
                allow_other_workers=False,
                pure=False,
            )
            for rank, worker in enumerate(self.workers)
        ]
        try:
            return tasks[0].result()
        finally:
            self.client.gather(tasks, errors="skip")
            Variable(name, client=self.client).delete()

    def close(self):
        if self.client is not None:
            self.X_future.release()
