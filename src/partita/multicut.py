"""Dense multicut (correlation clustering): :class:`DenseMulticut`, :func:`multicut_objective`.

The graph is complete and its edge costs are inner products of node features,
``c_ij = <f_i, f_j> - offset`` (positive: attractive, negative: repulsive). A cluster A carries
F_A = sum of its features and |A|, so the cost between two clusters is
``<F_A, F_B> - offset |A| |B|`` and no n x n matrix is ever stored. The solvers run in C++
(``cpp/include/partita/multicut/``, bound as ``partita._core.multicut``): exact-order greedy
additive edge contraction with a best-partner heap, contraction on exact kNN graphs rebuilt in
rounds, and local node moves. With ``device="cuda"`` the kNN search of every round and
:func:`multicut_objective` run on the GPU (``partita._cuda.multicut``; docs/algorithms.md,
"Dense multicut on a GPU"). This module validates the input and presents the result as a
scikit-learn estimator. The algorithms are specified in docs/algorithms.md, sections
"Multicut objective", "GAEC", "Lazy kNN rounds", "Local moves" and "Multicut validation".
"""

import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _backend, _core, _validation
from ._backend import n_threads, resolve_device
from ._validation import (
    Integer,
    Options,
    Real,
    as_numpy,
    check_choice,
    check_real,
    check_sample_weight,
    check_weight_scale,
    fit_or_leave_unfitted,
    validate_params,
    warn_if_distance_matrix,
)

__all__ = ["DenseMulticut", "multicut_objective"]

_METRICS = ("dot", "cosine")
_ALGORITHMS = ("gaec", "lazy")
_DEFAULT_N_NEIGHBORS = 10
# Passes of single-node moves per refinement (each pass stops early when nothing moves).
_MAX_PASSES = 20
# Alternations of local moves and contraction (each stops early when nothing changes).
_MAX_ROUNDS = 10


def _check_rows(X, metric):
    """With metric='cosine', every row needs a direction; with metric='dot', the products
    must be representable."""
    if metric != "cosine":
        _validation.check_feature_range(X, products=True)
    if metric == "cosine" and X.shape[0]:
        # Not the norms: they overflow or underflow where the (rescaled) rows do not.
        zero = np.flatnonzero(~np.any(X != 0, axis=1))
        if zero.size:
            raise ValueError(
                f"metric='cosine' needs rows with a non-zero norm; {zero.size} row(s) are all "
                f"zeros (the first is row {zero[0]}); remove them or use metric='dot'"
            )


def _unit_rows(Xd):
    """float64 rows scaled to unit norm, as the C++ kernels scale them: rows whose sum of squares
    overflows or underflows are divided by their largest |x| first (the others as before)."""
    info = np.finfo(np.float64)
    with np.errstate(over="ignore", under="ignore"):
        squares = np.einsum("ij,ij->i", Xd, Xd)
    odd = ~((squares >= info.tiny) & (squares <= info.max))
    if np.any(odd):
        Xd = Xd.copy()
        Xd[odd] /= np.max(np.abs(Xd[odd]), axis=1)[:, None]
        squares[odd] = np.einsum("ij,ij->i", Xd[odd], Xd[odd])
    return Xd / np.sqrt(squares)[:, None]


def _memory_estimate(n, d, n_neighbors, algorithm, refine):
    """Bytes the C++ solver allocates at its peak: float64 rows, a feature-major copy, the kNN
    lists, heap and adjacency (nothing quadratic)."""
    rows = 8 * n * d
    total = 4 * rows + 64 * n
    if algorithm == "lazy" or refine:
        total += n * n_neighbors * (16 + 16 + 56)
    return total


