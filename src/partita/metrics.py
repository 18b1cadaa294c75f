"""Cluster quality: the silhouette of a labelling and the medoid silhouette of a set of medoids.

Both run in C++ (``cpp/include/partita/medoids/silhouette.hpp``) on a precomputed distance
matrix, or on features with the distances computed on the fly for the built-in metrics
(``"euclidean"``, ``"sqeuclidean"``, ``"manhattan"``, ``"cosine"``) and numba-jitted functions,
so no n x n matrix is needed. Results do not depend on ``n_jobs``.
"""

import numpy as np
from sklearn.utils.validation import check_array

from ._backend import n_threads
from ._core import medoids as _kernels
from ._validation import as_numpy, check_feature_range, check_sample_weight, check_weight_scale
from .medoids import _BUILTIN_METRICS, _distance_source, _effective_metric_params, _feature_space

__all__ = ["silhouette", "medoid_silhouette"]

_DISTANCE_MODES = ("auto", "matrix", "on-the-fly")


def _check_X(X, metric):
    # A precomputed matrix is checked for NaN / inf in the same C++ pass as its symmetry.
    X = check_array(
        as_numpy(X),
        dtype=[np.float64, np.float32],
        order="C",
        ensure_min_samples=2,
        ensure_all_finite=metric != "precomputed",
    )
    if metric not in ("precomputed", "cosine"):
        check_feature_range(X)
    return X


def _check_distances(distances, metric):
    if distances not in _DISTANCE_MODES:
        raise ValueError(f"distances must be one of {_DISTANCE_MODES}, got {distances!r}")
    if metric == "precomputed" and distances == "on-the-fly":
        raise ValueError("distances='on-the-fly' needs feature input, not metric='precomputed'")


def _result(r, return_samples):
    mean = float(r.mean)
    return (mean, np.asarray(r.samples, dtype=np.float64)) if return_samples else mean


def silhouette(
    X,
    labels,
    *,
    metric="euclidean",
    metric_params=None,
    sample_weight=None,
    return_samples=False,
    distances="auto",
    n_jobs=None,
):
    """The exact silhouette of a clustering, O(n^2) distances, threaded.

    For every sample, ``a`` is its mean distance to the other samples of its cluster, ``b`` the
    smallest mean distance to the samples of another cluster, and its silhouette
    ``(b - a) / max(a, b)`` (0 for a sample alone in its cluster). The same values as
    :func:`sklearn.metrics.silhouette_score`, without its n x chunk temporaries.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) when
        ``metric="precomputed"`` (finite and non-negative; row i holds the distances of
        sample i, its diagonal entry is not read)
    labels : array-like of shape (n_samples,)
        Cluster of every sample (any hashable values); 2 to n_samples - 1 distinct ones.
    metric : str or callable, default="euclidean"
        ``"precomputed"``, a metric computed in C++ (``"euclidean"``, ``"sqeuclidean"``,
        ``"manhattan"``, ``"cosine"``), any :func:`sklearn.metrics.pairwise_distances` metric,
        a callable, or a numba-jitted ``f(x, y)``.
    metric_params : dict or None, default=None
        Keyword arguments of a scikit-learn / scipy metric.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights: the means ``a`` and ``b`` are weighted means, and so is the
        average over the samples.
    return_samples : bool, default=False
        Also return every sample's silhouette.
    distances : {"auto", "matrix", "on-the-fly"}, default="auto"
        For feature input: store the n x n matrix, or compute each row when needed (O(n)
        memory; built-in metrics and numba functions only); "auto" stores it when it takes at
        most half the available memory.
    n_jobs : int or None, default=None
        Threads; None: all cores unless limited by OMP_NUM_THREADS or threadpoolctl.

    Returns
    -------
    score : float
        Weighted mean silhouette, in [-1, 1].
    samples : ndarray of shape (n_samples,)
        Only with ``return_samples=True``: every sample's silhouette.

    Examples
    --------
    >>> import numpy as np
    >>> from partita.metrics import silhouette
    >>> X = np.array([[0.0], [0.1], [5.0], [5.2]])
    >>> round(silhouette(X, [0, 0, 1, 1]), 4)
    0.9703
    """
    _check_distances(distances, metric)
    X = _check_X(X, metric)
    n = X.shape[0]
    y = np.asarray(as_numpy(labels))
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},), got {y.shape}")
    try:
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError as e:  # e.g. a mix of strings and numbers, which cannot be sorted
        raise ValueError(f"labels must be mutually comparable values: {e}") from None
    if not 2 <= classes.shape[0] <= n - 1:
        raise ValueError(
            f"Number of labels is {classes.shape[0]}. Valid values are 2 to n_samples - 1 "
            "(inclusive)"
        )
    weights = check_sample_weight(sample_weight, n)
    check_weight_scale(weights, small=False)
    threads = n_threads(n_jobs)
    params = _effective_metric_params(X, metric, metric_params)
    if metric == "precomputed":
        # Row i is read as d(i, .): no symmetry or diagonal is needed, and the kernel refuses
        # negative and non-finite entries in its own pass (one read of the matrix, not two).
        if X.shape[0] != X.shape[1]:
            raise ValueError(
                f"metric='precomputed' needs a square distance matrix, got shape {X.shape}"
            )
        source = X
    else:
        source, _ = _distance_source(X, metric, distances, n_jobs, threads, params)
    r = _kernels.silhouette(
        source,
        np.ascontiguousarray(codes, dtype=np.int32),
        int(classes.shape[0]),
        weights,
        bool(return_samples),
        threads,
    )
    return _result(r, return_samples)


