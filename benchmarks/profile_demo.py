"""Where the time of every fit in the demo (`python -m partita`) goes: in the compiled kernels
(calls into partita's `_core` module) or around them (Python: validation, scikit-learn's checks,
NumPy preparation, result objects).

    python benchmarks/profile_demo.py [--quick] [--top 4]

Each fit runs once to warm up, then three times under cProfile (the fastest is kept); the
kernel share is the time spent inside `_core` functions (their own time, nothing runs below
them). For fits where the time outside the kernels exceeds 10%, the largest Python-side costs
(own time per function) are listed.
"""

import argparse
import cProfile
import pstats
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from partita.__main__ import _methods


def _is_kernel(func):
    filename, _, name = func
    return filename == "~" and "partita._core" in name


def profile_fit(fit, X, repeats=3):
    """The fastest of `repeats` profiled fits (on a shared machine the others were interrupted)."""
    fit(X)  # warm-up: imports, first-touch allocations, thread pool
    best = None
    for _ in range(repeats):
        prof = cProfile.Profile(time.perf_counter)
        t0 = time.perf_counter()
        prof.enable()
        fit(X)
        prof.disable()
        total = time.perf_counter() - t0
        if best is None or total < best[0]:
            best = (total, prof)
    total, prof = best
    stats = pstats.Stats(prof).stats
    kernel = sum(tt for func, (_, _, tt, _, _) in stats.items() if _is_kernel(func))
    outside = sorted(
        ((tt, func) for func, (_, _, tt, _, _) in stats.items() if not _is_kernel(func)),
        reverse=True,
    )
    return total, kernel, outside


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=4)
    parser.add_argument(
        "--threshold", type=float, default=0.10, help="list the Python-side costs above this share"
    )
    args = parser.parse_args()
    digits = load_digits()
    X, y = digits.data, digits.target
    if args.quick:
        idx = np.sort(np.random.default_rng(args.seed).choice(len(X), 400, replace=False))
        X, y = X[idx], y[idx]
    X = StandardScaler().fit_transform(X)
    k = len(np.unique(y))
    print(f"{'fit':36s} {'total [ms]':>10s} {'kernels':>8s} {'outside':>8s}")
    for label, _, fit in _methods(k, args.seed, X.shape[0]):
        if "kmedoids" in label and "package" in label:
            continue  # the peer's row: nothing of partita's to profile
        total, kernel, outside = profile_fit(fit, X)
        share = 1 - kernel / total
        print(f"{label:36s} {1e3 * total:10.1f} {1e3 * kernel:8.1f} {100 * share:7.0f}%")
        if share > args.threshold:
            for tt, (filename, line, name) in outside[: args.top]:
                where = (
                    name
                    if filename == "~"
                    else f"{filename.split('site-packages/')[-1]}:{line} {name}"
                )
                print(f"    {1e3 * tt:8.1f} ms  {where}")


if __name__ == "__main__":
    main()
