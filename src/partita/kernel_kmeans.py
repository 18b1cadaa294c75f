"""Kernel k-means: :class:`KernelKMeans`.

Lloyd's iterations in the feature space of a kernel run in C++ (``_core.kernel_kmeans``,
``cpp/include/partita/kernel_kmeans/``): one streaming pass over the Gram matrix per iteration
(E = K Z), then incremental updates of E for the points that moved; the whole loop runs without
returning to Python. The Gram matrix is stored when it fits in memory, else its rows are
recomputed in blocks every iteration from the features. This module validates the input, builds
the Gram source, chooses the initial centres and presents the result as a scikit-learn
estimator. The algorithm is specified in docs/algorithms.md ("Kernel k-means objective",
"Incremental updates", "Stored and blocked Gram", "Empty clusters", "Kernel k-means
initialisation").
"""

import time
import warnings

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import PAIRWISE_KERNEL_FUNCTIONS, pairwise_kernels
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _core, _validation
from ._backend import n_threads, resolve_device
from ._validation import (
    Integer,
    Options,
    Real,
    as_numpy,
    check_n_clusters,
    check_sample_weight,
    check_weight_scale,
    fit_or_leave_unfitted,
    validate_params,
    warn_if_distance_matrix,
)

__all__ = ["KernelKMeans"]

_kernels = _core.kernel_kmeans
# Kernels computed in C++ from the features.
_BUILTIN_KERNELS = {
    "linear": _kernels.Kernel.linear,
    "rbf": _kernels.Kernel.rbf,
    "poly": _kernels.Kernel.polynomial,
    "polynomial": _kernels.Kernel.polynomial,
    "sigmoid": _kernels.Kernel.sigmoid,
    "laplacian": _kernels.Kernel.laplacian,
}
_USES_GAMMA = {"rbf", "poly", "polynomial", "sigmoid", "laplacian", "chi2"}


def _check_symmetric_finite(K, what, threads):
    """One C++ pass: finite and symmetric (to rounding). Returns the inspection report."""
    report = _core.common.inspect_matrix(K, threads)
    if report.n_nonfinite:
        raise ValueError(
            f"Input contains NaN or infinity: {report.n_nonfinite} entries of the "
            f"{what} are not finite"
        )
    scale = max(abs(report.min), abs(report.max), np.finfo(K.dtype).tiny)
    rtol = 1e-5 if K.dtype == np.float32 else 1e-10
    if report.max_asymmetry > rtol * scale:
        raise ValueError(
            f"the {what} must be symmetric: the largest |K[i, j] - K[j, i]| is "
            f"{report.max_asymmetry:g}"
        )
    return report


def _warn_if_not_psd(K, what, rng_seed=0, max_size=1500):
    """Warn when K has a clearly negative eigenvalue. For n <= max_size all eigenvalues are
    computed; above, those of a random principal submatrix (a PSD matrix has only PSD principal
    submatrices, so a negative eigenvalue there proves K is not PSD)."""
    n = K.shape[0]
    if n > max_size:
        idx = np.sort(np.random.RandomState(rng_seed).choice(n, max_size, replace=False))
        K = K[np.ix_(idx, idx)]
    eig = np.linalg.eigvalsh(np.asarray(K, dtype=np.float64))
    scale = max(np.abs(eig).max(), np.finfo(np.float64).tiny)
    rtol = 1e-4 if K.dtype == np.float32 else 1e-8
    if eig[0] < -rtol * scale:
        warnings.warn(
            f"the {what} is not positive semi-definite (smallest eigenvalue {eig[0]:.3g}, "
            f"largest {eig[-1]:.3g}); kernel k-means distances may be negative and are clamped "
            "at 0, and the result is not a k-means partition in any feature space",
            UserWarning,
            stacklevel=2,
        )


def _random_seed(rng):
    return int(rng.randint(2**31 - 1))


class KernelKMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """Kernel k-means: k-means in the feature space of a kernel (true Lloyd iterations).

    The distance of a sample i to cluster c (weights w, s_c = sum of the weights in c) is
    ``d(i, c) = K_ii - 2 sum_{j in c} w_j K_ij / s_c + sum_{j,l in c} w_j w_l K_jl / s_c^2``
    and the inertia is ``sum_i w_i d(i, label_i)``. With ``kernel="linear"`` the partition is
    exactly scikit-learn's Lloyd :class:`~sklearn.cluster.KMeans` from the same initial centres.
    (tslearn's ``KernelKMeans`` drops the last term of d and so optimises a different,
    approximate criterion; its partitions differ.)

    Each iteration is one streaming pass over the Gram matrix in C++ (E = K Z, Z the weighted
    one-hot matrix), after the first only over the rows of the samples that changed cluster.
    When the n x n Gram matrix does not fit in half the available memory, its rows are
    recomputed in blocks every iteration (float32 when X is float32); the labels are the same.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters k.
    kernel : str or callable, default="rbf"
        ``"rbf"``, ``"linear"``, ``"poly"`` / ``"polynomial"``, ``"sigmoid"`` and
        ``"laplacian"`` are computed in C++ (stored or in blocks); any other name of
        :func:`sklearn.metrics.pairwise_kernels` (``"cosine"``, ``"chi2"``, ...) or a callable
        ``f(x, y) -> float`` computes a stored Gram matrix through scikit-learn;
        ``"precomputed"``: X is the n x n Gram matrix (symmetric, finite; a matrix that is not
        positive semi-definite gets a warning).
    gamma : float or None, default=None
        Kernel coefficient of rbf, poly, sigmoid, laplacian and chi2; None means
        1 / n_features (chi2: 1). Setting it for a kernel without a gamma is an error.
    degree : float, default=3
        Degree of the poly kernel (other kernels do not use it).
    coef0 : float, default=1
        Independent term of the poly and sigmoid kernels (other kernels do not use it).
    kernel_params : dict or None, default=None
        Keyword arguments of a callable kernel (an error for a kernel given by name).
    init : {"k-means++", "random"} or array of shape (n_clusters,), default="k-means++"
        ``"k-means++"``: D^2 sampling in feature space, d(i, {j}) = K_ii - 2 K_ij + K_jj,
        weighted by sample_weight, with 2 + floor(ln k) local trials per centre (as
        scikit-learn); ``"random"``: k distinct random samples; or the indices of k distinct
        samples. The initial centres are the feature-space images of the chosen samples.
    n_init : int, default=1
        Number of initialisations; the run with the lowest inertia is kept (the first on ties).
        With ``init`` given as indices there is one run only (``n_init > 1`` then warns with a
        RuntimeWarning, as scikit-learn's KMeans does).
    max_iter : int, default=300
        Maximum number of Lloyd iterations per run (at least 1).
    tol : float, default=1e-4
        A run stops when no sample changes cluster (converged), or when an iteration lowers
        the inertia by at most ``tol`` times its previous value, or after ``max_iter``
        iterations. ``tol=0`` stops only at convergence (or when the inertia stops decreasing).
        A run that reaches ``max_iter`` without either stop warns with scikit-learn's
        ``ConvergenceWarning``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation. The iterations are deterministic.
    n_jobs : int or None, default=None
        Threads for the kernels (None: all cores). The result never depends on it.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Only "cpu" has kernels so far; "auto" runs on the CPU, "cuda" raises ValueError.
    verbose : int, default=0
        Print the Gram computation, the initialisation and every iteration.
    gram : {"auto", "stored", "blocked"}, default="auto"
        ``"stored"``: compute the n x n Gram matrix once (O(n^2) memory);
        ``"blocked"``: recompute its rows in blocks every iteration (O(n k) memory, built-in
        kernels only); ``"auto"``: stored when it takes at most half the available memory.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training sample: its nearest centre (ties to the lowest cluster).
    inertia_ : float
        The kernel k-means objective of ``labels_``: the weighted sum of the squared
        feature-space distances of the samples to the means of their clusters in ``labels_``.
        On convergence these means are the centres; after a stop on ``tol`` or at ``max_iter``
        the centres are the means of the previous partition, so ``-score(X_train)``, measured
        to the centres, can be slightly larger than ``inertia_``.
    n_iter_ : int
        Iterations of the kept run.
    converged_ : bool
        Whether the kept run converged: no sample changed cluster, or the inertia fell by at
        most ``tol`` (relative), as in scikit-learn's ``KMeans``. False after a stop at
        ``max_iter``, which warns (ConvergenceWarning).
    n_reseeded_ : int
        Samples moved into empty clusters during the kept run (an empty cluster takes the sample
        farthest from its centre; no cluster is dropped; docs/algorithms.md, "Empty clusters").
    cluster_sizes_ : ndarray of shape (n_clusters,)
        Weight of every cluster of ``labels_``: ``np.bincount(labels_, weights=sample_weight,
        minlength=n_clusters)`` (the number of samples without weights). A cluster can end
        empty when samples coincide; the fit then warns with a ``ConvergenceWarning``.
    gram_ : str
        ``"stored"`` or ``"blocked"``: how the Gram matrix was used.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Notes
    -----
    The centres are the means, in feature space, of the samples of a partition of the
    training data (``_centre_labels``); ``labels_`` are the nearest centres, so
    ``predict(X_train)`` returns ``labels_``. ``transform`` returns squared feature-space
    distances. With ``kernel="precomputed"`` pass ``K(X_new, X_train)`` of shape
    (n_new, n_train) to predict / transform / score; since k(x, x) of a new sample is not part of
    that matrix, ``transform`` and ``score`` then return the distances minus k(x, x), which
    orders the clusters exactly as the distances do.

    Examples
    --------
    >>> import numpy as np
    >>> from partita import KernelKMeans
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1]])
    >>> km = KernelKMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(np.bincount(km.labels_).tolist())
    [2, 3]
    """

    _parameter_constraints = {
        "n_clusters": [Integer(1)],
        "kernel": [Options("precomputed", *sorted(PAIRWISE_KERNEL_FUNCTIONS)), "callable"],
        "gamma": [None, Real(0, inclusive="neither")],
        "degree": [Real(0)],
        "coef0": [Real()],
        "kernel_params": [None, "dict"],
        "init": [Options("k-means++", "random"), "array-like"],
        "n_init": [Integer(1)],
        "max_iter": [Integer(1)],
        "tol": [Real(0)],
        "random_state": ["random_state"],
        "n_jobs": [None, Integer()],
        "device": [Options("cpu", "cuda", "auto")],
        "verbose": [Integer(0)],
        "gram": [Options("auto", "stored", "blocked")],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        kernel="rbf",
        gamma=None,
        degree=3,
        coef0=1,
        kernel_params=None,
        init="k-means++",
        n_init=1,
        max_iter=300,
        tol=1e-4,
        random_state=None,
        n_jobs=None,
        device="cpu",
        verbose=0,
        gram="auto",
    ):
        self.n_clusters = n_clusters
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.kernel_params = kernel_params
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose
        self.gram = gram

    # ---- scikit-learn plumbing ------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.kernel == "precomputed"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_centre_labels")

    def _validate_X(self, X, reset):
        X = validate_data(
            self,
            as_numpy(X),
            reset=reset,
            accept_sparse=False,
            dtype=[np.float64, np.float32],
            order="C",
            ensure_min_samples=1,
            ensure_all_finite=self.kernel != "precomputed",
        )
        if reset and self.kernel != "precomputed":
            warn_if_distance_matrix(
                X,
                n_threads(self.n_jobs),
                hint="A precomputed kernel (similarity) matrix goes with kernel='precomputed'.",
            )
        if self.kernel != "precomputed":
            _validation.check_feature_range(X)
        return X

    # ---- parameters -----------------------------------------------------------------------

    def _check_params(self):
        """The checks that relate parameters to each other (each alone: validate_params)."""
        kernel = self.kernel
        if self.gamma is not None and not (isinstance(kernel, str) and kernel in _USES_GAMMA):
            raise ValueError(
                f"gamma is not used by kernel={kernel!r}; leave it None "
                "(pass a callable's parameters in kernel_params)"
            )
        if self.kernel_params is not None and not callable(kernel):
            raise ValueError(
                "kernel_params is only for a callable kernel; a kernel given by "
                "name takes gamma, degree and coef0"
            )
        resolve_device(self.device, family="kernel_kmeans", estimator=type(self).__name__)
        if self.gram == "blocked" and not (isinstance(kernel, str) and kernel in _BUILTIN_KERNELS):
            raise ValueError(
                f"gram='blocked' needs a kernel computed in C++ "
                f"({', '.join(sorted(_BUILTIN_KERNELS))}); got kernel={kernel!r}"
            )

    def _gamma(self, n_features):
        if self.gamma is not None:
            return float(self.gamma)
        return 1.0 if self.kernel == "chi2" else 1.0 / max(n_features, 1)

    def _kernel_args(self, n_features):
        """(kernel name, gamma, degree, coef0) of a built-in kernel, as plain Python values."""
        return (self.kernel, self._gamma(n_features), float(self.degree), float(self.coef0))

    def _features(self, X, kernel=None, gamma=None, degree=None, coef0=None):
        """The C++ kernel object on the rows of X (built-in kernels only); the arguments
        default to the estimator's parameters."""
        if kernel is None:
            kernel, gamma, degree, coef0 = self._kernel_args(X.shape[1])
        space = _kernels.KernelFeatures32 if X.dtype == np.float32 else _kernels.KernelFeatures64
        return space(X, _kernels.KernelParams(_BUILTIN_KERNELS[kernel], gamma, degree, coef0))

    def _sklearn_kernel(self, X, Y=None):
        if callable(self.kernel):
            params = dict(self.kernel_params or {})
            return pairwise_kernels(X, Y, metric=self.kernel, n_jobs=self.n_jobs, **params)
        params = dict(gamma=self._gamma(X.shape[1]), degree=self.degree, coef0=self.coef0)
        return pairwise_kernels(
            X, Y, metric=self.kernel, filter_params=True, n_jobs=self.n_jobs, **params
        )

    # ---- fit ------------------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Cluster X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) when
            ``kernel="precomputed"``
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of every sample (in the centres, the inertia and k-means++).

        Returns
        -------
        self
        """
        return fit_or_leave_unfitted(
            self,
            self._fit,
            X,
            sample_weight,
            private=("_centre_labels", "_source", "_X_fit", "_features_fit", "_feature_args"),
        )

    # ---- pickling: the C++ kernel object is rebuilt from the training features ------------

    def __getstate__(self):
        state = super().__getstate__()
        if state.get("_features_fit") is not None:
            state = dict(state, _features_fit=None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if getattr(self, "_feature_args", None) is not None and self.gram_ == "blocked":
            self._features_fit = self._features(self._X_fit, *self._feature_args)

    def _gram_source(self, X, threads):
        """(source, mode): a stored Gram matrix or the C++ features for blocked rows."""
        n = X.shape[0]
        what = (
            "precomputed kernel" if self.kernel == "precomputed" else f"{self.kernel!r} Gram matrix"
        )
        if self.kernel == "precomputed":
            if X.shape[0] != X.shape[1]:
                raise ValueError(
                    f"kernel='precomputed' needs a square Gram matrix, got shape {X.shape}"
                )
            _check_symmetric_finite(X, what, threads)
            _warn_if_not_psd(X, what)
            return X, "stored"
        builtin = isinstance(self.kernel, str) and self.kernel in _BUILTIN_KERNELS
        size = n * n * (4 if (builtin and X.dtype == np.float32) else 8)
        mode = self.gram
        if mode == "auto":
            available = _validation.available_memory()
            mode = (
                "stored"
                if (not builtin or available is None or size <= available // 2)
                else "blocked"
            )
        if mode == "blocked":
            features = self._features(X)
            if not self._bounded_by_diagonal():
                self._check_gram_rows_finite(X, features, threads)
            return features, "blocked"
        _validation.check_fits_in_memory(
            size,
            f"the {n} x {n} Gram matrix",
            "use gram='blocked' with a kernel computed in C++ (rbf, linear, poly, sigmoid, "
            "laplacian), float32 data, or fewer samples",
        )
        if builtin:
            K = self._features(X).gram(threads)
            # The diagonal is checked for every Gram (in _fit); a whole pass only where the
            # diagonal does not bound the entries.
            if not self._bounded_by_diagonal():
                nonfinite = _core.common.inspect_matrix(K, threads).n_nonfinite
                if nonfinite:
                    self._raise_nonfinite_gram(X, f"{nonfinite} entries of the Gram matrix")
            return K, "stored"
        K = np.ascontiguousarray(
            self._sklearn_kernel(X, X.copy() if callable(self.kernel) else None), dtype=np.float64
        )
        _check_symmetric_finite(K, what, threads)
        K = 0.5 * (K + K.T)  # exact symmetry for the row-as-column pass
        _warn_if_not_psd(K, what)
        return np.ascontiguousarray(K), "stored"

    def _bounded_by_diagonal(self):
        """Whether a built-in Gram is finite wherever its diagonal is: rbf, laplacian and sigmoid
        entries are bounded by 1, linear ones by max(K_ii, K_jj) (Cauchy-Schwarz), and so are
        poly ones of integer degree with coef0 >= 0; a fractional degree or a negative coef0
        can give NaN or overflow off the diagonal."""
        if self.kernel in ("poly", "polynomial"):
            return float(self.degree).is_integer() and float(self.coef0) >= 0
        return True

    def _check_gram_rows_finite(self, X, features, threads):
        """One pass over the recomputed Gram rows, a block of about 16 M entries at a time,
        for the kernels whose diagonal does not bound them (checked once, not every
        iteration)."""
        n = X.shape[0]
        step = max(1, (1 << 24) // n)
        for start in range(0, n, step):
            rows = features.rows(np.arange(start, min(n, start + step)), threads)
            nonfinite = np.count_nonzero(~np.isfinite(rows))
            if nonfinite:
                self._raise_nonfinite_gram(
                    X, f"{nonfinite} entries of Gram rows {start}..{start + rows.shape[0] - 1}"
                )

    def _raise_nonfinite_gram(self, X, where):
        kernel, gamma, degree, coef0 = self._kernel_args(X.shape[1])
        raise ValueError(
            f"the {kernel!r} kernel with gamma={gamma:g}, degree={degree:g}, coef0={coef0:g} "
            f"overflows on this data: {where} are NaN or infinite; choose smaller kernel "
            "parameters or rescale X"
        )

    def _gram_rows(self, source, idx, threads):
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        if isinstance(source, np.ndarray):
            return np.asarray(source[idx], dtype=np.float64)
        return np.asarray(source.rows(idx, threads), dtype=np.float64)

    def _init_indices(self, source, diag, n, k, weights, rng, threads):
        if not isinstance(self.init, str):
            seeds = np.asarray(self.init)
            if seeds.ndim != 1 or seeds.shape[0] != k:
                raise ValueError(
                    f"init as an array must hold n_clusters={k} sample indices, got "
                    f"shape {seeds.shape}"
                )
            if not np.issubdtype(seeds.dtype, np.integer):
                if np.issubdtype(seeds.dtype, np.floating) and np.all(seeds == np.round(seeds)):
                    seeds = seeds.astype(np.int64)
                else:
                    raise ValueError("init as an array must hold integer sample indices")
            if seeds.min() < 0 or seeds.max() >= n:
                raise ValueError(f"init indices must be in [0, {n - 1}] (n_samples={n})")
            if np.unique(seeds).size != k:
                raise ValueError(
                    f"init indices must be distinct: {k - np.unique(seeds).size} "
                    "repeated (two equal centres would leave a cluster empty)"
                )
            return np.ascontiguousarray(seeds, dtype=np.int64)
        if self.init == "random":
            return np.ascontiguousarray(rng.choice(n, k, replace=False), dtype=np.int64)
        return self._kmeans_plusplus(source, diag, n, k, weights, rng, threads)

    def _kmeans_plusplus(self, source, diag, n, k, weights, rng, threads):
        """Greedy k-means++ in feature space (D^2 weighting, 2 + floor(ln k) local trials)."""
        trials = 2 + int(np.log(k))
        p = weights / weights.sum()
        first = int(rng.choice(n, p=p))
        seeds = [first]
        row = self._gram_rows(source, [first], threads)[0]
        closest = np.maximum(diag - 2 * row + diag[first], 0.0)
        potential = float(weights @ closest)
        for _ in range(1, k):
            if not potential > 0:  # every sample coincides with a centre: any new one will do
                rest = np.setdiff1d(np.arange(n), seeds)
                seeds.append(int(rng.choice(rest)))
                continue
            r = rng.uniform(size=trials) * potential
            cand = np.searchsorted(np.cumsum(weights * closest), r)
            cand = np.minimum(cand, n - 1)
            rows = self._gram_rows(source, cand, threads)
            d2 = np.maximum(diag[None, :] - 2 * rows + diag[cand][:, None], 0.0)
            d2 = np.minimum(closest[None, :], d2)
            pots = d2 @ weights
            best = int(np.argmin(pots))
            seeds.append(int(cand[best]))
            closest, potential = d2[best], float(pots[best])
        return np.asarray(seeds, dtype=np.int64)

    def _fit(self, X, sample_weight):
        validate_params(self)
        self._check_params()
        threads = n_threads(self.n_jobs)
        X = self._validate_X(X, reset=True)
        n = X.shape[0]
        k = check_n_clusters(self.n_clusters, n)
        weights = check_sample_weight(sample_weight, n)
        check_weight_scale(weights)  # the centre norms square the weights
        rng = check_random_state(self.random_state)

        t0 = time.perf_counter()
        source, mode = self._gram_source(X, threads)
        diag = (
            np.asarray(np.diag(source), dtype=np.float64)
            if isinstance(source, np.ndarray)
            else np.asarray(source.diagonal(), dtype=np.float64)
        )
        if not np.all(np.isfinite(diag)):  # blocked: a PSD kernel's entries are bounded by it
            self._raise_nonfinite_gram(X, f"{int(np.sum(~np.isfinite(diag)))} diagonal entries")
        if self.verbose:
            print(
                f"[KernelKMeans] Gram {mode} "
                f"({n} samples, {source.dtype if mode == 'stored' else X.dtype}): "
                f"{time.perf_counter() - t0:.3f} s"
            )
        progress = None
        if self.verbose:

            def progress(it, changed, inertia):
                print(
                    f"[KernelKMeans] iteration {it}: {changed} samples changed cluster, "
                    f"inertia {inertia:.6g}"
                )

        params = _kernels.LloydParams(
            max_iter=int(self.max_iter), tol=float(self.tol), n_threads=threads
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
        best = None
        for run in range(n_init):
            t0 = time.perf_counter()
            seeds = self._init_indices(source, diag, n, k, weights, rng, threads)
            if self.verbose:
                init = self.init if isinstance(self.init, str) else "given indices"
                print(
                    f"[KernelKMeans] run {run + 1}/{n_init}: init {init} "
                    f"{time.perf_counter() - t0:.3f} s"
                )
            t0 = time.perf_counter()
            r = _kernels.lloyd(source, seeds, weights, params, progress)
            if self.verbose:
                print(
                    f"[KernelKMeans] run {run + 1}: {r.n_iter} iterations, inertia "
                    f"{r.inertia:.6g}, {'converged' if r.converged else 'stopped'}, "
                    f"{time.perf_counter() - t0:.3f} s"
                )
            if best is None or r.inertia < best.inertia:
                best = r

        labels = np.asarray(best.labels, dtype=np.int64)
        if not (best.converged or best.tol_reached):
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
        self.labels_ = labels
        self.inertia_ = float(best.inertia)
        self.n_iter_ = int(best.n_iter)
        self.converged_ = bool(best.converged or best.tol_reached)
        self.n_reseeded_ = int(best.n_reseeded)
        self.cluster_sizes_ = np.bincount(labels, weights=weights, minlength=k)
        self.gram_ = mode
        # The centres: the means of the partition _centre_labels, of weights _centre_weights.
        self._centre_weights = np.asarray(best.cluster_weights, dtype=np.float64)
        self._centre_norms = np.asarray(best.centre_norms, dtype=np.float64)
        self._weights = weights
        self._n_features_out = k
        self._X_fit = None if self.kernel == "precomputed" else X
        self._features_fit = source if mode == "blocked" else None
        # What rebuilds _features_fit after unpickling (the C++ object does not pickle).
        self._feature_args = self._kernel_args(X.shape[1]) if mode == "blocked" else None
        self._centre_labels = np.ascontiguousarray(best.centres, dtype=np.int32)
        return self

    # ---- new data -------------------------------------------------------------------------

    def _cross(self, X):
        """(sums, self): sums[i, c] = sum_{j in c} w_j K(x_i, x_j) over the centre partition, and
        K(x_i, x_i) (None for a precomputed kernel)."""
        k = self._n_features_out
        threads = n_threads(self.n_jobs)
        if self.kernel == "precomputed":
            if X.shape[1] != self._centre_labels.shape[0]:
                raise ValueError(
                    f"kernel='precomputed': X must hold the kernel between the new "
                    f"samples and the {self._centre_labels.shape[0]} training samples, "
                    f"got shape {X.shape}"
                )
            if not np.all(np.isfinite(X)):
                raise ValueError("Input contains NaN or infinity")
            Z = np.zeros((X.shape[1], k))
            Z[np.arange(X.shape[1]), self._centre_labels] = self._weights
            return np.asarray(X, dtype=np.float64) @ Z, None
        if isinstance(self.kernel, str) and self.kernel in _BUILTIN_KERNELS:
            feats = (
                self._features_fit
                if self._features_fit is not None
                else self._features(self._X_fit)
            )
            Xc = np.ascontiguousarray(X, dtype=self._X_fit.dtype)
            sums, own = feats.cross_sums(Xc, self._centre_labels, self._weights, k, threads)
            return sums, np.asarray(own, dtype=np.float64)
        Kx = np.asarray(self._sklearn_kernel(X, self._X_fit), dtype=np.float64)
        Z = np.zeros((self._X_fit.shape[0], k))
        Z[np.arange(self._X_fit.shape[0]), self._centre_labels] = self._weights
        own = np.array(
            [
                float(np.asarray(self._sklearn_kernel(X[i : i + 1], X[i : i + 1]))[0, 0])
                for i in range(X.shape[0])
            ]
        )
        return Kx @ Z, own

    def transform(self, X):
        """Squared feature-space distances of the samples to the k centres, shape
        (n_samples, n_clusters) (inf for a cluster without weight).

        With ``kernel="precomputed"``, X is K(X_new, X_train), shape (n_new, n_train), and the
        distances are returned minus k(x, x) (see the class notes).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        sums, own = self._cross(X)
        s = self._centre_weights
        with np.errstate(divide="ignore", invalid="ignore"):
            D = -2.0 * sums / s + self._centre_norms
        if own is not None:
            D = np.maximum(own[:, None] + D, 0.0)
        D[:, ~(s > 0)] = np.inf
        return D.astype(X.dtype, copy=False)

    def predict(self, X):
        """Nearest centre of every sample (ties to the lowest cluster)."""
        return np.argmin(self.transform(X), axis=1).astype(np.int64)

    def score(self, X, y=None, sample_weight=None):
        """Negative weighted sum of the squared distances of X to its nearest centres."""
        D = self.transform(X).astype(np.float64)
        w = check_sample_weight(sample_weight, D.shape[0])
        return -float(np.dot(w, D.min(axis=1)))
