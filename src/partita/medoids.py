"""k-medoids clustering: :class:`KMedoids`.

The optimisation (FasterPAM, FastPAM1, PAM, alternate) and the initialisations (BUILD, LAB,
k-medoids++) run in C++ (``cpp/include/partita/medoids.hpp``); this module validates the input,
computes the distance matrix for feature input, and presents the result as a scikit-learn
estimator. The algorithms are specified in ``ALGORITHMS.md`` section 1.
"""
import math
import time
import warnings

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.metrics import pairwise_distances
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _core
from ._backend import n_threads, resolve_device
from ._validation import (
    check_choice,
    check_fits_in_memory,
    check_int,
    check_n_clusters,
    check_precomputed_distances,
    check_sample_weight,
    float_dtype,
)

__all__ = ["KMedoids"]

_METHODS = ("fasterpam", "fastpam1", "pam", "alternate")
_INITS = ("build", "lab", "k-medoids++", "random")


def _distance_matrix(X, metric, n_jobs, threads):
    """The full symmetric n x n distance matrix of feature rows, in X's float dtype."""
    n = X.shape[0]
    itemsize = np.dtype(X.dtype).itemsize
    check_fits_in_memory(
        n * n * itemsize,
        f"the {n} x {n} {np.dtype(X.dtype).name} distance matrix",
        "pass float32 data (half the memory), fit on a subsample, or precompute a sparser "
        "problem (CLARA and on-the-fly distances are planned for large n)",
    )
    D = pairwise_distances(X, metric=metric, n_jobs=n_jobs)
    D = np.ascontiguousarray(D, dtype=X.dtype)
    if not D.flags.writeable:  # pragma: no cover - pairwise_distances returns a new array
        D = D.copy()
    report = _core.inspect_distance_matrix(D, threads)
    if report["n_nonfinite"]:
        raise ValueError(f"metric {metric!r} returned NaN or infinite distances")
    if report["min"] < 0:
        raise ValueError(f"metric {metric!r} returned negative distances ({report['min']:g})")
    scale = max(report["max"], 1e-300)
    if callable(metric) and report["max_asymmetry"] > 1e-6 * scale:
        raise ValueError(
            "the metric callable is not symmetric: d(x, y) != d(y, x) "
            f"(largest difference {report['max_asymmetry']:g}); k-medoids needs a symmetric dissimilarity"
        )
    # Metrics computed through dot products differ in the last bits between (i, j) and (j, i).
    _core.symmetrize_distance_matrix(D, threads)
    return D


