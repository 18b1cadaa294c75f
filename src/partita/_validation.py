"""Input checks shared by every estimator. Python validates, C++ computes: after these
functions a kernel receives C-contiguous float32 or float64 arrays and never copies."""

import math
import numbers
import os
import warnings

import numpy as np

from . import _core


def float_dtype(X):
    """float32 input stays float32; everything else becomes float64 (as scikit-learn does)."""
    return np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64


def as_numpy(X):
    """Array-like input as a NumPy array, before scikit-learn's checks see it.

    Any object that offers ``__dlpack__`` (PyTorch, JAX, CuPy on the host, ...) or ``__array__``
    becomes a NumPy array with its own dtype (without a copy where DLPack allows it), so float32
    stays float32 and scikit-learn's array-API dispatch never hands a foreign array to the
    kernels. NumPy arrays, lists, data frames (their column names matter) and sparse matrices
    pass through unchanged. Every estimator's input goes through here."""
    if X is None or isinstance(X, (np.ndarray, list, tuple)) or hasattr(X, "columns"):
        return X
    if hasattr(X, "__dlpack__"):
        try:
            return np.from_dlpack(X)
        except (TypeError, BufferError, RuntimeError, ValueError):
            # e.g. a tensor that requires grad, or one on a GPU: __array__ says why, if it can.
            if not hasattr(X, "__array__"):
                raise
    if hasattr(X, "__array__"):
        return np.asarray(X)
    return X


def warn_if_distance_matrix(X, n_threads, *, hint):
    """UserWarning when feature input X (C-contiguous float) looks like a distance matrix:
    square, at least 2 x 2, not all zero, non-negative, symmetric with a zero diagonal. One
    blocked pass in C++, and only when the cheap tests (shape, diagonal) pass first."""
    n = X.shape[0]
    if X.ndim != 2 or n < 2 or X.shape[1] != n or np.any(np.diagonal(X) != 0):
        return
    report = _core.common.inspect_matrix(X, n_threads)
    rtol = 1e-5 if X.dtype == np.float32 else 1e-10
    if (
        report.n_nonfinite == 0
        and report.min >= 0
        and report.max > 0
        and report.max_asymmetry <= rtol * report.max
    ):
        warnings.warn(
            f"X is square ({n} x {n}), symmetric and has a zero diagonal: it looks like a "
            f"distance matrix, but it is clustered as {n} feature vectors. {hint}",
            UserWarning,
            stacklevel=6,
        )  # fit -> fit_or_leave_unfitted -> _fit -> _validate_X


def check_feature_range(X, what="X", *, products=False):
    """Refuse feature values whose squared distances cannot be represented in X's dtype.

    Overflow: with m = max |x|, every squared difference is at most (2 m)**2 per feature, so
    (2 m)**2 * n_features * n_samples <= finfo.max keeps each squared distance (and dot
    product) and their sum over the samples finite. Underflow: when the largest difference
    within a feature, squared, is below finfo.tiny, every squared difference is zero or
    subnormal and the distances carry no information (with ``products``, the same for m**2:
    every dot product). Thresholds come from ``np.finfo(X.dtype)``; X is finite already."""
    n, d = X.shape[0], (X.shape[1] if X.ndim == 2 else 1)
    if X.size == 0:
        return
    info = np.finfo(X.dtype)
    largest = float(np.max(np.abs(X)))
    # Python floats: no overflow warnings, and the bound is computed once, exactly as stated.
    limit = math.sqrt(float(info.max)) / (2.0 * math.sqrt(float(n) * d))
    if largest > limit:
        raise ValueError(
            f"{what} has values up to |x| = {largest:g}: with {n} samples of {d} features its "
            f"squared distances would overflow {X.dtype.name}; the safe range is |x| <= "
            f"{limit:.3g} for this shape. Rescale {what} (e.g. divide it by {largest:.3g})"
        )
    tiny = float(info.tiny)
    spread = float(np.max(np.max(X, axis=0) - np.min(X, axis=0))) if X.ndim == 2 else 0.0
    if 0.0 < spread and spread * spread < tiny:
        raise ValueError(
            f"{what}'s values differ by at most {spread:g} within a feature: every squared "
            f"difference underflows {X.dtype.name} (below {tiny:g}), so all distances would be "
            f"zero; the smallest usable spread is {math.sqrt(tiny):.3g}. Rescale {what} "
            f"(e.g. divide it by {spread:.3g})"
        )
    if products and 0.0 < largest and largest * largest < tiny:
        raise ValueError(
            f"{what} has values of at most |x| = {largest:g}: every product underflows "
            f"{X.dtype.name} (below {tiny:g}), so all dot products would be zero; the smallest "
            f"usable |x| is {math.sqrt(tiny):.3g}. Rescale {what} (e.g. divide it by "
            f"{largest:.3g})"
        )


