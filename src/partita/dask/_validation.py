"""Checks of Dask input: the local estimators' checks, from statistics computed chunk by chunk."""

import math

import numpy as np

from .._validation import WEIGHT_RANGE, check_real_dtype, check_weight_scale
from ._arrays import as_rows


def _row_stats(block):
    """[non-finite count, max |x|] + column maxima + column minima of one chunk (0 rows: NaN)."""
    d = block.shape[1]
    if block.shape[0] == 0:
        return np.concatenate([[0.0, 0.0], np.full(2 * d, np.nan)])[None, :]
    bad = float(np.count_nonzero(~np.isfinite(block)))
    with np.errstate(invalid="ignore"):
        return np.concatenate(
            [[bad, float(np.max(np.abs(block)))], np.max(block, axis=0), np.min(block, axis=0)]
        ).astype(np.float64)[None, :]


def _weight_stats(block):
    """[non-finite count, negative count, sum, max] of one chunk of weights."""
    if block.shape[0] == 0:
        return np.array([[0.0, 0.0, 0.0, 0.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        return np.array(
            [
                [
                    float(np.count_nonzero(~np.isfinite(block))),
                    float(np.count_nonzero(block < 0)),
                    float(block.sum()),
                    float(block.max()),
                ]
            ]
        )


def check_data(X, sample_weight, *, squared_range=True):
    """X as a row-chunked float32 / float64 Dask array and float64 weights chunked alike, both
    checked as the local estimators check theirs (one pass over the data for the statistics)."""
    import dask
    import dask.array as da

    X = as_rows(X)
    check_real_dtype(X, "X")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    n, d = X.shape
    if n < 1 or d < 1:
        raise ValueError(
            f"Found array with {n} sample(s) and {d} feature(s) while a minimum of 1 is required."
        )
    if sample_weight is None:
        w = da.ones(n, chunks=(X.chunks[0],), dtype=np.float64)
    else:
        w = da.asarray(sample_weight)
        check_real_dtype(w, "sample_weight")
        w = w.astype(np.float64)
        if w.ndim == 0:
            w = da.full(n, w, chunks=(X.chunks[0],), dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(
                f"sample_weight.shape == {w.shape}, expected ({n},): one weight per sample"
            )
        w = w.rechunk((X.chunks[0],))
    xs = X.map_blocks(_row_stats, dtype=np.float64, chunks=((1,) * X.numblocks[0], (2 + 2 * d,)))
    ws = w.map_blocks(
        _weight_stats, dtype=np.float64, chunks=((1,) * w.numblocks[0], (4,)), new_axis=1
    )
    xs, ws = dask.compute(xs, ws)
    if xs[:, 0].sum() > 0:
        raise ValueError("Input X contains NaN or infinity.")
    if squared_range:
        _check_feature_range(X.dtype, n, d, xs)
    if ws[:, 0].sum() > 0:
        raise ValueError("sample_weight contains NaN or infinity")
    if ws[:, 1].sum() > 0:
        raise ValueError("sample_weight must be non-negative")
    with np.errstate(over="ignore"):
        total = float(np.sum(ws[:, 2]))
    if not total > 0:
        raise ValueError("sample_weight must have a positive sum; all sample weights are zero")
    if not math.isfinite(total):
        raise ValueError(
            f"the sum of sample_weight overflows float64 (largest weight {ws[:, 3].max():g}); "
            "rescale the weights"
        )
    # check_weight_scale(small=False) on the two numbers it looks at.
    if total > WEIGHT_RANGE[1]:
        check_weight_scale(np.array([total]), small=False)
    return X, w


def _check_feature_range(dtype, n, d, stats):
    """partita._validation.check_feature_range from per-chunk statistics."""
    info = np.finfo(dtype)
    largest = float(np.nanmax(stats[:, 1]))
    limit = math.sqrt(float(info.max)) / (2.0 * math.sqrt(float(n) * d))
    if largest > limit:
        raise ValueError(
            f"X has values up to |x| = {largest:g}: with {n} samples of {d} features its "
            f"squared distances would overflow {np.dtype(dtype).name}; the safe range is "
            f"|x| <= {limit:.3g} for this shape. Rescale X (e.g. divide it by {largest:.3g})"
        )
    tiny = float(info.tiny)
    spread = float(
        np.max(np.nanmax(stats[:, 2 : 2 + d], axis=0) - np.nanmin(stats[:, 2 + d :], axis=0))
    )
    if 0.0 < spread and spread * spread < tiny:
        raise ValueError(
            f"X's values differ by at most {spread:g} within a feature: every squared "
            f"difference underflows {np.dtype(dtype).name} (below {tiny:g}), so all distances "
            f"would be zero; the smallest usable spread is {math.sqrt(tiny):.3g}. Rescale X"
        )
