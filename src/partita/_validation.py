"""Input checks shared by every estimator. Python validates, C++ computes: after these
functions a kernel receives C-contiguous float32 or float64 arrays and never copies."""
import numbers
import os

import numpy as np

from . import _core


def float_dtype(X):
    """float32 input stays float32; everything else becomes float64 (as scikit-learn does)."""
    return np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64


def check_int(value, name, *, min_value=None, max_value=None):
    """An integer parameter within bounds, or a ValueError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"{name} must be <= {max_value}, got {value}")
    return value


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_n_clusters(n_clusters, n_samples):
    """1 <= n_clusters <= n_samples."""
    k = check_int(n_clusters, "n_clusters", min_value=1)
    if k > n_samples:
        raise ValueError(
            f"n_clusters={k} must be <= n_samples={n_samples}: there are fewer samples than clusters"
        )
    return k


def check_sample_weight(sample_weight, n_samples):
    """Non-negative finite float64 weights with a positive sum (ones when None)."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n_samples, float(w))
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {w.shape}, expected ({n_samples},): one weight per sample"
        )
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinity")
    if np.any(w < 0):
        raise ValueError("sample_weight must be non-negative")
    if not w.sum() > 0:
        raise ValueError("sample_weight must have a positive sum; all sample weights are zero")
    return np.ascontiguousarray(w)


def available_memory():
    """Bytes of memory available to a new allocation (MemAvailable on Linux), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n_bytes):
    """1536 -> '1.5 KiB': sizes in messages, in the unit that keeps them readable."""
    value = float(n_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024


def check_fits_in_memory(n_bytes, what, alternatives):
    """Raise MemoryError before allocating `n_bytes` that would not fit."""
    available = available_memory()
    if available is not None and n_bytes > available:
        raise MemoryError(
            f"{what} needs {format_bytes(n_bytes)} but only {format_bytes(available)} of memory "
            "is available; "
            f"{alternatives}"
        )


def check_precomputed_distances(D, n_threads):
    """A finite, square, non-negative, symmetric matrix with a zero diagonal. One blocked pass
    in C++ checks it all, without temporary n x n arrays."""
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(
            f"metric='precomputed' needs a square distance matrix, got shape {D.shape}"
        )
    report = _core.inspect_distance_matrix(D, n_threads)
    if report["n_nonfinite"]:
        raise ValueError(
            f"Input contains NaN or infinity: {report['n_nonfinite']} precomputed distances are "
            "not finite"
        )
    scale = max(report["max"], np.finfo(D.dtype).tiny)
    rtol = 1e-5 if D.dtype == np.float32 else 1e-10
    if report["min"] < 0:
        raise ValueError(
            f"precomputed distances must be non-negative; the smallest entry is {report['min']:g}"
        )
    if report["max_abs_diagonal"] > rtol * scale:
        raise ValueError(
            "precomputed distances must have a zero diagonal (the distance of a point to itself); "
            f"the largest diagonal entry is {report['max_abs_diagonal']:g}"
        )
    if report["max_asymmetry"] > rtol * scale:
        raise ValueError(
            "precomputed distances must be symmetric: the largest |D[i, j] - D[j, i]| is "
            f"{report['max_asymmetry']:g}"
        )
    return report


def fit_or_leave_unfitted(estimator, fit, *args, private=()):
    """Run ``fit(*args)`` so that a failed fit (bad input, MemoryError, Ctrl-C) never leaves the
    estimator looking fitted or half-updated: every fitted attribute (trailing underscore, plus
    the ``private`` names of fit-time state) is removed before the fit and again if it raises."""

    def clear():
        for name in list(vars(estimator)):
            if (name.endswith("_") and not name.startswith("__")) or name in private:
                delattr(estimator, name)

    clear()
    try:
        return fit(*args)
    except BaseException:
        clear()
        raise
