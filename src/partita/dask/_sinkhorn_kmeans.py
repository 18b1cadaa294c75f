"""SinkhornKMeans on a Dask array: every assignment is the Sinkhorn scaling on row blocks
(docs/algorithms.md, "SinkhornKMeans on row blocks")."""

import math

import numpy as np

from .. import transport as _local
from .._core import transport as _kernels
from .._validation import fit_or_leave_unfitted, validate_params
from ._medoids import task_threads
from ._post_fit import ChunkedPostFit
from ._transport import sinkhorn
from ._validation import check_data


def _chunk_sq_dist(block, centres, threads):
    if block.shape[0] == 0:
        return np.empty((0, centres.shape[0]))
    return _kernels.centre_distances(np.ascontiguousarray(block), centres, threads)


def _chunk_centre_sums(block, plan):
    """[P^T X | P^T 1] of one chunk, (k, d + 1)."""
    if block.shape[0] == 0:
        return np.zeros((plan.shape[1], block.shape[1] + 1))
    return np.hstack([plan.T @ block, plan.sum(axis=0)[:, None]])


def _chunk_labels(D, g_plain):
    return np.argmin(D - g_plain[None, :], axis=1).astype(np.int64)


class SinkhornKMeans(ChunkedPostFit, _local.SinkhornKMeans):
    """:class:`partita.SinkhornKMeans` on a Dask array, its assignments solved on the workers.

    The data statistics and the initial centres are computed on the client as by
    :class:`partita.SinkhornKMeans` (X is gathered there for them); every Lloyd iteration then
    computes the squared distances chunk by chunk where the chunks live, solves the assignment
    with :func:`partita.dask.sinkhorn` (one long task per worker, the column sums exchanged
    directly; warm-started from the previous potentials) and forms the centre sums chunk by
    chunk. The iterations are those of the local estimator on its Sinkhorn path (the one it
    takes above 64 clusters): the same labels, and centres and potentials within about 1e-10
    (docs/algorithms.md, "SinkhornKMeans on row blocks"). Below 65 clusters the local
    estimator solves its assignments by Newton's method instead, to the same tolerance.

    The parameters are those of :class:`partita.SinkhornKMeans`, with ``mass`` = 1 (no partial
    transport) and ``device`` "cpu" or "auto".

    Parameters
    ----------
    n_clusters : int, default=8
    reg : float, default=0.05
    cluster_weights : array-like of shape (n_clusters,) or None, default=None
    reg_m : float or None, default=None
    mass : float, default=1.0
    init : {"k-means++", "random"} or array of shape (n_clusters, n_features), default="k-means++"
    n_init : int, default=1
    max_iter : int, default=300
    tol : float, default=1e-4
    sinkhorn_max_iter : int, default=1000
    sinkhorn_tol : float, default=1e-6
    random_state : int, RandomState instance or None, default=None
    n_jobs : int or None, default=None
    device : {"cpu", "auto"}, default="cpu"
    verbose : int, default=0

    Attributes
    ----------
    cluster_centers_, cluster_potentials_, unassigned_potential_, cluster_sizes_, inertia_,
    transport_cost_, epsilon_, n_iter_, converged_ :
        As for :class:`partita.SinkhornKMeans` (NumPy).
    labels_ : dask.array.Array of shape (n_samples,)
        Chunked as X's rows.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from partita.dask import SinkhornKMeans
    >>> X = da.from_array(np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]]), chunks=4)
    >>> km = SinkhornKMeans(n_clusters=2, reg=0.01, random_state=0).fit(X)
    >>> np.sort(km.labels_.compute()).tolist()
    [0, 0, 0, 1, 1, 1]
    """

    _local_class = _local.SinkhornKMeans

    def fit(self, X, y=None, sample_weight=None):
        """Cluster X; returns self.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SinkhornKMeans
        """
        try:
            return fit_or_leave_unfitted(
                self, self._fit_dask, X, sample_weight, private=("_rows", "_centres64")
            )
        finally:
            self.__dict__.pop("_rows", None)

    def _fit_dask(self, X, sample_weight):
        import dask
        import dask.array as da

        validate_params(self)
        if self.device == "cuda":
            raise ValueError("partita.dask.SinkhornKMeans runs on the workers' CPUs: device='cpu'")
        if float(self.mass) < 1.0:
            raise ValueError(
                "partita.dask.SinkhornKMeans solves balanced or KL-relaxed assignments; "
                f"mass must be 1, got {self.mass!r}"
            )
        Xd, wd = check_data(X, sample_weight)
        Xn, wn = dask.compute(Xd, wd)
        self._rows = Xd.astype(np.float64).persist()
        _local.SinkhornKMeans._fit(self, Xn, wn)
        self.labels_ = da.from_array(self.labels_, chunks=(Xd.chunks[0],))
        return self

    def _lloyd_run(self, X64, centres, run, s):
        """The local Sinkhorn path of one run, with distances, assignments and centre sums on
        the workers. Returns what the local _lloyd_run returns (D and P as NumPy)."""
        import dask
        import dask.array as da
        from dask import delayed

        X = self._rows
        k, d = centres.shape
        threads = task_threads(self.n_jobs)
        g, f, labels = np.zeros(k), None, None
        n_iter, converged, final = 0, False, False
        while True:
            n_iter += not final
            D = X.map_blocks(
                _chunk_sq_dist,
                centres.copy(),
                threads,
                chunks=(X.chunks[0], (k,)),
                dtype=np.float64,
            ).persist()
            r = sinkhorn(
                D,
                s.a,
                s.cw,
                reg=s.eps,
                reg_m=(math.inf, s.rho),
                max_iter=int(self.sinkhorn_max_iter),
                tol=s.assign_tol,
                f0=f,
                g0=g,
                n_jobs=self.n_jobs,
            )
            g, f = r.g, r.f
            g_plain = g + s.eps * s.log_b
            rep = _local._AssignmentReport(int(r.n_iter), float(r.err), bool(r.converged))
            if final:
                D, P = da.compute(D, r.plan)
                return D, P, g_plain, None, n_iter, rep, converged
            if self.tol == 0:  # stop when the labels stop changing
                previous = labels
                labels = D.map_blocks(_chunk_labels, g_plain, drop_axis=1, dtype=np.int64)
                labels = labels.compute()
                if previous is not None and np.array_equal(previous, labels):
                    converged, final = True, True
                    continue
            sums = dask.compute(
                *[
                    delayed(_chunk_centre_sums)(xb, pb)
                    for xb, pb in zip(X.to_delayed().ravel(), r.plan.to_delayed().ravel())
                ]
            )
            total = np.zeros((k, d + 1))
            for part in sums:  # chunks in order
                total += part
            mass = total[:, d]
            new = centres.copy()
            moved = mass > 0
            new[moved] = total[moved, :d] / mass[moved, None]
            shift = float(np.sum((new - centres) ** 2))
            centres[:] = new
            if self.verbose:
                self._print_iteration(run, n_iter, shift, rep.n_iter, rep.err, s.tol_abs)
            converged = shift <= s.tol_abs and self.tol > 0
            final = converged or n_iter == s.max_iter
