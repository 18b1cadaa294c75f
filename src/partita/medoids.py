"""k-medoids clustering: :class:`KMedoids`, :class:`CLARA` and :class:`CLARANS`.

The optimisation (FasterPAM, FastPAM1, PAM, alternate, CLARANS) and the initialisations (BUILD,
LAB, k-medoids++) run in C++ (``cpp/include/partita/medoids/``, bound as ``_core.medoids``), on
a stored distance matrix or on distances computed on the fly from the features
(``distances.hpp``). This module validates the input, chooses where distances come from, and
presents the results as scikit-learn estimators. The algorithms are specified in
``docs/algorithms.md`` (k-medoids).
"""

import math
import time
import types
import warnings

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _validation
from ._backend import family_module, n_threads, resolve_device
from ._core import common as _common
from ._core import medoids as _kernels
from ._validation import (
    Integer,
    Options,
    as_numpy,
    check_feature_range,
    check_fits_in_memory,
    check_n_clusters,
    check_precomputed_distances,
    check_sample_weight,
    check_weight_scale,
    fit_or_leave_unfitted,
    validate_params,
    warn_if_distance_matrix,
)

__all__ = ["KMedoids", "CLARA", "CLARANS", "DynMSC"]

_METHODS = ("fasterpam", "fastpam1", "pam", "alternate")
# KMedoids only: the methods that maximise the medoid silhouette (docs/algorithms.md, "FasterMSC").
_MSC_METHODS = ("fastermsc", "fastmsc", "pammedsil", "pamsil")
_INITS = ("build", "lab", "k-medoids++", "random")
_DISTANCE_MODES = ("auto", "matrix", "on-the-fly")
_DEVICES = ("cpu", "cuda", "auto")
_DEVICE_METHODS = ("fasterpam", "fastpam1")  # the swap schedules with device kernels

# Metrics computed in C++, on the fly or into a matrix.
_BUILTIN_METRICS = {
    "euclidean": _kernels.Metric.euclidean,
    "l2": _kernels.Metric.euclidean,
    "sqeuclidean": _kernels.Metric.sqeuclidean,
    "manhattan": _kernels.Metric.manhattan,
    "cityblock": _kernels.Metric.manhattan,
    "l1": _kernels.Metric.manhattan,
    "cosine": _kernels.Metric.cosine,
}


class _MetricName:
    """Any string: "precomputed" or a metric name that scikit-learn resolves when it is used."""

    def accepts(self, value):
        return isinstance(value, str)

    def __str__(self):
        return "a metric name"


_COMMON_CONSTRAINTS = {
    "n_clusters": [Integer(1)],
    "metric": [_MetricName(), "callable"],
    "metric_params": [None, "dict"],
    "random_state": ["random_state"],
    "n_jobs": [None, Integer()],
    "verbose": [Integer(0)],
}

# numba cfuncs made from users' jitted metrics, kept alive while C++ may call them.
_NUMBA_CFUNCS = {}


def _is_numba_function(metric):
    return callable(metric) and type(metric).__module__.startswith("numba")


def _numba_address(metric, dtype):
    """The address of a C-callable wrapper f(x*, y*, n_features) -> double of a numba-jitted
    metric f(x, y), compiled for arrays of `dtype`."""
    key = (metric, np.dtype(dtype).name)
    if key not in _NUMBA_CFUNCS:
        from numba import carray, cfunc, types

        item = types.float32 if dtype == np.float32 else types.float64
        signature = types.float64(types.CPointer(item), types.CPointer(item), types.intp)
        jitted = metric

        @cfunc(signature, nopython=True)
        def pair(x, y, n_features):  # pragma: no cover - compiled by numba
            return jitted(carray(x, (n_features,)), carray(y, (n_features,)))

        _NUMBA_CFUNCS[key] = pair
    return _NUMBA_CFUNCS[key].address


def _feature_space(X, metric):
    """A C++ FeatureSpace computing `metric` on the rows of X, or None when the metric is
    neither built in nor a numba-jitted function."""
    space_type = _kernels.FeatureSpace32 if X.dtype == np.float32 else _kernels.FeatureSpace64
    if isinstance(metric, str) and metric in _BUILTIN_METRICS:
        return space_type(X, _BUILTIN_METRICS[metric], 0)
    if _is_numba_function(metric):
        return space_type(X, _kernels.Metric.callback, _numba_address(metric, X.dtype))
    return None


def _effective_metric_params(X, metric, metric_params):
    """The keyword arguments of the metric: the user's ``metric_params``, completed with the
    parameters that scipy would otherwise estimate from whatever data it is given (seuclidean's
    variances V, mahalanobis' inverse covariance VI). They are estimated once, here, from the
    training data, so that fit, predict, transform, score and every CLARA sample measure with
    the same metric (scipy's own estimates: ddof=1 variances, the inverse of ``np.cov``)."""
    params = dict(metric_params or {})
    compiled = (isinstance(metric, str) and metric in _BUILTIN_METRICS) or _is_numba_function(
        metric
    )
    if params and (metric == "precomputed" or compiled):
        raise ValueError(
            f"metric_params {sorted(params)} cannot be used with metric={metric!r}: it takes no "
            "parameters here (metric_params are for scikit-learn / scipy metric names and "
            "Python callables)"
        )
    if metric in ("seuclidean", "mahalanobis") and X.shape[0] < 2:
        raise ValueError(
            f"metric={metric!r} estimates its parameters from at least 2 "
            "samples; pass them in metric_params"
        )
    if metric == "seuclidean" and "V" not in params:
        params["V"] = np.var(np.asarray(X, dtype=np.float64), axis=0, ddof=1)
    elif metric == "mahalanobis" and "VI" not in params:
        cov = np.atleast_2d(np.cov(np.asarray(X, dtype=np.float64).T))
        # Rounding hides exact singularity from inv, which then returns garbage, not an error.
        if np.linalg.matrix_rank(cov) < cov.shape[0]:
            raise ValueError(
                "metric='mahalanobis' needs the inverse covariance of X, which is singular; "
                "pass metric_params={'VI': ...}"
            )
        params["VI"] = np.linalg.inv(cov).T
    return params


