"""Dask arrays as the Dask estimators take them: rows in chunks, all columns in each chunk."""

import numpy as np


def as_rows(X):
    """X as a 2-d Dask array whose chunks hold whole rows (column chunks are joined)."""
    import dask.array as da

    X = da.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-d array of shape (n_samples, n_features), got {X.ndim}-d")
    if any(np.isnan(c) for chunks in X.chunks for c in chunks):
        raise ValueError(
            "X has unknown chunk sizes (e.g. after boolean indexing); call "
            "X.compute_chunk_sizes() first"
        )
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    return X


def row_chunks(X):
    return X.chunks[0]


def offsets(chunks):
    """First row of every chunk."""
    return np.concatenate([[0], np.cumsum(chunks)[:-1]]).astype(np.int64).tolist()
