"""GPU timings of the dense multicut (run by benchmarks/gpu.sh on the GPU machine) at the target
sizes, every GPU result checked against the CPU on the same input before it is timed.

Usage: PYTHONPATH=src python3 benchmarks/gpu/bench_multicut.py OUT.json

- the exact kNN (k = 10, d = 64; float32 screening, float64 costs) of n = 4,096 (checked: the
  CPU's lists, bit for bit), 100,000 and, when the 100,000 run extrapolates to under 40 s,
  1,000,000 points, against the float32 FMA floor of the n^2 d screening products;
- DenseMulticut(algorithm="lazy") on n = 40,000 and 100,000 clustered unit vectors, d = 64:
  GPU vs CPU in the same run (the CPU at 100,000 only when 40,000 took under 20 s), the
  partitions compared;
- multicut_objective on 1,000,000 x 64, GPU vs CPU (the values compared).

The JSON is also printed on one line after "bench_multicut:" (gpu.sh keeps it in gpu.log).
"""

import json
import sys
import time
import warnings

import numpy as np

from partita import DenseMulticut, _backend, _core
from partita.multicut import multicut_objective

# H200 float32: 128 FMA per SM and clock, 132 SMs at 1.98 GHz; the screen is one FMA per pair
# and feature.
FP32_FMA_PER_S = 128 * 132 * 1.98e9


def data(n, d=64, centres=200, seed=0):
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(centres, d))
    X = C[rng.integers(0, centres, size=n)] + 0.3 * rng.normal(size=(n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_knn(mod, n, k=10, d=64, check=False):
    X = data(n, d)
    sizes = np.ones(n)
    (idx, val), t = timed(lambda: mod.knn_positive(X, sizes, 0.5, k))
    r = {"case": f"exact kNN {n} x {n}, d = {d}, k = {k}", "gpu_s": t}
    r["floor_s"] = float(n) * n * d / FP32_FMA_PER_S
    r["fraction_of_floor"] = r["floor_s"] / t
    if check:
        cpu = _core.multicut.knn_positive(X, sizes, 0.5, k, _core.multicut.Metric.dot, 0)
        r["check_same_lists"] = bool(
            np.array_equal(idx, cpu.indices) and np.array_equal(val, cpu.costs)
        )
    return r


def bench_fit(n, cpu_too):
    X = data(n, seed=1)
    kw = dict(offset=0.5, metric="dot", algorithm="lazy")
    gpu, t_gpu = timed(lambda: DenseMulticut(device="cuda", **kw).fit(X))
    r = {
        "case": f"DenseMulticut lazy + refine, {n} x 64",
        "gpu_s": t_gpu,
        "n_clusters": gpu.n_clusters_,
        "n_rounds": gpu.n_rounds_,
        "objective": gpu.objective_,
    }
    if cpu_too:
        cpu, t_cpu = timed(lambda: DenseMulticut(**kw).fit(X))
        r["cpu_s"] = t_cpu
        r["check_same_labels"] = bool(np.array_equal(gpu.labels_, cpu.labels_))
        r["check_same_objective"] = gpu.objective_ == cpu.objective_
    return r


def bench_objective(n=1_000_000, d=64):
    X = data(n, d, seed=2)
    labels = np.random.default_rng(3).integers(0, 1000, size=n)
    g, t_gpu = timed(lambda: multicut_objective(X, labels, offset=0.5, device="cuda"))
    c, t_cpu = timed(lambda: multicut_objective(X, labels, offset=0.5))
    return {
        "case": f"multicut_objective {n} x {d}, 1000 clusters",
        "gpu_s": t_gpu,
        "cpu_s": t_cpu,
        "floor_s": 8.0 * n * d / 4.8e12,  # one read of X
        "check_same_value": g == c,
    }


def main(out):
    warnings.simplefilter("ignore", _backend.GPUNotValidatedWarning)
    mod = _backend.family_module("multicut", "cuda")
    results = [bench_knn(mod, 4096, check=True)]
    results.append(bench_knn(mod, 100_000))
    if results[-1]["gpu_s"] * 100 < 40:
        results.append(bench_knn(mod, 1_000_000))
    results.append(bench_fit(40_000, cpu_too=True))
    results.append(bench_fit(100_000, cpu_too=results[-1].get("cpu_s", 99) < 20))
    results.append(bench_objective())
    json.dump(results, open(out, "w"), indent=1)
    print("bench_multicut:", json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