def _canonical(labels):
    """Labels renumbered 0..c-1 in the order of each cluster's first sample."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    return np.argsort(np.argsort(first))[inverse.reshape(-1)].astype(np.int64)


def _check_offset_scale(offset, total_weight):
    # The objective sums up to offset * W^2 / 2 over the cut pairs (W the total weight): refuse
    # an offset for which that overflows float64 rather than return -inf.
    if offset * (total_weight * total_weight) / 2 > np.finfo(np.float64).max / 4:
        raise ValueError(
            f"offset={offset:g} is too large for {total_weight:g} samples (of total weight): the "
            "objective would overflow float64"
        )


def multicut_objective(X, labels, *, offset=0.0, metric="dot", sample_weight=None, device="cpu"):
    """The multicut objective of a clustering: the sum of the costs of the edges it cuts.

    With edge costs ``c_ij = <f_i, f_j> - offset`` (``f_i`` the rows of X, unit-normalised with
    ``metric="cosine"``), the objective is ``sum_{i < j, labels_i != labels_j} c_ij``; lower is
    better and a single cluster scores 0. Computed in O(n d) without any n x n matrix, as
    ``(1/2) sum_C [<F_C, S - F_C> - offset |C| (n - |C|)]`` (F_C the sum of the features of
    cluster C, S of all), accumulated in float64. With sample weights w a sample counts as w_i
    coincident samples: every cut edge costs ``w_i w_j c_ij`` (docs/algorithms.md, "Multicut
    objective").

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        Any integer labels; every distinct value is one cluster (-1 included).
    offset : float, default=0.0
        Non-negative cost offset a.
    metric : {"dot", "cosine"}, default="dot"
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative node weights (None: every weight 1).
    device : {"cpu", "cuda", "auto"}, default="cpu"
        ``"cuda"``: the sums on the GPU, by the CPU's operations in the CPU's order (the same
        value with ``metric="dot"``; with ``"cosine"`` the rows are normalised on the host by
        NumPy, equal to the CPU's up to rounding). It warns ``GPUNotValidatedWarning``: it has
        run under the CPU emulator only.

    Returns
    -------
    float
    """
    offset = check_real(offset, "offset", min_value=0)
    check_choice(metric, "metric", _METRICS)
    device = resolve_device(device, family="multicut", estimator="multicut_objective")
    X = check_array(as_numpy(X), dtype=[np.float64, np.float32], order="C", ensure_min_samples=1)
    _check_rows(X, metric)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != X.shape[0]:
        raise ValueError(f"labels must have shape ({X.shape[0]},), got {labels.shape}")
    if labels.dtype.kind not in "iu":
        if (
            labels.dtype.kind == "f"
            and np.all(np.isfinite(labels))
            and np.all(labels == np.round(labels))
        ):
            labels = labels.astype(np.int64)
        else:
            raise ValueError("labels must be integers")
    _, inverse = np.unique(labels, return_inverse=True)
    inverse = np.ascontiguousarray(inverse.reshape(-1), dtype=np.int64)
    c = int(inverse.max()) + 1
    w = None if sample_weight is None else check_sample_weight(sample_weight, X.shape[0])
    if w is not None:
        check_weight_scale(w)  # costs multiply two weights
    _check_offset_scale(offset, float(X.shape[0] if w is None else w.sum()))
    if device == "cuda":
        Xd = np.asarray(X, dtype=np.float64)
        if metric == "cosine":
            Xd = _unit_rows(Xd)
        kernels = _backend.family_module("multicut", "cuda")
        return float(kernels.objective(np.ascontiguousarray(Xd), inverse, c, offset, w))
    return float(
        _core.multicut.objective(
            X, inverse, c, offset, _core.multicut.Metric.__members__[metric], w
        )
    )


class DenseMulticut(ClusterMixin, BaseEstimator):
    """Dense multicut (correlation clustering) of feature vectors; finds the number of clusters.

    The samples are the nodes of a complete graph whose edge costs are
    ``c_ij = <f_i, f_j> - offset``: positive costs attract, negative ones repel. The clustering
    minimises the multicut objective, the sum of the costs of the edges between clusters (a
    single cluster scores 0), so the number of clusters follows from the data and the offset.
    No n x n matrix is stored: a cluster is represented by the sum of its features, and the
    cost between clusters A and B is ``<F_A, F_B> - offset |A| |B|``.

    Parameters
    ----------
    offset : float, default=0.0
        The non-negative offset a subtracted from every inner product. Larger values give more,
        smaller clusters; with unit vectors (``metric="cosine"``), two samples attract when their
        cosine similarity exceeds the offset.
    metric : {"dot", "cosine"}, default="dot"
        ``"dot"``: the features as given; ``"cosine"``: rows unit-normalised first (a row of
        zeros is an error).
    algorithm : {"lazy", "gaec"}, default="lazy"
        ``"gaec"``: greedy additive edge contraction on the complete graph in exactly its greedy
        order: the positive edge of largest cost is contracted first, ties to the pair whose
        smallest sample indices (lo, hi) are lexicographically smallest. Each active cluster
        keeps its best partner (an exact maximum inner-product search over the active clusters,
        O(c d), threaded) in a heap. Memory O(n d), time about O(n^2 d).
        ``"lazy"``: greedy contraction on exact kNN graphs of the active clusters (blocked,
        threaded dense dot products with a top-k selection), rebuilt over the remaining clusters
        until a rebuild finds no positive edge. The result has no positive merge left between
        its clusters; the order of merges, and so the partition, can differ from ``"gaec"``.
    n_neighbors : int, default=10
        Neighbours per cluster in the kNN graphs of ``"lazy"`` (capped at the number of
        clusters minus one), and of the contraction that follows local moves when
        ``refine=True``. Unused (and so an error to change) with ``algorithm="gaec"`` and
        ``refine=False``.
    refine : bool, default=True
        After contraction, move single samples to another cluster (or a new one of their own)
        while that lowers the objective, then contract again (kNN rounds) and repeat until
        nothing changes (at most 10 alternations of at most 20 passes of moves). Each move is
        applied only when its exact gain is positive, so refinement never worsens the
        objective.
    n_jobs : int or None, default=None
        OpenMP threads of the kNN search, the best-partner search and the move evaluation
        (None: all cores, or what OMP_NUM_THREADS / threadpoolctl allow; -1: all cores). The
        result does not depend on it.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        ``"cuda"`` (``algorithm="lazy"`` only): the exact kNN search of every contraction round
        runs on the GPU and returns the CPU's lists, so the result is the CPU's; the contraction
        and the local moves run on the host (docs/algorithms.md, "Dense multicut on a GPU"). It
        warns ``GPUNotValidatedWarning``: it has run under the CPU emulator only. ``"auto"``:
        the GPU when one is usable and the algorithm is ``"lazy"``, else the CPU.
    verbose : int, default=0
        Print the problem before solving and a summary after (clusters, contractions, kNN
        rounds, moves, objective, the number of threads used, time).

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of every sample, 0 .. n_clusters_-1, numbered in the order of each cluster's
        first sample.
    n_clusters_ : int
    objective_ : float
        The multicut objective of ``labels_`` (see :func:`multicut_objective`; weighted by the
        sample weights of the fit).
    converged_ : bool
        False when the alternation of local moves and contraction (``refine=True``) still
        changed the partition after its last round (10); the fit then warns with scikit-learn's
        ``ConvergenceWarning``. Always True with ``refine=False``: contraction runs to its end.
    n_merges_ : int
        Number of contractions (two clusters merged into one), including those after refinement.
    n_moves_ : int
        Number of single-sample moves made by refinement.
    n_rounds_ : int
        Number of kNN graphs built (``"lazy"``, and the contractions after refinement).
    cluster_sums_ : ndarray of shape (n_clusters_, n_features)
        F_C, the sum of the (normalised, for cosine) features of every cluster, in float64,
        each multiplied by its sample weight.
    cluster_weights_ : ndarray of shape (n_clusters_,)
        |C|, the weight of every cluster (its number of samples without sample weights).
    cluster_sizes_ : ndarray of shape (n_clusters_,)
        Number of samples of every cluster.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when X has feature names that are all strings.

    Notes
    -----
    The same data gives the same partition on every run and every thread count: every cost is
    computed by the same float64 operations (a sum over the features in order, however it is
    vectorised), and the searches combine fixed partitions in order. float32 input is
    converted to float64 rows once.

    ``predict`` assigns a new sample to the training cluster with the largest positive total
    affinity ``<f, F_C> - offset |C|`` (the gain of adding it to C), or -1 when no cluster
    attracts it.

    A sample of weight w counts as w coincident samples (docs/algorithms.md, "Multicut
    objective"); samples of weight 0 take no part in the objective and are placed afterwards by
    the rule of ``predict`` (a cluster of their own when none attracts them).

    Examples
    --------
    >>> import numpy as np
    >>> from partita import DenseMulticut
    >>> X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> mc = DenseMulticut(offset=0.5).fit(X)
    >>> mc.labels_, mc.objective_
    (array([0, 0, 1, 1]), -2.0)
    """

    _parameter_constraints = {
        "offset": [Real(0)],
        "metric": [Options(*_METRICS)],
        "algorithm": [Options(*_ALGORITHMS)],
        "n_neighbors": [Integer(1)],
        "refine": ["boolean"],
        "n_jobs": [None, Integer()],
        "device": [Options("cpu", "cuda", "auto")],
        "verbose": [Integer(0)],
    }

    def __init__(
        self,
        *,
        offset=0.0,
        metric="dot",
        algorithm="lazy",
        n_neighbors=10,
        refine=True,
        n_jobs=None,
        device="cpu",
        verbose=0,
    ):
        self.offset = offset
        self.metric = metric
        self.algorithm = algorithm
        self.n_neighbors = n_neighbors
        self.refine = refine
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "labels_")

    def _check_params(self):
        """The checks that relate parameters to each other; returns offset, k and threads."""
        if (
            self.algorithm == "gaec"
            and not self.refine
            and self.n_neighbors != _DEFAULT_N_NEIGHBORS
        ):
            raise ValueError(
                "n_neighbors is used by algorithm='lazy' and by the contraction after "
                "refine=True; algorithm='gaec' with refine=False does not use it"
            )
        device = self.device
        if device == "auto" and self.algorithm != "lazy":
            device = "cpu"
        if device == "cuda" and self.algorithm != "lazy":
            raise ValueError(
                "device='cuda' runs algorithm='lazy' (the kNN rounds on the GPU); "
                f"algorithm={self.algorithm!r} runs on the CPU: use device='cpu'"
            )
        device = resolve_device(device, family="multicut", estimator=type(self).__name__)
        return float(self.offset), int(self.n_neighbors), n_threads(self.n_jobs), device

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
                X,
                n_threads(self.n_jobs),
                hint="DenseMulticut takes feature vectors; their pairwise costs come from "
                "dot products (metric='dot') or cosines.",
            )
        _check_rows(X, self.metric)
        return X

    def fit(self, X, y=None, sample_weight=None):
        """Cluster X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative node weights: a sample of weight w counts as w coincident samples in
            the objective (None: every weight 1).

        Returns
        -------
        self
        """
        return fit_or_leave_unfitted(self, self._fit, X, sample_weight)

    def _fit(self, X, sample_weight):
        validate_params(self)
        offset, k, threads, device = self._check_params()
        X = self._validate_X(X, reset=True)
        n, d = X.shape
        k = max(1, min(k, n - 1))  # a cluster has at most n - 1 neighbours (documented cap)
        w = None if sample_weight is None else check_sample_weight(sample_weight, n)
        if w is not None:
            check_weight_scale(w)  # costs multiply two weights
        _check_offset_scale(offset, float(n if w is None else w.sum()))
        # Weight-0 samples take no part in the objective: solve without them, place them after.
        keep = None if w is None or np.all(w > 0) else np.flatnonzero(w > 0)
        _validation.check_fits_in_memory(
            _memory_estimate(n, d, k, self.algorithm, bool(self.refine)),
            f"dense multicut of {n} samples x {d} features",
            "reduce n_neighbors, the number of features (e.g. PCA) or the number of samples",
        )
        if self.verbose:
            print(
                f"[DenseMulticut] {self.algorithm}{' + refine' if self.refine else ''}: "
                f"{n} samples x {d} features, metric {self.metric}, offset {offset:g}, "
                f"on the {device.upper()}"
            )
        t0 = time.perf_counter()
        mc = _core.multicut
        params = mc.Params(
            offset=offset,
            metric=mc.Metric.__members__[self.metric],
            algorithm=mc.Algorithm.__members__[self.algorithm],
            n_neighbors=k,
            refine=bool(self.refine),
            max_passes=_MAX_PASSES,
            max_rounds=_MAX_ROUNDS,
            n_threads=threads,
        )
        knn = None
        if device == "cuda":
            knn = _backend.family_module("multicut", "cuda").knn_positive
        if keep is None:
            r = mc.solve(X, params, w, knn=knn)
        else:
            r = mc.solve(
                np.ascontiguousarray(X[keep]), params, np.ascontiguousarray(w[keep]), knn=knn
            )
        if self.verbose:
            print(
                f"[DenseMulticut] {r.n_clusters} clusters: {r.n_merges} contractions, "
                f"{r.n_rounds} kNN rounds, {r.n_moves} moves, objective {r.objective:.6g}, "
                f"{r.n_threads} threads, {time.perf_counter() - t0:.3f} s"
            )
        if not r.converged:
            warnings.warn(
                f"DenseMulticut: local moves and contraction still changed the "
                f"partition after {_MAX_ROUNDS} rounds; the result may not be a local "
                "optimum.",
                ConvergenceWarning,
                stacklevel=4,
            )
        labels = np.asarray(r.labels, dtype=np.int64)
        c = r.n_clusters
        Xd = np.asarray(X, dtype=np.float64)
        if self.metric == "cosine":
            Xd = _unit_rows(Xd)
        if keep is not None:
            labels, c = self._place_unweighted(Xd, w, keep, labels, c, offset)
        sums = np.zeros((c, d))
        np.add.at(sums, labels, Xd if w is None else Xd * w[:, None])
        self.labels_ = labels
        self.n_clusters_ = c
        self.objective_ = float(r.objective)
        self.converged_ = bool(r.converged)
        self.n_merges_ = int(r.n_merges)
        self.n_moves_ = int(r.n_moves)
        self.n_rounds_ = int(r.n_rounds)
        self.cluster_sums_ = sums
        self.cluster_sizes_ = np.bincount(labels, minlength=c).astype(np.int64)
        self.cluster_weights_ = (
            self.cluster_sizes_.astype(np.float64)
            if w is None
            else np.bincount(labels, weights=w, minlength=c)
        )
        return self

    @staticmethod
    def _place_unweighted(Xd, w, keep, labels, c, offset):
        """Labels of all samples from those of the positive-weight ones (`keep`): a weight-0
        sample joins the cluster of largest positive affinity, else a cluster of its own."""
        n = Xd.shape[0]
        sums = np.zeros((c, Xd.shape[1]))
        np.add.at(sums, labels, Xd[keep] * w[keep][:, None])
        weights = np.bincount(labels, weights=w[keep], minlength=c)
        zero = np.flatnonzero(~(w > 0))
        A = Xd[zero] @ sums.T - offset * weights
        best = np.argmax(A, axis=1)
        alone = ~(A[np.arange(zero.size), best] > 0)
        best[alone] = c + np.arange(np.count_nonzero(alone))
        out = np.empty(n, dtype=np.int64)
        out[keep] = labels
        out[zero] = best
        out = _canonical(out)
        return out, int(out.max()) + 1

    def fit_predict(self, X, y=None, sample_weight=None):
        """Cluster X and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def affinity(self, X):
        """Total affinity of new samples to the training clusters, shape (n_samples, n_clusters_):
        ``<f, F_C> - offset |C|``, the change of the objective's uncut weight when f joins C."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        Xd = np.asarray(X, dtype=np.float64)
        if self.metric == "cosine":
            Xd = _unit_rows(Xd)
        return Xd @ self.cluster_sums_.T - float(self.offset) * self.cluster_weights_

    def predict(self, X):
        """The training cluster with the largest positive total affinity (ties to the smallest
        label), or -1 when every cluster repels the sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        A = self.affinity(X)
        out = np.full(A.shape[0], -1, dtype=np.int64)
        if A.shape[1]:
            best = np.argmax(A, axis=1)
            ok = A[np.arange(A.shape[0]), best] > 0
            out[ok] = best[ok]
        return out

    def score(self, X, y=None, sample_weight=None):
        """Negative multicut objective of X partitioned by the fitted clusters.

        Every sample joins the training cluster that ``predict`` gives it (a sample that every
        cluster repels is a cluster of its own), and the score is minus the objective of that
        partition of X (see :func:`multicut_objective`): higher is better, as for scikit-learn's
        ``KMeans.score``. On the training data it is ``-objective_`` whenever ``predict``
        returns ``labels_``, as it does after refinement when every sample attracts itself
        (``<f_i, f_i> > offset``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples of X in the objective.

        Returns
        -------
        float
        """
        labels = self.predict(X)
        alone = labels < 0
        labels[alone] = self.n_clusters_ + np.arange(np.count_nonzero(alone))
        return -multicut_objective(
            X, labels, offset=self.offset, metric=self.metric, sample_weight=sample_weight
        )