def medoid_silhouette(
    X,
    medoids,
    *,
    metric="euclidean",
    metric_params=None,
    sample_weight=None,
    return_samples=False,
    n_jobs=None,
):
    """The medoid silhouette of a set of medoids, O(nk) distances.

    Every sample scores ``1 - d1 / d2``, with ``d1`` and ``d2`` its distances to the nearest and
    second-nearest medoid (1 when ``d1`` is 0): the silhouette with the medoids standing for
    their clusters. It is what ``KMedoids(method="fastermsc")`` maximises and what
    :class:`~partita.DynMSC` uses to choose the number of clusters.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) when
        ``metric="precomputed"``
    medoids : array-like of shape (n_medoids,)
        Indices of at least 2 distinct samples.
    metric : str or callable, default="euclidean"
        As for :func:`silhouette`. With the built-in metrics and numba functions only the
        distances to the medoids are computed.
    metric_params : dict or None, default=None
        Keyword arguments of a scikit-learn / scipy metric.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the average.
    return_samples : bool, default=False
        Also return every sample's value.
    n_jobs : int or None, default=None
        Threads; None: all cores unless limited by OMP_NUM_THREADS or threadpoolctl.

    Returns
    -------
    score : float
        Weighted average medoid silhouette, in [0, 1].
    samples : ndarray of shape (n_samples,)
        Only with ``return_samples=True``: every sample's value.

    Examples
    --------
    >>> import numpy as np
    >>> from partita.metrics import medoid_silhouette
    >>> X = np.array([[0.0], [0.1], [5.0], [5.2]])
    >>> round(medoid_silhouette(X, [0, 2]), 4)
    0.9853
    """
    X = _check_X(X, metric)
    n = X.shape[0]
    med = np.asarray(as_numpy(medoids))
    if med.ndim != 1 or med.shape[0] < 2:
        raise ValueError(
            f"medoids must be a 1-d array of at least 2 indices, got shape {med.shape}"
        )
    if not np.issubdtype(med.dtype, np.integer):
        raise ValueError("medoids must hold integer sample indices")
    if med.min() < 0 or med.max() >= n:
        raise ValueError(f"medoids must be in [0, {n - 1}] (n_samples={n})")
    if np.unique(med).shape[0] != med.shape[0]:
        raise ValueError("medoids must be distinct sample indices")
    weights = check_sample_weight(sample_weight, n)
    check_weight_scale(weights, small=False)
    threads = n_threads(n_jobs)
    params = _effective_metric_params(X, metric, metric_params)
    # The built-in metrics compute only the k medoid rows; the others go through the checks of a
    # full distance matrix.
    builtin = isinstance(metric, str) and metric in _BUILTIN_METRICS
    source = _feature_space(X, metric) if builtin else None
    if source is None:
        source, _ = _distance_source(X, metric, "auto", n_jobs, threads, params)
    r = _kernels.medoid_silhouette(
        source, np.ascontiguousarray(med, dtype=np.int64), weights, bool(return_samples), threads
    )
    return _result(r, return_samples)
