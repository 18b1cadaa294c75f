"""Predict, transform and score with a fitted estimator, chunk by chunk, on a Dask array."""

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

from ._arrays import as_rows


def _apply(block, estimator, method):
    return getattr(estimator, method)(block)


def _apply_or_empty(block, estimator, method, template):
    """The method on one chunk; an empty chunk gives an empty result of the right shape (the
    estimators refuse empty input)."""
    if block.shape[0] == 0:
        return np.empty((0,) + template.shape[1:], dtype=template.dtype)
    return _apply(block, estimator, method)


def _chunk_score(block, weights, estimator):
    weights = weights.ravel()
    if block.shape[0] == 0 or (np.all(weights >= 0) and not np.any(weights)):
        return np.zeros(1)  # nothing that counts
    return np.array([estimator.score(block, sample_weight=weights)])


class ParallelPostFit(MetaEstimatorMixin, BaseEstimator):
    """A fitted estimator applied to a Dask array one chunk of rows at a time.

    ``predict``, ``transform`` and ``predict_proba`` run the estimator's own method on every
    chunk where the chunk lives and return a Dask array with the same row chunks; every
    partita estimator computes each row of these independently of the others, so the result
    equals the local one bit for bit for any chunking (but for a precomputed or callable
    kernel of :class:`~partita.KernelKMeans`, whose products go through BLAS). NumPy input is
    passed to the estimator as it is.

    Parameters
    ----------
    estimator : estimator
        A partita estimator; ``fit`` fits it on local data, or use one fitted already.

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator (``estimator`` itself when it was fitted already).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from partita import KMedoids
    >>> from partita.dask import ParallelPostFit
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> post = ParallelPostFit(KMedoids(2, random_state=0).fit(X))
    >>> post.predict(da.from_array(X, chunks=3)).compute().tolist()
    [0, 0, 1, 1]
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y=None, **fit_params):
        """Fit a clone of the estimator on X (a Dask array is computed first); returns self."""
        X = X.compute() if hasattr(X, "dask") else X
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        return self

    def _fitted(self):
        if hasattr(self, "estimator_"):
            return self.estimator_
        check_is_fitted(self.estimator)
        return self.estimator

    def __sklearn_is_fitted__(self):
        try:
            self._fitted()
        except Exception:
            return False
        return True

    def _map(self, X, method):
        estimator = self._fitted()
        if not hasattr(X, "dask"):
            return getattr(estimator, method)(X)
        X = as_rows(X)
        if X.shape[0] == 0:
            return getattr(estimator, method)(np.empty(X.shape, dtype=X.dtype))  # its error
        # Shape and dtype of the output, from a row of ones (valid input for every estimator).
        template = np.asarray(_apply(np.ones((1, X.shape[1]), X.dtype), estimator, method))
        chunks = (X.chunks[0],) + tuple((s,) for s in template.shape[1:])
        return X.map_blocks(
            _apply_or_empty,
            estimator,
            method,
            template,
            dtype=template.dtype,
            chunks=chunks,
            drop_axis=None if template.ndim == 2 else 1,
            meta=np.empty((0,) * template.ndim, dtype=template.dtype),
        )

    def predict(self, X):
        """The estimator's ``predict`` on every chunk of rows.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : dask.array.Array of shape (n_samples,)
        """
        return self._map(X, "predict")

    def transform(self, X):
        """The estimator's ``transform`` on every chunk of rows.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)

        Returns
        -------
        Xt : dask.array.Array of shape (n_samples, n_outputs)
        """
        return self._map(X, "transform")

    def predict_proba(self, X):
        """The estimator's ``predict_proba`` on every chunk of rows.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : dask.array.Array of shape (n_samples, n_clusters)
        """
        if not hasattr(self._fitted(), "predict_proba"):
            raise AttributeError(f"{type(self._fitted()).__name__} has no predict_proba")
        return self._map(X, "predict_proba")

    def score(self, X, y=None, sample_weight=None):
        """The estimator's ``score`` of every chunk, added in chunk order.

        The chunk scores are computed where the chunks live; their sum equals the local score
        up to rounding (the local score sums all samples at once). Estimators whose score is
        not a sum over the samples (:class:`~partita.DenseMulticut`) are refused.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        estimator = self._fitted()
        if type(estimator).__name__ == "DenseMulticut":
            raise ValueError(
                "DenseMulticut's score is the objective of the whole partition, not a sum over "
                "the samples; compute it on local data"
            )
        if not hasattr(X, "dask"):
            return estimator.score(X, sample_weight=sample_weight)
        import dask.array as da

        X = as_rows(X)
        if sample_weight is None:
            w = da.ones(X.shape[0], chunks=X.chunks[0])
        else:
            w = da.asarray(sample_weight, dtype=np.float64)
            if w.shape != (X.shape[0],):
                raise ValueError(
                    f"sample_weight.shape == {w.shape}, expected ({X.shape[0]},): one weight "
                    "per sample"
                )
            w = w.rechunk((X.chunks[0],))
        parts = da.map_blocks(
            _chunk_score,
            X,
            w[:, None],
            estimator,
            dtype=np.float64,
            chunks=((1,) * X.numblocks[0],),
            drop_axis=1,
        )
        return float(sum(parts.compute().tolist()))


class ChunkedPostFit:
    """What a partita.dask estimator does after fitting, through its local counterpart
    ``_local_class`` (the fitted parameters copied, never ``labels_``, which stay a Dask array):
    ``to_local``, and ``fit_predict``, ``predict``, ``transform``, ``score`` chunk by chunk with
    :class:`ParallelPostFit`. Listed first among the bases, so that these replace the local
    estimator's methods."""

    _local_class = None

    @staticmethod
    def _copied(name):
        """Whether attribute `name` goes to the local estimator."""
        return name != "labels_" and (name.endswith("_") or name.startswith("_"))

    def _local_model(self):
        local = self._local_class(**self.get_params())
        for name, value in vars(self).items():
            if self._copied(name):
                setattr(local, name, value)
        return local

    def to_local(self):
        """The fitted local partita estimator (its ``labels_`` computed to NumPy).

        Returns
        -------
        estimator : the partita estimator of the same name
        """
        local = self._local_model()
        local.labels_ = np.asarray(self.labels_.compute(), dtype=np.int64)
        return local

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return ``labels_`` (a Dask array).

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : dask.array.Array of shape (n_samples,)
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def predict(self, X):
        """The local estimator's ``predict``, chunk by chunk (a Dask array for Dask input).

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : dask.array.Array of shape (n_samples,)
        """
        return ParallelPostFit(self._local_model()).predict(X)

    def transform(self, X):
        """The local estimator's ``transform`` (distances to the clusters), chunk by chunk.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)

        Returns
        -------
        distances : dask.array.Array of shape (n_samples, n_clusters)
        """
        return ParallelPostFit(self._local_model()).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """The local estimator's ``score``, added chunk by chunk (a sum over the samples).

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return ParallelPostFit(self._local_model()).score(X, sample_weight=sample_weight)
