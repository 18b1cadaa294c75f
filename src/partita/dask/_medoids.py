"""CLARA on a Dask array: samples gathered to the client, candidate medoids scored on every
chunk where it lives."""

import time
import types

import numpy as np
from sklearn.utils import check_random_state

from .. import medoids as _local
from .._backend import n_threads
from .._core import medoids as _kernels
from .._validation import check_n_clusters, fit_or_leave_unfitted, validate_params
from ._arrays import offsets
from ._post_fit import ChunkedPostFit
from ._validation import check_data

_METRICS = ("euclidean", "l2", "sqeuclidean", "manhattan", "cityblock", "l1", "cosine")


def task_threads(n_jobs):
    """OpenMP threads of one chunk task: n_jobs, or 1 when None (the workers' threads, one per
    core in a default cluster, are the parallelism)."""
    return 1 if n_jobs is None else n_threads(n_jobs)


def _label_chunk(block, weights, first, medoids, medoid_rows, metric, n_jobs):
    """label_blocks on one chunk: its rows, then the medoid rows that live elsewhere, so every
    distance is computed as on all of X (a medoid inside the chunk is its own row)."""
    n = block.shape[0]
    if n == 0:
        empty = np.empty(0)
        return np.empty(0, dtype=np.int64), empty, empty, empty
    inside = (medoids >= first) & (medoids < first + n)
    index = np.where(inside, medoids - first, n + np.cumsum(~inside) - 1).astype(np.int64)
    rows = np.ascontiguousarray(np.vstack([block, medoid_rows[~inside]]), dtype=block.dtype)
    w = np.concatenate([weights, np.zeros(int(np.count_nonzero(~inside)))])
    space = _local._feature_space(rows, metric)
    part = _kernels.label_blocks(space, index, w, n, first, _local.LOSS_BLOCK, task_threads(n_jobs))
    return part.labels.astype(np.int64), part.head, part.sums, part.tail


def _loss_pieces(part):
    labels, head, sums, tail = part
    return types.SimpleNamespace(labels=np.empty(len(labels)), head=head, sums=sums, tail=tail)


def _labels_of(part):
    return part[0]