# The kernels take 64-bit integers: anything outside is refused here, not by pybind11.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def check_int(value, name, *, min_value=None, max_value=None):
    """An integer parameter within bounds (and within 64 bits), or a ValueError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{name} must be a 64-bit integer (|{name}| < 2**63), got {value}")
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"{name} must be <= {max_value}, got {value}")
    return value


def check_real(
    value,
    name,
    *,
    min_value=None,
    max_value=None,
    min_inclusive=True,
    max_inclusive=True,
    allow_inf=False,
):
    """A real (non-boolean) number within bounds, finite unless ``allow_inf``, or a ValueError
    naming it. Returns it as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if math.isnan(value) or (not allow_inf and math.isinf(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if min_value is not None and (value < min_value or (not min_inclusive and value == min_value)):
        raise ValueError(
            f"{name} must be {'>=' if min_inclusive else '>'} {min_value}, got {value!r}"
        )
    if max_value is not None and (value > max_value or (not max_inclusive and value == max_value)):
        raise ValueError(
            f"{name} must be {'<=' if max_inclusive else '<'} {max_value}, got {value!r}"
        )
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
            f"n_clusters={k} must be <= n_samples={n_samples}: "
            "there are fewer samples than clusters"
        )
    return k


def check_real_dtype(arr, name):
    """Refuse what a cast to float would silently change: complex numbers (the imaginary part is
    dropped), strings and objects (parsed or refused by NumPy with its own message)."""
    dtype = np.asarray(arr).dtype if not hasattr(arr, "dtype") else arr.dtype
    if dtype.kind == "c":
        raise ValueError(f"{name} must be real, got complex dtype {dtype}")
    if dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a numeric array, got dtype {dtype}")


def check_sample_weight(sample_weight, n_samples):
    """Non-negative finite float64 weights with a positive sum (ones when None)."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    w = np.asarray(as_numpy(sample_weight))
    check_real_dtype(w, "sample_weight")
    w = w.astype(np.float64, copy=False)
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
    with np.errstate(over="ignore"):
        total = w.sum()
    if not total > 0:
        raise ValueError("sample_weight must have a positive sum; all sample weights are zero")
    if not np.isfinite(total):
        raise ValueError(
            f"the sum of sample_weight overflows float64 (largest weight {w.max():g}); "
            "rescale the weights"
        )
    return np.ascontiguousarray(w)


# Where available_memory() reads the limits (module constants, so that tests can point them
# at files of their own).
_MEMINFO = "/proc/meminfo"
_PROC_STATUS = "/proc/self/status"
_CGROUP_V2 = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current")
_CGROUP_V1 = (
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    "/sys/fs/cgroup/memory/memory.usage_in_bytes",
)
# cgroup v1 writes "no limit" as a page-rounded 2**63 - 1.
_NO_LIMIT = 2**60


def _read_first_int(path, prefix=None):
    """The first integer of `path` (of its line starting with `prefix`), or None (a missing
    file, "max", anything unreadable)."""
    try:
        with open(path) as f:
            for line in f:
                if prefix is None or line.startswith(prefix):
                    field = line.split()[1 if prefix else 0]
                    return int(field) * (1024 if prefix else 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _limit_headroom(limit_file, usage_file):
    """limit - usage of a cgroup, or None where there is no limit."""
    limit = _read_first_int(limit_file)
    if limit is None or limit >= _NO_LIMIT:
        return None
    usage = _read_first_int(usage_file) or 0
    return max(limit - usage, 0)


def _address_space_headroom():
    """RLIMIT_AS minus the address space this process already maps (VmSize), or None."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    used = _read_first_int(_PROC_STATUS, "VmSize:") or 0
    return max(soft - used, 0)


WEIGHT_RANGE = (1e-150, 1e150)  # products of two weights and squared totals stay normal


def check_weight_scale(weights, *, small=True):
    """Weights on a scale the kernels can square: the total at most 1e150 (a weighted loss,
    a weight times a squared norm, or a product of two weights would overflow above), and,
    with ``small``, the largest at least 1e-150 (products of two weights underflow below).
    A common factor of the weights never changes a clustering, so the message says to
    rescale."""
    lo, hi = WEIGHT_RANGE
    with np.errstate(over="ignore"):
        total = float(weights.sum())
    largest = float(weights.max())
    if not (total <= hi and (not small or largest >= lo)):
        bound = f"its largest weight >= {lo:g} and " if small else ""
        raise ValueError(
            f"sample_weight must have {bound}its sum <= {hi:g}, got a largest weight of "
            f"{largest:g} and a sum of {total:g}; rescale the weights (a common factor does "
            "not change the clustering)"
        )


def available_memory():
    """Bytes of memory available to a new allocation, or None: the smallest of MemAvailable,
    the headroom under the address-space limit (RLIMIT_AS) and under the cgroup's (v2 or v1)
    memory limit."""
    physical = _read_first_int(_MEMINFO, "MemAvailable:")
    if physical is None:
        try:
            physical = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            physical = None
    bounds = [
        physical,
        _address_space_headroom(),
        _limit_headroom(*_CGROUP_V2),
        _limit_headroom(*_CGROUP_V1),
    ]
    bounds = [b for b in bounds if b is not None]
    return min(bounds) if bounds else None


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
    report = _core.common.inspect_matrix(D, n_threads)
    if report.n_nonfinite:
        raise ValueError(
            f"Input contains NaN or infinity: {report.n_nonfinite} precomputed distances are "
            "not finite"
        )
    scale = max(report.max, np.finfo(D.dtype).tiny)
    rtol = 1e-5 if D.dtype == np.float32 else 1e-10
    if report.min < 0:
        raise ValueError(
            f"precomputed distances must be non-negative; the smallest entry is {report.min:g}"
        )
    if report.max_abs_diagonal > rtol * scale:
        raise ValueError(
            "precomputed distances must have a zero diagonal (the distance of a point to itself); "
            f"the largest diagonal entry is {report.max_abs_diagonal:g}"
        )
    if report.max_asymmetry > rtol * scale:
        raise ValueError(
            "precomputed distances must be symmetric: the largest |D[i, j] - D[j, i]| is "
            f"{report.max_asymmetry:g}"
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


# ---- Declared parameter constraints ------------------------------------------------------------
# Each estimator declares, once, what every constructor parameter may be:
#
#     _parameter_constraints = {
#         "n_clusters": [Integer(1)],
#         "tol": [Real(0)],
#         "method": [Options("fasterpam", "pam")],
#         "init": [Options("build", "random"), "array-like"],
#         "gamma": [None, Real(0, inclusive="neither", allow_inf=False)],
#     }
#
# and calls ``validate_params(self)`` at the start of ``fit``. A value passes when it satisfies
# any one constraint of its list; otherwise a ValueError names the parameter, the value and what
# is allowed. Checks that relate several parameters or the data stay in the estimator.


class Integer:
    """An integer (not a bool) in [low, high]; None for an open end. Never outside 64 bits,
    what the kernels take."""

    def __init__(self, low=None, high=None):
        self.low, self.high = low, high

    def accepts(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            return False
        if not INT64_MIN <= value <= INT64_MAX:
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def __str__(self):
        if self.high is None:
            return "an integer" + ("" if self.low is None else f" >= {self.low}")
        return f"an integer in [{'-inf' if self.low is None else self.low}, {self.high}]"


class Real:
    """A real number (not a bool) between low and high; ``inclusive`` is "both", "left",
    "right" or "neither"; NaN never, infinity only with ``allow_inf``."""

    def __init__(self, low=None, high=None, *, inclusive="both", allow_inf=False):
        self.low, self.high, self.inclusive, self.allow_inf = low, high, inclusive, allow_inf

    def accepts(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            return False
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not self.allow_inf):
            return False
        left = self.inclusive in ("both", "left")
        right = self.inclusive in ("both", "right")
        if self.low is not None and (value < self.low or (not left and value == self.low)):
            return False
        if self.high is not None and (value > self.high or (not right and value == self.high)):
            return False
        return True

    def __str__(self):
        parts = []
        if self.low is not None:
            parts.append((">= " if self.inclusive in ("both", "left") else "> ") + f"{self.low:g}")
        if self.high is not None:
            parts.append(
                ("<= " if self.inclusive in ("both", "right") else "< ") + f"{self.high:g}"
            )
        finite = "" if self.allow_inf else "finite "
        return f"a {finite}real number" + (f" {' and '.join(parts)}" if parts else "")


class Options:
    """One of the given strings."""

    def __init__(self, *options):
        self.options = options

    def accepts(self, value):
        return isinstance(value, str) and value in self.options

    def __str__(self):
        return "one of " + ", ".join(map(repr, self.options))


def _accepts(constraint, value):
    if constraint is None:
        return value is None
    if constraint == "boolean":
        return isinstance(value, (bool, np.bool_))
    if constraint == "callable":
        return callable(value)
    if constraint == "array-like":
        return not isinstance(value, str) and any(
            hasattr(value, name) for name in ("__len__", "__array__", "__dlpack__")
        )
    if constraint == "dict":
        return isinstance(value, dict)
    if constraint == "random_state":
        return value is None or isinstance(
            value, (numbers.Integral, np.random.RandomState, np.random.Generator)
        )
    return constraint.accepts(value)


_DESCRIPTIONS = {
    None: "None",
    "boolean": "a bool",
    "callable": "a callable",
    "array-like": "an array",
    "dict": "a dict",
    "random_state": "None, an int or a numpy.random.RandomState",
}


def validate_params(estimator, constraints=None):
    """Check every parameter of ``estimator`` against its declared constraints (by default the
    class's ``_parameter_constraints``). Raises a ValueError naming the first bad parameter."""
    constraints = type(estimator)._parameter_constraints if constraints is None else constraints
    params = estimator.get_params(deep=False)
    for name, allowed in constraints.items():
        value = params[name]
        if not any(_accepts(c, value) for c in allowed):
            described = [
                _DESCRIPTIONS.get(c, None) if isinstance(c, str) or c is None else str(c)
                for c in allowed
            ]
            beyond = ""
            if isinstance(value, numbers.Integral) and not INT64_MIN <= value <= INT64_MAX:
                beyond = " (integers must fit in 64 bits: |value| < 2**63)"
            raise ValueError(f"{name} must be {' or '.join(described)}; got {value!r}{beyond}")