def _check_metric_values(report, metric, rtol):
    """A computed distance matrix must be finite, non-negative, symmetric, with zero diagonal."""
    name = getattr(metric, "__name__", repr(metric))
    if report.n_nonfinite:
        raise ValueError(f"metric {name} returned NaN or infinite distances")
    if report.min < 0:
        raise ValueError(f"metric {name} returned negative distances ({report.min:g})")
    scale = max(report.max, 1e-300)
    if report.max_abs_diagonal > rtol * scale:
        raise ValueError(
            f"metric {name} gives d(x, x) = {report.max_abs_diagonal:g} != 0; k-medoids needs "
            "a dissimilarity that is zero between a sample and itself"
        )
    if report.max_asymmetry > rtol * scale:
        raise ValueError(
            f"metric {name} is not symmetric: d(x, y) != d(y, x) (largest difference "
            f"{report.max_asymmetry:g}); k-medoids needs a symmetric dissimilarity"
        )


def _check_self_distance(X, metric, rtol=1e-6):
    """A compiled user metric is never called on (x, x) by the kernels (the diagonal is 0 by
    construction), so check d(x, x) = 0 directly on a fixed sample of rows, up to rounding
    relative to the distances between those rows (a cosine computed as 1 - <x, y> / (|x||y|)
    gives d(x, x) of a few ulps)."""
    idx = np.random.RandomState(0).choice(len(X), size=min(len(X), 64), replace=False)
    worst = max(abs(float(metric(X[i], X[i]))) for i in idx)
    scale = max((abs(float(metric(X[i], X[j]))) for i, j in zip(idx[:-1], idx[1:])), default=0.0)
    if not worst <= rtol * scale:
        name = getattr(metric, "__name__", repr(metric))
        raise ValueError(
            f"metric {name} gives d(x, x) = {worst:g} != 0; k-medoids needs a dissimilarity "
            "that is zero between a sample and itself"
        )


def _spot_check_metric(space, X, metric, threads):
    """With on-the-fly distances from a user's function the matrix is never formed, so check
    symmetry and zero self-distance on a sample of pairs. The sample comes from its own fixed
    generator: the estimator's random stream must not depend on the distance mode."""
    n = X.shape[0]
    idx = np.unique(np.random.RandomState(0).choice(n, size=min(n, 64), replace=False))
    rows = space.distances_to(idx.astype(np.int64), threads)[:, idx]
    report = _common.inspect_matrix(np.ascontiguousarray(rows), threads)
    _check_metric_values(report, metric, 1e-6)
    _check_self_distance(X, metric)


def _matrix_bytes(n, dtype):
    return n * n * np.dtype(dtype).itemsize