class KMedoids(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """k-medoids clustering: k representative samples (medoids) minimising the total distance
    of every sample to its nearest medoid.

    Unlike k-means, the centres are actual samples and any dissimilarity can be used, including
    a precomputed matrix. With the same initial medoids, ``method="fasterpam"``, ``"fastpam1"``
    and ``"pam"`` give exactly the medoids, labels, loss and swap counts of the reference
    implementation (the ``kmedoids`` package), on any number of threads.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of medoids k.
    metric : str or callable, default="euclidean"
        ``"precomputed"`` (X is an n x n symmetric distance matrix with a zero diagonal), any
        metric name accepted by :func:`sklearn.metrics.pairwise_distances`, or a callable
        ``f(x, y) -> float``. A Python callable is evaluated once per pair through scikit-learn
        and is slow; prefer a built-in metric name or a precomputed matrix.
    method : {"fasterpam", "fastpam1", "pam", "alternate"}, default="fasterpam"
        ``"fasterpam"``: eager swaps, O(n^2) per pass, the fastest; ``"fastpam1"``: PAM's
        best-swap schedule in O(n^2) per swap; ``"pam"``: the classic O(k n^2) SWAP, for
        reference; ``"alternate"``: k-means-style Voronoi iteration (fast, usually worse).
    init : {"build", "lab", "k-medoids++", "random"} or array of shape (n_clusters,), default="build"
        ``"build"``: PAM's greedy BUILD (deterministic, O(k n^2), the best start);
        ``"lab"``: linear approximative BUILD on random subsamples, O(k n); ``"k-medoids++"``:
        D^2 sampling with local trials; ``"random"``: k distinct random samples; or the indices
        of the k initial medoids.
    max_iter : int, default=300
        Maximum number of passes (fasterpam) or swaps (fastpam1, pam) or iterations (alternate).
        0 returns the initial medoids without optimisation.
    random_state : int, RandomState instance or None, default=None
        Seeds the "lab", "k-medoids++" and "random" initialisations. BUILD and the swaps are
        deterministic.
    n_jobs : int or None, default=None
        Threads for the kernels. None: all cores unless limited by OMP_NUM_THREADS or
        threadpoolctl; -1: all cores. The result never depends on it.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to run. The CUDA k-medoids kernels are not part of this release: "cuda" raises a
        ValueError and "auto" runs on the CPU.
    verbose : int, default=0
        Print the time and outcome of the initialisation and the optimisation.

    Attributes
    ----------
    medoid_indices_ : ndarray of shape (n_clusters,)
        Index of the medoid of each cluster in the training data.
    cluster_centers_ : ndarray of shape (n_clusters, n_features) or None
        The medoids' feature vectors (None with ``metric="precomputed"``).
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training sample (ties go to the lowest cluster).
    inertia_ : float
        Weighted total distance of the samples to their medoids (the loss).
    n_iter_ : int
        Passes (fasterpam), iterations (fastpam1, pam) or rounds (alternate) run.
    n_swaps_ : int
        Medoid changes made by the optimisation.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has feature names that are all strings.

    Examples
    --------
    >>> import numpy as np
    >>> from partita import KMedoids
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1]])
    >>> km = KMedoids(n_clusters=2, random_state=0).fit(X)
    >>> km.medoid_indices_.tolist(), km.labels_.tolist()
    ([1, 3], [0, 0, 0, 1, 1])
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        metric="euclidean",
        method="fasterpam",
        init="build",
        max_iter=300,
        random_state=None,
        n_jobs=None,
        device="cpu",
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.metric = metric
        self.method = method
        self.init = init
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.metric == "precomputed"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ---- validation ------------------------------------------------------------------------

    def _check_params(self):
        check_choice(self.method, "method", _METHODS)
        if not (isinstance(self.init, str) or hasattr(self.init, "__len__")):
            raise ValueError(
                f"init must be one of {', '.join(map(repr, _INITS))} or an array of sample "
                f"indices; got {self.init!r}"
            )
        if isinstance(self.init, str):
            check_choice(self.init, "init", _INITS)
        if not (callable(self.metric) or isinstance(self.metric, str)):
            raise ValueError(f"metric must be a string or a callable, got {self.metric!r}")
        check_int(self.max_iter, "max_iter", min_value=0)
        check_int(self.verbose, "verbose", min_value=0)
        resolve_device(self.device, supported=("cpu",))
        return n_threads(self.n_jobs)

    def _validate_X(self, X, reset):
        # A precomputed matrix is checked for NaN / inf in the same C++ pass as its symmetry.
        return validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=False,
            dtype=[np.float64, np.float32],
            order="C",
            ensure_min_samples=1,
            ensure_all_finite=not (reset and self.metric == "precomputed"),
        )

    def _initial_medoids(self, D, k, weights, threads):
        n = D.shape[0]
        init = self.init
        if not isinstance(init, str):
            medoids = np.asarray(init)
            if medoids.ndim != 1 or medoids.shape[0] != k:
                raise ValueError(
                    f"init as an array must hold n_clusters={k} sample indices, got shape "
                    f"{medoids.shape}"
                )
            if not np.issubdtype(medoids.dtype, np.integer):
                if np.issubdtype(medoids.dtype, np.floating) and np.all(medoids == np.round(medoids)):
                    medoids = medoids.astype(np.int64)
                else:
                    raise ValueError("init as an array must hold integer sample indices")
            if medoids.min() < 0 or medoids.max() >= n:
                raise ValueError(f"init indices must be in [0, {n - 1}] (n_samples={n})")
            if np.unique(medoids).shape[0] != k:
                raise ValueError("init indices must be distinct: a sample cannot be two medoids")
            return np.ascontiguousarray(medoids, dtype=np.int64)
        rng = check_random_state(self.random_state)
        if init == "build":
            return _core.kmedoids_build(D, k, weights, threads)
        if init == "lab":
            m = min(n, 10 + math.ceil(math.sqrt(n)))
            samples = np.stack([rng.choice(n, m, replace=False) for _ in range(k)])
            return _core.kmedoids_lab(D, np.ascontiguousarray(samples, dtype=np.int64), weights)
        if init == "k-medoids++":
            seed = int(rng.randint(np.iinfo(np.int32).max)) * (2**31) + int(
                rng.randint(np.iinfo(np.int32).max)
            )
            return _core.kmedoids_plusplus(D, k, weights, seed, threads)
        # random
        return np.ascontiguousarray(rng.choice(n, k, replace=False), dtype=np.int64)

    # ---- fitting -----------------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Find the medoids.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) when
            ``metric="precomputed"``
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of every sample in the loss (and in BUILD, LAB, k-medoids++).

        Returns
        -------
        self
        """
        threads = self._check_params()
        X = self._validate_X(X, reset=True)
        n = X.shape[0]
        k = check_n_clusters(self.n_clusters, n)
        weights = check_sample_weight(sample_weight, n)
        t0 = time.perf_counter()
        if self.metric == "precomputed":
            check_precomputed_distances(X, threads)
            D = X
        else:
            D = _distance_matrix(X, self.metric, self.n_jobs, threads)
        if self.verbose:
            print(f"[KMedoids] distances ({n} x {n}, {D.dtype}): {time.perf_counter() - t0:.3f} s")

        t0 = time.perf_counter()
        medoids = self._initial_medoids(D, k, weights, threads)
        if self.verbose:
            init = self.init if isinstance(self.init, str) else "given indices"
            print(f"[KMedoids] init {init}: {time.perf_counter() - t0:.3f} s")

        t0 = time.perf_counter()
        result = _core.kmedoids_optimise(
            D, medoids, weights, self.method, int(self.max_iter), threads
        )
        if self.verbose:
            print(
                f"[KMedoids] {self.method}: {result['n_iter']} iterations, "
                f"{result['n_swaps']} swaps, loss {result['loss']:.6g}, "
                f"{time.perf_counter() - t0:.3f} s"
            )
        if self.method in ("fastpam1", "pam") and result["n_iter"] >= self.max_iter > 0:
            warnings.warn(
                f"{self.method} stopped after max_iter={self.max_iter} swaps before converging",
                RuntimeWarning,
            )

        self.medoid_indices_ = np.asarray(result["medoids"], dtype=np.int64)
        self.labels_ = np.asarray(result["labels"], dtype=np.int64)
        self.inertia_ = float(result["loss"])
        self.n_iter_ = int(result["n_iter"])
        self.n_swaps_ = int(result["n_swaps"])
        self.cluster_centers_ = None if self.metric == "precomputed" else X[self.medoid_indices_]
        self._n_features_out = k
        return self

    # ---- using the fitted medoids ------------------------------------------------------------

    def transform(self, X):
        """Distances of every sample to the k medoids, shape (n_samples, n_clusters).

        With ``metric="precomputed"``, X holds the distances of the samples to the training
        samples, shape (n_samples, n_training_samples).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        if self.metric == "precomputed":
            if np.any(X < 0):
                raise ValueError("precomputed distances must be non-negative")
            return np.ascontiguousarray(X[:, self.medoid_indices_])
        D = pairwise_distances(X, self.cluster_centers_, metric=self.metric, n_jobs=self.n_jobs)
        return np.asarray(D, dtype=X.dtype)

    def predict(self, X):
        """Cluster of every sample: its nearest medoid (ties go to the lowest cluster)."""
        return np.argmin(self.transform(X), axis=1).astype(np.int64)

    def score(self, X, y=None, sample_weight=None):
        """Negative weighted total distance of X to its nearest medoids (higher is better)."""
        D = self.transform(X)
        w = check_sample_weight(sample_weight, D.shape[0])
        return -float(np.dot(w, D.min(axis=1).astype(np.float64)))