class CLARA(ChunkedPostFit, _local.CLARA):
    """CLARA on a Dask array: the medoids, labels and losses of :class:`partita.CLARA`.

    Every round draws its sample exactly as :class:`partita.CLARA` does with the same
    ``random_state``, gathers those rows to the client, runs the k-medoids method on them
    there, and scores the medoids on every chunk of X where the chunk lives (only the medoid
    rows travel; each chunk returns its loss cut at fixed blocks of rows, docs/algorithms.md,
    "Chunked loss"). So ``medoid_indices_``, ``labels_``, ``sample_losses_`` and ``inertia_``
    equal the local ones bit for bit, for any chunking and number of workers.

    The parameters are those of :class:`partita.CLARA`; ``metric`` is one computed in C++
    (euclidean, sqeuclidean, manhattan, cosine, or their aliases), and ``n_jobs`` sets the
    threads of the client's step and of every chunk task (None: all cores on the client, one
    thread per task).

    Parameters
    ----------
    n_clusters : int, default=8
    metric : str, default="euclidean"
    metric_params : None, default=None
        No built-in metric takes parameters.
    n_sampling : int, default=5
    sample_size : int or None, default=None
    method : {"fasterpam", "fastpam1", "pam", "alternate"}, default="fasterpam"
    init : {"build", "lab", "k-medoids++", "random"}, default="build"
    max_iter : int, default=300
    random_state : int, RandomState instance or None, default=None
    n_jobs : int or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    medoid_indices_, cluster_centers_, inertia_, n_iter_, n_swaps_, converged_, sample_losses_ :
        As for :class:`partita.CLARA` (NumPy).
    labels_ : dask.array.Array of shape (n_samples,)
        Chunked as X's rows.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from partita.dask import CLARA
    >>> X = da.from_array(np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]]), chunks=4)
    >>> clara = CLARA(n_clusters=2, random_state=0).fit(X)
    >>> clara.medoid_indices_.tolist(), clara.labels_.compute().tolist()
    ([1, 4], [0, 0, 0, 1, 1, 1])
    """

    _local_class = _local.CLARA

    def fit(self, X, y=None, sample_weight=None):
        """Find the medoids from samples of X, scored on every chunk; returns self.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None

        Returns
        -------
        self : CLARA
        """
        return fit_or_leave_unfitted(self, self._fit_dask, X, sample_weight)

    def _fit_dask(self, X, sample_weight):
        import dask
        import dask.array as da
        from dask import delayed

        if not isinstance(self.init, str):
            raise ValueError(
                "CLARA draws its own samples, so init must be one of "
                f"{', '.join(map(repr, _local._INITS))}, not an array of indices"
            )
        validate_params(self)
        if not (isinstance(self.metric, str) and self.metric in _METRICS):
            raise ValueError(
                f"partita.dask.CLARA computes the metrics built into partita "
                f"({', '.join(_METRICS)}), not metric={self.metric!r}; use partita.CLARA on "
                "local data for the others"
            )
        if self.metric_params:
            raise ValueError(f"metric_params cannot be used with metric={self.metric!r}")
        n_sampling, threads = int(self.n_sampling), n_threads(self.n_jobs)
        X, weights = check_data(X, sample_weight, squared_range=self.metric != "cosine")
        n, d = X.shape
        k = check_n_clusters(self.n_clusters, n)
        rng = check_random_state(self.random_state)
        size = self._sample_size(n, k)
        firsts = offsets(X.chunks[0])
        blocks, weight_blocks = X.to_delayed().ravel(), weights.to_delayed().ravel()

        best, losses = None, []
        for round_ in range(n_sampling):
            t0 = time.perf_counter()
            keep = best.medoids if best is not None else np.empty(0, dtype=np.int64)
            sample = _local._clara_sample(rng, n, keep, size)
            sub, w = dask.compute(X[sample], weights[sample])
            sub = np.ascontiguousarray(sub)
            D = _local._feature_space(sub, self.metric).distance_matrix(threads)
            w = np.ascontiguousarray(w)
            if w.sum() <= 0:
                w = np.ones_like(w)  # all-zero weights in a sample: any medoids are equal
            start = _local._initial_medoids(self.init, D, size, k, w, threads, rng)
            r = _kernels.optimise(D, start, w, _local._method(self.method), self.max_iter, threads)
            medoids, rows = sample[r.medoids], sub[r.medoids]
            parts = dask.persist(
                *[
                    delayed(_label_chunk, pure=False)(
                        b, wb, first, medoids, rows, self.metric, self.n_jobs
                    )
                    for b, wb, first in zip(blocks, weight_blocks, firsts)
                ]
            )
            pieces = dask.compute(*[delayed(_loss_pieces)(p) for p in parts])
            loss = _local._blocked_loss(zip(firsts, pieces), n)
            losses.append(loss)
            if best is None or loss < best.loss:
                best = types.SimpleNamespace(
                    medoids=medoids,
                    rows=rows,
                    parts=parts,
                    loss=loss,
                    n_swaps=r.n_swaps,
                    converged=r.converged,
                )
            if self.verbose:
                print(
                    f"[CLARA] round {round_ + 1}/{n_sampling}: sample of {size}, "
                    f"{int(r.n_swaps)} swaps, loss {loss:.6g} (best {best.loss:.6g}), "
                    f"{time.perf_counter() - t0:.3f} s"
                )
        self.sample_losses_ = np.asarray(losses)
        _local._warn_if_not_converged(
            best, self.method, int(self.max_iter), " in the sample that gave the best medoids"
        )
        self.converged_ = bool(best.converged)
        self.effective_metric_params_ = {}
        self.n_features_in_ = d
        self.medoid_indices_ = np.asarray(best.medoids, dtype=np.int64)
        self.cluster_centers_ = best.rows
        self.inertia_ = float(best.loss)
        self.n_iter_ = n_sampling
        self.n_swaps_ = int(best.n_swaps)
        self._n_features_out = k
        self.labels_ = da.concatenate(
            [
                da.from_delayed(delayed(_labels_of)(p), shape=(c,), dtype=np.int64)
                for p, c in zip(best.parts, X.chunks[0])
            ]
        ).rechunk((X.chunks[0],))  # concatenate drops empty chunks
        return self

    def _sample_size(self, n, k):
        import warnings

        size = 80 + 4 * k if self.sample_size is None else int(self.sample_size)
        if size > n:
            if self.sample_size is not None:
                warnings.warn(
                    f"sample_size={size} is larger than n_samples={n}; using {n}",
                    UserWarning,
                    stacklevel=4,
                )
            size = n
        if size < k:
            raise ValueError(f"sample_size={size} must be >= n_clusters={k}")
        return size

    @staticmethod
    def _copied(name):
        # Of the private attributes only _n_features_out: the rest is the sampling state.
        return name.endswith("_") and name != "labels_" or name == "_n_features_out"