def _distance_source(X, metric, mode, n_jobs, threads, metric_params, device=None):
    """Where the kernels read distances: the precomputed matrix, a matrix computed here (on
    the ``device`` for its metrics), or a FeatureSpace computing rows on the fly. Returns
    (source, is_matrix)."""
    n = X.shape[0]
    if metric == "precomputed":
        check_precomputed_distances(X, threads)
        return X, True
    space = _feature_space(X, metric)
    size = _matrix_bytes(n, X.dtype)
    if mode == "auto":
        available = _validation.available_memory()
        # Keep half the memory for everything else; on-the-fly costs flops, not memory.
        mode = (
            "matrix"
            if (space is None or available is None or size <= available // 2)
            else "on-the-fly"
        )
    if mode == "on-the-fly":
        if space is None:
            raise ValueError(
                "distances='on-the-fly' needs a built-in metric "
                f"({', '.join(sorted(_BUILTIN_METRICS))}) "
                f"or a numba-jitted metric function; got metric={metric!r}"
            )
        if metric not in _BUILTIN_METRICS:
            _spot_check_metric(space, X, metric, threads)
        return space, False
    if device is not None and metric in _BUILTIN_METRICS:
        return device.distance_matrix(X, metric), True  # made and kept on the GPU
    check_fits_in_memory(
        size,
        f"the {n} x {n} {np.dtype(X.dtype).name} distance matrix",
        "use distances='on-the-fly' (with a built-in or numba metric), float32 data (half the "
        "memory), or CLARA",
    )
    if space is not None:
        D = space.distance_matrix(threads)
        if metric not in _BUILTIN_METRICS:
            _check_metric_values(_common.inspect_matrix(D, threads), metric, 1e-6)
            _check_self_distance(X, metric)
        return D, True
    # Any other scikit-learn metric or a Python callable: every pair, both orders, so that an
    # asymmetric callable is caught (scikit-learn mirrors the upper triangle when Y is None).
    Y = X.copy() if callable(metric) else None
    D = np.ascontiguousarray(
        pairwise_distances(X, Y, metric=metric, n_jobs=n_jobs, **metric_params), dtype=X.dtype
    )
    _check_metric_values(
        _common.inspect_matrix(D, threads), metric, 1e-5 if X.dtype == np.float32 else 1e-10
    )
    _common.symmetrize_matrix(D, threads)  # rounding differences between (i,j) and (j,i)
    return D, True


_PASS_NAMES = {
    "fasterpam": "pass",
    "fastpam1": "iteration",
    "pam": "iteration",
    "alternate": "iteration",
    "fastermsc": "pass",
    "fastmsc": "iteration",
    "pammedsil": "iteration",
    "pamsil": "iteration",
}


def _warn_if_not_converged(result, method, max_iter, where=""):
    """ConvergenceWarning when max_iter ended the search before a pass found nothing left to
    improve (max_iter=0 asks for no search, and gets no warning)."""
    if max_iter > 0 and not result.converged:
        unit = "passes" if method in ("fasterpam", "fastermsc") else "iterations"
        warnings.warn(
            f"{method} stopped after max_iter={max_iter} {unit}{where} before converging; "
            "increase max_iter",
            ConvergenceWarning,
            stacklevel=5,
        )


def _method(name):
    """The compiled optimiser named by the ``method`` parameter."""
    return _kernels.Method.__members__[name]


def _silhouette_result(result, source, weights, threads):
    """A medoid silhouette optimiser's result with the labels and loss every KMedoids reports
    (the lowest of equally near medoids, the weighted total distance); the silhouette it
    maximised is kept as ``medoid_silhouette``."""
    labelling = _kernels.label(source, result.medoids, weights, threads)
    return types.SimpleNamespace(
        medoids=result.medoids,
        labels=labelling.labels,
        loss=labelling.loss,
        medoid_silhouette=float(result.loss),
        n_iter=result.n_iter,
        n_swaps=result.n_swaps,
        converged=result.converged,
        pass_loss=result.pass_loss,
        pass_swaps=result.pass_swaps,
    )


def _random_seed(rng):
    """A 62-bit seed for the C++ generators, drawn from a RandomState."""
    return int(rng.randint(2**31 - 1)) * (2**31) + int(rng.randint(2**31 - 1))


# Points per block of the CLARA loss (docs/algorithms.md, "Chunked loss").
LOSS_BLOCK = 4096


def _blocked_loss(parts, n):
    """The loss of points [0, n) from ``label_blocks`` results of consecutive ranges, in order,
    given as (first, result) pairs: the terms of a block split between ranges are joined and
    summed, then the block sums are added in block order (docs/algorithms.md, "Chunked loss")."""
    block_sums, pending = [], []

    def add_terms(terms, stop):
        pending.append(terms)
        if stop % LOSS_BLOCK == 0 or stop == n:
            block_sums.append(_kernels.ordered_sum(np.concatenate(pending)))
            pending.clear()

    for first, part in parts:
        head, sums, tail = part.head, part.sums, part.tail
        if len(head):
            add_terms(head, first + len(head))
        block_sums.extend(sums.tolist())
        if len(tail):
            stop = first + len(part.labels)
            add_terms(tail, stop)
    return _kernels.ordered_sum(np.asarray(block_sums, dtype=np.float64))


def _clara_sample(rng, n, keep, size):
    """Sorted indices of a CLARA sample: the medoids `keep` and size - len(keep) other points
    drawn uniformly without replacement. Draws are rejected when repeated, so a round costs
    O(size), not O(n), while the sample is at most half of the points."""
    need = size - len(keep)
    if 2 * size > n:
        others = np.setdiff1d(np.arange(n), keep, assume_unique=True)
        extra = rng.choice(others, need, replace=False)
    else:
        taken, extra = set(keep.tolist()), []
        while len(extra) < need:
            for i in rng.randint(0, n, size=need - len(extra)).tolist():
                if i not in taken:
                    taken.add(i)
                    extra.append(i)
    return np.sort(np.concatenate([keep, np.asarray(extra, dtype=np.int64)])).astype(np.int64)


def _initial_medoids(init, source, n, k, weights, threads, rng, kernels=_kernels):
    """Indices of the k initial medoids (validated when given as an array), computed by
    ``kernels`` (the CPU's, or a :class:`_DeviceKernels`)."""
    if not isinstance(init, str):
        medoids = np.asarray(as_numpy(init))
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
    if init == "build":
        return kernels.build(source, k, weights, threads)
    if init == "lab":
        m = min(n, 10 + math.ceil(math.sqrt(n)))
        samples = np.stack([rng.choice(n, m, replace=False) for _ in range(k)])
        return kernels.lab(source, np.ascontiguousarray(samples, dtype=np.int64), weights, threads)
    if init == "k-medoids++":
        return kernels.kmedoids_plusplus(source, k, weights, _random_seed(rng), threads)
    return np.ascontiguousarray(rng.choice(n, k, replace=False), dtype=np.int64)  # random


class _DeviceKernels:
    """The k-medoids kernels of a CUDA module (``_cuda.medoids``) behind the signatures of the
    CPU kernels: a source is ``(data, metric)``, a stored matrix with ``metric`` None or feature
    rows whose distances the device computes on the fly. The device gives the CPU kernels'
    results bit for bit (docs/algorithms.md, "k-medoids on a GPU"); ``n_threads`` is unused."""

    def __init__(self, module):
        self.module = module
        self._copies = {}  # id of a host array -> (the array, its device copy), for one fit

    def _on_device(self, data):
        """A reference to a device copy of ``data``, made once per array and fit."""
        key = id(data)
        if key not in self._copies:
            self._copies[key] = (data, self.module.to_device(data))
        return self._copies[key][1].ref

    def distance_matrix(self, X, metric):
        """The source of a built-in metric's n x n matrix, computed and kept on the device."""
        enum = self.module.Metric.__members__[_BUILTIN_METRICS[metric].name]
        copy = self.module.distance_matrix(X if metric == "cosine" else self._on_device(X), enum)
        self._copies[id(copy)] = (copy, copy)
        return copy.ref, None

    def source(self, source, X, metric):
        """The device source for what :func:`_distance_source` chose (a matrix or a
        FeatureSpace on the rows of X), copied to the device once."""
        if isinstance(source, tuple):  # already on the device
            return source
        if isinstance(source, np.ndarray):
            return self._on_device(source), None
        if isinstance(metric, str) and metric in _BUILTIN_METRICS:
            data = X if metric == "cosine" else self._on_device(X)  # cosine: normalised per call
            return data, self.module.Metric.__members__[_BUILTIN_METRICS[metric].name]
        raise ValueError(
            "device='cuda' computes distances on the fly only for the built-in metrics "
            f"({', '.join(sorted(_BUILTIN_METRICS))}); use distances='matrix' or device='cpu'"
        )

    @staticmethod
    def check_method(method):
        if method not in _DEVICE_METHODS:
            raise ValueError(
                f"device='cuda' runs method={' or '.join(map(repr, _DEVICE_METHODS))}, not "
                f"{method!r}; use device='cpu'"
            )

    def build(self, source, k, weights, threads):
        return self.module.build(*source, k, weights)

    def lab(self, source, samples, weights, threads):
        return self.module.lab(*source, samples, weights)

    def kmedoids_plusplus(self, source, k, weights, seed, threads):
        return self.module.kmedoids_plusplus(*source, k, weights, seed)

    def optimise(self, source, medoids, weights, method, max_iter, threads):
        method = self.module.Method.__members__[method.name]
        return self.module.optimise(*source, medoids, weights, method, max_iter)

    def label(self, source, medoids, weights, threads):
        return self.module.label(*source, medoids, weights)

    def clarans(self, source, weights, params, threads):
        return self.module.clarans(
            *source, weights, params.n_clusters, params.n_local, params.max_neighbors, params.seed
        )


def _kernels_for(device, estimator, method=None):
    """The kernels an estimator's fit runs on: ``_core.medoids`` or the device's."""
    resolved = resolve_device(device, family="medoids", estimator=estimator)
    if resolved == "cpu" or (device == "auto" and method not in (None, *_DEVICE_METHODS)):
        return _kernels
    if method is not None:
        _DeviceKernels.check_method(method)
    return _DeviceKernels(family_module("medoids", "cuda"))


def _device_source(kernels, source, X, metric, device):
    """(source, kernels) for the device, or the CPU's own with ``device="auto"`` when the
    distances cannot go to the device (a numba metric on the fly)."""
    try:
        return kernels.source(source, X, metric), kernels
    except ValueError:
        if device != "auto":
            raise
        return source, _kernels


class _MedoidsBase(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """What every k-medoids estimator shares: validation, the fitted attributes, and the use of
    the medoids on new data (transform, predict, score)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.metric == "precomputed"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "medoid_indices_")

    def _validate_X(self, X, reset):
        # A precomputed matrix is checked for NaN / inf in the same C++ pass as its symmetry.
        X = validate_data(
            self,
            as_numpy(X),
            reset=reset,
            accept_sparse=False,
            dtype=[np.float64, np.float32],
            order="C",
            ensure_min_samples=1,
            ensure_all_finite=not (reset and self.metric == "precomputed"),
        )
        if reset and self.metric != "precomputed":
            warn_if_distance_matrix(
                X, n_threads(self.n_jobs), hint="Pass metric='precomputed' if it holds distances."
            )
        if self.metric not in ("precomputed", "cosine"):  # cosine normalises each row
            check_feature_range(X)
        return X

    def _set_result(self, X, result, k):
        """The fitted attributes from a result (medoids, labels, loss, n_iter, n_swaps)."""
        self.medoid_indices_ = np.asarray(result.medoids, dtype=np.int64)
        self.labels_ = np.asarray(result.labels, dtype=np.int64)
        self.inertia_ = float(result.loss)
        self.n_iter_ = int(result.n_iter)
        self.n_swaps_ = int(result.n_swaps)
        self.cluster_centers_ = None if self.metric == "precomputed" else X[self.medoid_indices_]
        self._n_features_out = k

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
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        space = _feature_space(np.ascontiguousarray(np.vstack([centers, X])), self.metric)
        if space is not None:
            # The same C++ arithmetic as in fit, so predict(X_train) reproduces labels_.
            k = centers.shape[0]
            rows = space.distances_to(np.arange(k, dtype=np.int64), n_threads(self.n_jobs))
            return np.ascontiguousarray(rows[:, k:].T)
        D = pairwise_distances(
            X, centers, metric=self.metric, n_jobs=self.n_jobs, **self.effective_metric_params_
        )
        return np.asarray(D, dtype=X.dtype)

    def predict(self, X):
        """Cluster of every sample: its nearest medoid (ties go to the lowest cluster, the rule
        of ``labels_``, so ``predict`` on the training data gives ``labels_``)."""
        return np.argmin(self.transform(X), axis=1).astype(np.int64)

    def score(self, X, y=None, sample_weight=None):
        """Negative weighted total distance of X to its nearest medoids (higher is better)."""
        D = self.transform(X)
        w = check_sample_weight(sample_weight, D.shape[0])
        return -float(np.dot(w, D.min(axis=1).astype(np.float64)))


class KMedoids(_MedoidsBase):
    """k-medoids clustering: k representative samples (medoids) minimising the total distance
    of every sample to its nearest medoid.

    Unlike k-means, the centres are actual samples and any dissimilarity can be used, including
    a precomputed matrix. With the same initial medoids, ``method="fasterpam"``, ``"fastpam1"``
    and ``"pam"`` give exactly the medoids, loss and swap counts of the reference
    implementation (the ``kmedoids`` package), on any number of threads, and its labels except
    on ties, which go to the lowest cluster among equally near medoids, as in ``predict``.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of medoids k.
    metric : str or callable, default="euclidean"
        ``"precomputed"`` (X is an n x n symmetric distance matrix with a zero diagonal), any
        metric name accepted by :func:`sklearn.metrics.pairwise_distances`, or a callable
        ``f(x, y) -> float``. ``"euclidean"``, ``"sqeuclidean"``, ``"manhattan"`` and
        ``"cosine"`` are computed in C++. A numba-jitted ``f`` (``@numba.njit``) is evaluated
        in compiled parallel code; a plain Python callable is evaluated once per pair through
        scikit-learn, which is slow.
    metric_params : dict or None, default=None
        Keyword arguments of the metric (scikit-learn / scipy metric names and Python
        callables), e.g. ``{"p": 3}`` for ``"minkowski"``. For ``"seuclidean"`` and
        ``"mahalanobis"``, ``V`` and ``VI`` default to the ddof=1 variances and the inverse
        covariance of the training data, estimated once in ``fit`` and used by ``predict``,
        ``transform`` and ``score`` too (stored in ``effective_metric_params_``).
    method : {"fasterpam", "fastpam1", "pam", "alternate", "fastermsc", "fastmsc", "pammedsil", \
            "pamsil"}, default="fasterpam"
        ``"fasterpam"``: eager swaps, O(n^2) per pass, the fastest; ``"fastpam1"``: PAM's
        best-swap schedule in O(n^2) per swap; ``"pam"``: the classic O(k n^2) SWAP, for
        reference; ``"alternate"``: k-means-style Voronoi iteration (fast, usually worse).
        ``"fastermsc"`` and ``"fastmsc"`` maximise the medoid silhouette instead of minimising
        the total distance (see :func:`partita.metrics.medoid_silhouette`): eager swaps,
        O(n^2) per pass, or the best swap per iteration. With the same initial medoids they
        give the medoids, silhouette and swap counts of the ``kmedoids`` package's
        ``fastermsc`` and ``fastmsc``. ``"pammedsil"`` (the medoid silhouette's best swap
        summed directly, O(k n^2) per swap, the swaps of ``"fastmsc"``) and ``"pamsil"`` (the
        best swap by the exact silhouette, O(k n^3) per swap, tiny data only) are the original
        algorithms, for reference.
    init : {"build", "lab", "k-medoids++", "random"} or array of shape (n_clusters,), \
            default="build"
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
        Where to run. ``"cuda"`` runs the initialisation and the swaps (``method="fasterpam"``
        or ``"fastpam1"``) on a GPU, with the CPU's results bit for bit; distances come from
        the stored matrix, or are computed on the GPU from the features (built-in metrics) when
        ``distances`` is ``"on-the-fly"``. Its kernels have been tested on a CPU emulator of the
        GPU only, and warn ``GPUNotValidatedWarning`` until they pass on a GPU. ``"auto"``: the
        GPU when one is usable and the kernels accept this estimator, else the CPU.
    verbose : int, default=0
        Print the time and outcome of each stage (distances, initialisation, optimisation)
        and, for the optimisation, the swaps and loss of every pass (iteration).
    distances : {"auto", "matrix", "on-the-fly"}, default="auto"
        Where the distances come from for feature input. ``"matrix"``: the n x n matrix is
        computed once and stored (n^2 memory, the fastest swaps). ``"on-the-fly"``: each
        distance row is computed when needed (O(n) memory, O(n^2 d) work per pass), for n
        whose matrix does not fit; only for the built-in metrics and numba-jitted functions.
        The medoids are the same either way. ``"auto"``: the matrix when it takes at most half
        the available memory, else on the fly.

    Attributes
    ----------
    medoid_indices_ : ndarray of shape (n_clusters,)
        Index of the medoid of each cluster in the training data.
    cluster_centers_ : ndarray of shape (n_clusters, n_features) or None
        The medoids' feature vectors (None with ``metric="precomputed"``).
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training sample: its nearest medoid, ties to the lowest cluster (a
        sample equally near several medoids, even a medoid's own sample when another medoid
        is the same point, goes to the lowest of them), as ``predict`` does.
    inertia_ : float
        Weighted total distance of the samples to their medoids (the loss).
    n_iter_ : int
        Passes (fasterpam), iterations (fastpam1, pam) or rounds (alternate) run.
    n_swaps_ : int
        Medoid changes made by the optimisation.
    medoid_silhouette_ : float
        Only with the silhouette methods: the weighted average medoid silhouette of the medoids
        (``"pamsil"``: the exact silhouette of the labels), the objective they maximise (0 for
        n_clusters=1, where it is undefined and the medoid is the sample of least total
        distance).
    converged_ : bool
        Whether the optimisation ended because a pass found nothing left to improve; False
        when it stopped at ``max_iter`` (with a ConvergenceWarning) or max_iter was 0.
    effective_metric_params_ : dict
        The keyword arguments the metric was computed with (``metric_params`` completed with
        the estimates of ``V`` / ``VI``).
    distances_ : str
        ``"matrix"`` or ``"on-the-fly"``: where the distances came from.
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

    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "method": [Options(*_METHODS, *_MSC_METHODS)],
        "init": [Options(*_INITS), "array-like"],
        "max_iter": [Integer(0)],
        "device": [Options(*_DEVICES)],
        "distances": [Options(*_DISTANCE_MODES)],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        metric="euclidean",
        metric_params=None,
        method="fasterpam",
        init="build",
        max_iter=300,
        random_state=None,
        n_jobs=None,
        device="cpu",
        verbose=0,
        distances="auto",
    ):
        self.n_clusters = n_clusters
        self.metric = metric
        self.metric_params = metric_params
        self.method = method
        self.init = init
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose
        self.distances = distances

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
        return fit_or_leave_unfitted(self, self._fit, X, sample_weight)

    def _fit(self, X, sample_weight):
        validate_params(self)
        kernels = _kernels_for(self.device, type(self).__name__, self.method)
        threads = n_threads(self.n_jobs)
        if self.metric == "precomputed" and self.distances == "on-the-fly":
            raise ValueError("distances='on-the-fly' needs feature input, not metric='precomputed'")

        X = self._validate_X(X, reset=True)
        n = X.shape[0]
        k = check_n_clusters(self.n_clusters, n)
        weights = check_sample_weight(sample_weight, n)
        check_weight_scale(weights, small=False)  # the weighted loss must stay finite
        rng = check_random_state(self.random_state)

        t0 = time.perf_counter()
        self.effective_metric_params_ = _effective_metric_params(X, self.metric, self.metric_params)
        device = None if kernels is _kernels else kernels
        source, is_matrix = _distance_source(
            X,
            self.metric,
            self.distances,
            self.n_jobs,
            threads,
            self.effective_metric_params_,
            device,
        )
        self.distances_ = "matrix" if is_matrix else "on-the-fly"
        if kernels is not _kernels:
            source, kernels = _device_source(kernels, source, X, self.metric, self.device)
        if self.verbose:
            print(
                f"[KMedoids] distances ({self.distances_}, {n} samples, {X.dtype}): "
                f"{time.perf_counter() - t0:.3f} s"
            )

        t0 = time.perf_counter()
        medoids = _initial_medoids(self.init, source, n, k, weights, threads, rng, kernels)
        if self.verbose:
            init = self.init if isinstance(self.init, str) else "given indices"
            print(f"[KMedoids] init {init}: {time.perf_counter() - t0:.3f} s")

        t0 = time.perf_counter()
        result = kernels.optimise(
            source, medoids, weights, _method(self.method), int(self.max_iter), threads
        )
        if self.method in _MSC_METHODS:
            result = _silhouette_result(result, source, weights, threads)
            self.medoid_silhouette_ = result.medoid_silhouette
        if self.verbose:
            name = _PASS_NAMES[self.method]
            for i, (loss, swaps) in enumerate(zip(result.pass_loss, result.pass_swaps)):
                print(
                    f"[KMedoids] {self.method} {name} {i + 1}: {int(swaps)} swaps, loss {loss:.6g}"
                )
            print(
                f"[KMedoids] {self.method}: {result.n_iter} iterations, "
                f"{result.n_swaps} swaps, loss {result.loss:.6g}, "
                f"{'converged' if result.converged else 'not converged'}, "
                f"{time.perf_counter() - t0:.3f} s"
            )
        _warn_if_not_converged(result, self.method, int(self.max_iter))
        self.converged_ = bool(result.converged)
        self._set_result(X, result, k)
        return self


class CLARA(_MedoidsBase):
    """CLARA (FastCLARA): k-medoids on random samples, for data too large for an n x n matrix.

    Each of ``n_sampling`` rounds draws ``sample_size`` samples (always including the best
    medoids found so far), runs the chosen k-medoids method on their distance matrix, and scores
    the medoids by the total distance over all n samples. The best medoids are kept. Memory is
    O(sample_size^2 + n), never n^2; the scoring runs in parallel over all samples.

    Parameters
    ----------
    n_clusters : int, default=8
    metric : str or callable, default="euclidean"
        As for :class:`KMedoids`. The built-in metrics (euclidean, sqeuclidean, manhattan,
        cosine) and numba-jitted functions are computed in C++ without any n x n matrix; other
        metrics compute the sample matrices and the n x k scoring distances through
        scikit-learn. ``"precomputed"`` takes the full matrix and samples its rows and columns.
    metric_params : dict or None, default=None
        As for :class:`KMedoids`: ``V`` / ``VI`` of seuclidean / mahalanobis are estimated once
        from all of X (not from every sample), so that every round measures alike.
    n_sampling : int, default=5
        Number of samples (rounds).
    sample_size : int or None, default=None
        Samples per round; None means 80 + 4 * n_clusters. Larger than n is clamped to n with a
        warning.
    method : {"fasterpam", "fastpam1", "pam", "alternate"}, default="fasterpam"
        The k-medoids method run on every sample.
    init : {"build", "lab", "k-medoids++", "random"}, default="build"
        Initialisation inside every sample.
    max_iter : int, default=300
        Passes or swaps of the method on every sample.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampling (and the random initialisations).
    n_jobs : int or None, default=None
        Threads for the kernels; the result never depends on it.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to run. ``"cuda"``: every sample's initialisation and swaps
        (``method="fasterpam"`` or ``"fastpam1"``) and the scoring of its medoids on all
        samples run on a GPU, with the CPU's results bit for bit (built-in metrics computed
        there from the features, or a precomputed matrix). Its
        kernels have been tested on a CPU emulator of the GPU only, and warn
        ``GPUNotValidatedWarning`` until they pass on a GPU. ``"auto"``: the GPU when one is
        usable, else the CPU.
    verbose : int, default=0
        Print every round: its swaps inside the sample, its loss on all samples, the best so far.

    Attributes
    ----------
    medoid_indices_, cluster_centers_, labels_, inertia_ : as for :class:`KMedoids`, with the
        loss (inertia_) taken over all samples.
    n_iter_ : int
        Sampling rounds run.
    n_swaps_ : int
        Swaps made inside the sample that gave the best medoids.
    converged_ : bool
        Whether the optimisation inside the sample that gave the best medoids converged
        before ``max_iter`` (a ConvergenceWarning says when it did not).
    sample_losses_ : ndarray of shape (n_sampling,)
        The full-data loss of every round's medoids.
    effective_metric_params_ : dict
        As for :class:`KMedoids`.

    Examples
    --------
    >>> import numpy as np
    >>> from partita import CLARA
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    >>> clara = CLARA(n_clusters=2, random_state=0).fit(X)
    >>> clara.medoid_indices_.tolist(), clara.labels_.tolist()
    ([1, 4], [0, 0, 0, 1, 1, 1])
    """

    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "n_sampling": [Integer(1)],
        "sample_size": [None, Integer(1)],
        "method": [Options(*_METHODS)],
        "init": [Options(*_INITS)],
        "max_iter": [Integer(0)],
        "device": [Options(*_DEVICES)],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        metric="euclidean",
        metric_params=None,
        n_sampling=5,
        sample_size=None,
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
        self.metric_params = metric_params
        self.n_sampling = n_sampling
        self.sample_size = sample_size
        self.method = method
        self.init = init
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def fit(self, X, y=None, sample_weight=None):
        """Find the medoids from samples of X, scored on all of X; returns self."""
        return fit_or_leave_unfitted(self, self._fit, X, sample_weight)

    def _sample_distances(self, X, space, sample, threads):
        if self.metric == "precomputed":
            return np.ascontiguousarray(X[np.ix_(sample, sample)])
        sub = np.ascontiguousarray(X[sample])
        sub_space = _feature_space(sub, self.metric) if space is not None else None
        if sub_space is not None:
            return sub_space.distance_matrix(threads)
        Y = sub.copy() if callable(self.metric) else None
        D = np.ascontiguousarray(
            pairwise_distances(sub, Y, metric=self.metric, **self.effective_metric_params_),
            dtype=X.dtype,
        )
        _check_metric_values(
            _common.inspect_matrix(D, threads),
            self.metric,
            1e-5 if X.dtype == np.float32 else 1e-10,
        )
        _common.symmetrize_matrix(D, threads)
        return D

    def _device_sample(self, device, X, space, sample, threads):
        """The device source of a sample: its features when the device computes the metric,
        else its distance matrix."""
        if space is not None and self.metric in _BUILTIN_METRICS:
            return device.source(space, np.ascontiguousarray(X[sample]), self.metric)
        return self._sample_distances(X, space, sample, threads), None

    def _device_score(self, device, X, space, medoids, weights, threads):
        """As :meth:`_score`, on the device when it computes the metric or reads the
        precomputed matrix; else on the CPU."""
        if self.metric == "precomputed":
            nearest = device.label(device.source(X, X, None), medoids, weights, threads)
            return nearest.labels, nearest.loss
        if space is not None and self.metric in _BUILTIN_METRICS:
            nearest = device.label(device.source(space, X, self.metric), medoids, weights, threads)
            return nearest.labels, nearest.loss
        return self._score(X, space, medoids, weights, threads)

    def _score(self, X, space, medoids, weights, threads):
        """Labels, nearest distances and weighted loss of all samples for the given medoids."""
        if space is not None:
            n = len(weights)
            part = _kernels.label_blocks(space, medoids, weights, n, 0, LOSS_BLOCK, threads)
            return part.labels, _blocked_loss([(0, part)], n)
        D = self._to_medoids(X, X, medoids)
        D[medoids, np.arange(len(medoids))] = 0
        labels = np.argmin(D, axis=1)  # ties to the lowest cluster (docs/algorithms.md, "Ties")
        return labels, float(np.dot(weights, D[np.arange(len(D)), labels]))

    def _to_medoids(self, X, rows, medoids):
        """Distances of the feature rows `rows` (or, precomputed, of the samples whose rows of
        X these are) to the medoids, for the metrics without a C++ FeatureSpace."""
        if self.metric == "precomputed":
            return rows[:, medoids]
        return pairwise_distances(
            rows,
            X[medoids],
            metric=self.metric,
            n_jobs=self.n_jobs,
            **self.effective_metric_params_,
        )

    def _fit(self, X, sample_weight):
        if not isinstance(self.init, str):
            raise ValueError(
                "CLARA draws its own samples, so init must be one of "
                f"{', '.join(map(repr, _INITS))}, not an array of indices"
            )
        validate_params(self)
        kernels = _kernels_for(self.device, type(self).__name__, self.method)
        device = None if kernels is _kernels else kernels
        n_sampling = int(self.n_sampling)
        threads = n_threads(self.n_jobs)

        X = self._validate_X(X, reset=True)
        n = X.shape[0]
        k = check_n_clusters(self.n_clusters, n)
        weights = check_sample_weight(sample_weight, n)
        check_weight_scale(weights, small=False)  # the weighted loss must stay finite
        rng = check_random_state(self.random_state)
        size = 80 + 4 * k if self.sample_size is None else int(self.sample_size)
        if size > n:
            if self.sample_size is not None:
                warnings.warn(
                    f"sample_size={size} is larger than n_samples={n}; using {n}",
                    UserWarning,
                    stacklevel=2,
                )
            size = n
        if size < k:
            raise ValueError(f"sample_size={size} must be >= n_clusters={k}")

        self.effective_metric_params_ = _effective_metric_params(X, self.metric, self.metric_params)
        if self.metric == "precomputed":
            check_precomputed_distances(X, threads)
            space = None
        else:
            space = _feature_space(X, self.metric)
            if space is not None and self.metric not in _BUILTIN_METRICS:
                _spot_check_metric(space, X, self.metric, threads)

        best = None
        losses = []
        for round_ in range(n_sampling):
            t0 = time.perf_counter()
            # The sample: the best medoids so far, topped up with random other samples.
            keep = best.medoids if best is not None else np.empty(0, dtype=np.int64)
            sample = _clara_sample(rng, n, keep, size)
            if device is None:
                D = self._sample_distances(X, space, sample, threads)
            else:
                D = self._device_sample(device, X, space, sample, threads)
            w = np.ascontiguousarray(weights[sample])
            if w.sum() <= 0:
                w = np.ones_like(w)  # all-zero weights in a sample: any medoids are equal
            local = _initial_medoids(self.init, D, size, k, w, threads, rng, kernels)
            r = kernels.optimise(D, local, w, _method(self.method), int(self.max_iter), threads)
            medoids = sample[r.medoids]
            if device is None:
                labels, loss = self._score(X, space, medoids, weights, threads)
            else:
                labels, loss = self._device_score(device, X, space, medoids, weights, threads)
            losses.append(loss)
            if best is None or loss < best.loss:
                best = types.SimpleNamespace(
                    medoids=medoids,
                    labels=labels,
                    loss=loss,
                    n_iter=n_sampling,
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
        _warn_if_not_converged(
            best, self.method, int(self.max_iter), " in the sample that gave the best medoids"
        )
        self.converged_ = bool(best.converged)
        self._set_result(X, best, k)
        return self


class CLARANS(_MedoidsBase):
    """CLARANS (FasterCLARANS): randomized k-medoids search.

    ``n_local`` restarts from random medoids; each step draws a random non-medoid and scores all
    k swaps for it at once (O(n) distances); the best is applied when it lowers the loss; a
    restart ends after ``max_neighbors`` consecutive rejected candidates. The best restart is
    kept. Distances come from the matrix when it fits in memory, else they are computed on the
    fly (built-in metrics and numba functions).

    Parameters
    ----------
    n_clusters : int, default=8
    metric : str or callable, default="euclidean"
        As for :class:`KMedoids`.
    metric_params : dict or None, default=None
        As for :class:`KMedoids`.
    n_local : int, default=2
        Number of restarts.
    max_neighbors : int or None, default=None
        Consecutive rejections that end a restart; None means ceil(0.025 * (n - k)), at least 1.
    random_state : int, RandomState instance or None, default=None
    n_jobs : int or None, default=None
        Threads for the kernels; the result never depends on it.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to run. ``"cuda"``: the candidates are scored and the swaps applied on a GPU,
        with the CPU's results bit for bit (built-in metrics computed there from the features,
        or a precomputed matrix). Its
        kernels have been tested on a CPU emulator of the GPU only, and warn
        ``GPUNotValidatedWarning`` until they pass on a GPU. ``"auto"``: the GPU when one is
        usable, else the CPU.
    verbose : int, default=0
        Print a summary after the search (restarts, candidates, swaps, loss, time).

    Attributes
    ----------
    medoid_indices_, cluster_centers_, labels_, inertia_ : as for :class:`KMedoids`.
    n_iter_ : int
        Candidates examined in the best restart.
    n_swaps_ : int
        Swaps applied in the best restart.
    effective_metric_params_ : dict
        As for :class:`KMedoids`.

    CLARANS has no ``converged_``: a restart always ends on its own rule (``max_neighbors``
    rejected candidates in a row), never on an iteration cap.

    Examples
    --------
    >>> import numpy as np
    >>> from partita import CLARANS
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    >>> CLARANS(n_clusters=2, random_state=0).fit(X).labels_.tolist()
    [0, 0, 0, 1, 1, 1]
    """

    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "n_local": [Integer(1)],
        "max_neighbors": [None, Integer(1)],
        "device": [Options(*_DEVICES)],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        metric="euclidean",
        metric_params=None,
        n_local=2,
        max_neighbors=None,
        random_state=None,
        n_jobs=None,
        device="cpu",
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.metric = metric
        self.metric_params = metric_params
        self.n_local = n_local
        self.max_neighbors = max_neighbors
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def fit(self, X, y=None, sample_weight=None):
        """Search the medoids; returns self."""
        return fit_or_leave_unfitted(self, self._fit, X, sample_weight)

    def _fit(self, X, sample_weight):
        validate_params(self)
        kernels = _kernels_for(self.device, type(self).__name__)
        threads = n_threads(self.n_jobs)
        X = self._validate_X(X, reset=True)
        n = X.shape[0]
        k = check_n_clusters(self.n_clusters, n)
        weights = check_sample_weight(sample_weight, n)
        check_weight_scale(weights, small=False)  # the weighted loss must stay finite
        rng = check_random_state(self.random_state)
        if self.max_neighbors is None:
            max_neighbors = max(1, math.ceil(0.025 * (n - k)))
        else:
            max_neighbors = int(self.max_neighbors)
        self.effective_metric_params_ = _effective_metric_params(X, self.metric, self.metric_params)
        device = None if kernels is _kernels else kernels
        source, _ = _distance_source(
            X, self.metric, "auto", self.n_jobs, threads, self.effective_metric_params_, device
        )
        if kernels is not _kernels:
            source, kernels = _device_source(kernels, source, X, self.metric, self.device)
        t0 = time.perf_counter()
        params = _kernels.ClaransParams(
            n_clusters=k,
            n_local=int(self.n_local),
            max_neighbors=max_neighbors,
            seed=_random_seed(rng),
        )
        result = kernels.clarans(source, weights, params, threads)
        self._set_result(X, result, k)
        if self.verbose:
            print(
                f"[CLARANS] {self.n_local} restarts (max_neighbors {max_neighbors}): best restart "
                f"examined {self.n_iter_} candidates, {self.n_swaps_} swaps, loss "
                f"{self.inertia_:.6g}, {time.perf_counter() - t0:.3f} s"
            )
        return self


class DynMSC(_MedoidsBase):
    """The number of clusters chosen by the medoid silhouette, in one run (DynMSC).

    Starting from ``max_clusters`` initial medoids, FasterMSC maximises the medoid silhouette
    (:func:`partita.metrics.medoid_silhouette`); then the medoid whose removal costs least is
    removed and FasterMSC continues from the remaining ones, down to ``min_clusters``. The
    clustering with the highest medoid silhouette is kept. Every k after the first starts from
    a good solution, so the whole range costs little more than one FasterMSC run. With the same
    initial medoids, the result (medoids, silhouettes of every k, iterations, swaps) is that of
    the ``kmedoids`` package's ``dynmsc``.

    Parameters
    ----------
    min_clusters : int, default=2
        Smallest number of clusters tried (>= 2).
    max_clusters : int, default=10
        Largest number of clusters tried (>= min_clusters, <= n_samples).
    metric : str or callable, default="euclidean"
        As for :class:`KMedoids`: ``"precomputed"``, a metric computed in C++ (``"euclidean"``,
        ``"sqeuclidean"``, ``"manhattan"``, ``"cosine"``), any scikit-learn metric name, a
        callable, or a numba-jitted function.
    metric_params : dict or None, default=None
        Keyword arguments of a scikit-learn / scipy metric.
    init : {"build", "lab", "k-medoids++", "random"} or array of shape (max_clusters,), \\
            default="build"
        How the ``max_clusters`` initial medoids are chosen, as for :class:`KMedoids`.
    max_iter : int, default=300
        Maximum number of FasterMSC passes for every k.
    random_state : int, RandomState instance or None, default=None
        Seeds the "lab", "k-medoids++" and "random" initialisations.
    n_jobs : int or None, default=None
        Threads for the kernels. None: all cores unless limited by OMP_NUM_THREADS or
        threadpoolctl; -1: all cores. The result never depends on it.
    verbose : int, default=0
        Print the time of each stage and the medoid silhouette of every k.
    distances : {"auto", "matrix", "on-the-fly"}, default="auto"
        Where the distances come from for feature input, as for :class:`KMedoids`.

    Attributes
    ----------
    n_clusters_ : int
        The chosen number of clusters.
    medoid_indices_ : ndarray of shape (n_clusters_,)
        Index of the medoid of each cluster in the training data.
    cluster_centers_ : ndarray of shape (n_clusters_, n_features) or None
        The medoids' feature vectors (None with ``metric="precomputed"``).
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training sample: its nearest medoid, ties to the lowest cluster.
    inertia_ : float
        Weighted total distance of the samples to their medoids.
    medoid_silhouette_ : float
        Weighted average medoid silhouette of the chosen clustering.
    k_values_ : ndarray of shape (max_clusters - min_clusters + 1,)
        The numbers of clusters tried, ascending.
    medoid_silhouettes_ : ndarray of shape (max_clusters - min_clusters + 1,)
        Medoid silhouette reached for every k of ``k_values_`` (for a plot of k).
    n_iter_ : int
        FasterMSC passes, summed over every k.
    n_swaps_ : int
        Medoid changes, summed over every k.
    converged_ : bool
        Whether the chosen k's search ended because a pass found nothing left to improve.
    effective_metric_params_ : dict
        The keyword arguments the metric was computed with.
    distances_ : str
        ``"matrix"`` or ``"on-the-fly"``: where the distances came from.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has feature names that are all strings.

    Examples
    --------
    >>> import numpy as np
    >>> from partita import DynMSC
    >>> X = np.concatenate([np.linspace(0, 1, 10), np.linspace(10, 11, 10),
    ...                     np.linspace(20, 21, 10)])[:, None]
    >>> est = DynMSC(min_clusters=2, max_clusters=5).fit(X)
    >>> est.n_clusters_, np.bincount(est.labels_).tolist()
    (3, [10, 10, 10])
    >>> est.medoid_silhouettes_.round(3).tolist()
    [0.818, 0.972, 0.89, 0.884]
    """

    _parameter_constraints = {
        "min_clusters": [Integer(2)],
        "max_clusters": [Integer(2)],
        "metric": [_MetricName(), "callable"],
        "metric_params": [None, "dict"],
        "init": [Options(*_INITS), "array-like"],
        "max_iter": [Integer(0)],
        "random_state": ["random_state"],
        "n_jobs": [None, Integer()],
        "verbose": [Integer(0)],
        "distances": [Options(*_DISTANCE_MODES)],
    }

    def __init__(
        self,
        min_clusters=2,
        max_clusters=10,
        *,
        metric="euclidean",
        metric_params=None,
        init="build",
        max_iter=300,
        random_state=None,
        n_jobs=None,
        verbose=0,
        distances="auto",
    ):
        self.min_clusters = min_clusters
        self.max_clusters = max_clusters
        self.metric = metric
        self.metric_params = metric_params
        self.init = init
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.distances = distances

    def fit(self, X, y=None, sample_weight=None):
        """Find the number of clusters and the medoids.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) when
            ``metric="precomputed"``
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of every sample in the medoid silhouette (and in BUILD, LAB,
            k-medoids++).

        Returns
        -------
        self
        """
        return fit_or_leave_unfitted(self, self._fit, X, sample_weight)

    def _fit(self, X, sample_weight):
        validate_params(self)
        threads = n_threads(self.n_jobs)
        if self.metric == "precomputed" and self.distances == "on-the-fly":
            raise ValueError("distances='on-the-fly' needs feature input, not metric='precomputed'")
        if self.min_clusters > self.max_clusters:
            raise ValueError(
                f"min_clusters={self.min_clusters} must be <= max_clusters={self.max_clusters}"
            )
        X = self._validate_X(X, reset=True)
        n = X.shape[0]
        if self.max_clusters > n:
            raise ValueError(
                f"max_clusters={self.max_clusters} must be <= n_samples={n}: there are fewer "
                "samples than clusters"
            )
        k_min, k_max = int(self.min_clusters), int(self.max_clusters)
        weights = check_sample_weight(sample_weight, n)
        check_weight_scale(weights, small=False)
        rng = check_random_state(self.random_state)

        t0 = time.perf_counter()
        self.effective_metric_params_ = _effective_metric_params(X, self.metric, self.metric_params)
        source, is_matrix = _distance_source(
            X, self.metric, self.distances, self.n_jobs, threads, self.effective_metric_params_
        )
        self.distances_ = "matrix" if is_matrix else "on-the-fly"
        medoids = _initial_medoids(self.init, source, n, k_max, weights, threads, rng)
        if self.verbose:
            print(f"[DynMSC] distances and init: {time.perf_counter() - t0:.3f} s")

        t0 = time.perf_counter()
        dyn = _kernels.dynmsc(source, medoids, k_min, weights, int(self.max_iter), threads)
        best = dyn.best
        self.k_values_ = np.arange(k_min, k_max + 1, dtype=np.int64)
        self.medoid_silhouettes_ = np.asarray(dyn.losses, dtype=np.float64)
        if self.verbose:
            for k, value in zip(self.k_values_, self.medoid_silhouettes_):
                print(f"[DynMSC] k={k}: medoid silhouette {value:.6g}")
            print(
                f"[DynMSC] {best.n_iter} passes, {best.n_swaps} swaps, "
                f"{time.perf_counter() - t0:.3f} s"
            )
        result = _silhouette_result(best, source, weights, threads)
        k = int(np.asarray(best.medoids).shape[0])
        self.n_clusters_ = k
        self.medoid_silhouette_ = result.medoid_silhouette
        self.converged_ = bool(best.converged)
        self._set_result(X, result, k)
        return self
