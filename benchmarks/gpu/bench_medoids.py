"""GPU-vs-CPU timings of the k-medoids search (run by benchmarks/gpu.sh on the GPU machine).

Usage: PYTHONPATH=src python3 benchmarks/gpu/bench_medoids.py OUT.json

The cases, cheapest first, at the sizes the GPU path is meant for (one H200):

1. CLARA's scoring: every one of 10,000,000 points (d = 32, float32) to its nearest of 100
   medoids, the features on the GPU; the CPU kernel on all cores for comparison.
2. A stored float32 matrix, n = 50,000, k = 100: FasterPAM from the same start (LAB) on the
   GPU (the matrix made and read there) and on the CPU with 2 threads.
3. On the fly, n = 1,000,000, d = 64, k = 100: LAB, then FasterPAM passes, timed pass by pass
   (no CPU comparison: hours). The JSON is written after every case, so a timeout keeps the
   finished ones.

Every GPU result is compared with the CPU kernels' (bit for bit where the CPU runs).
"""

import json
import sys
import time
import warnings

import numpy as np
import torch

from partita import _backend, _core
from partita._gpu_arrays import as_device_array

warnings.simplefilter("ignore", _backend.GPUNotValidatedWarning)
cuda = _backend._cuda
cpu = _core.medoids
results = {"gpu": torch.cuda.get_device_name(0), "cases": []}


def save(path):
    with open(path, "w") as f:
        json.dump(results, f, indent=1)


def timed(fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def blobs(n, d, centers, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    c = torch.rand((centers, d), device="cuda", generator=g) * 10
    which = torch.randint(0, centers, (n,), device="cuda", generator=g)
    return (c[which] + torch.randn((n, d), device="cuda", generator=g)).contiguous()


def lab_samples(n, k, seed):
    rng = np.random.default_rng(seed)
    m = min(n, 10 + int(np.ceil(np.sqrt(n))))
    return np.stack([rng.choice(n, m, replace=False) for _ in range(k)]).astype(np.int64)


def clara_scoring(n=10_000_000, d=32, k=100):
    X = blobs(n, d, 100, seed=1)
    ref = as_device_array(X).array_ref(cuda)
    med = np.random.default_rng(0).choice(n, k, replace=False).astype(np.int64)
    w = np.ones(n)
    cuda.medoids.label(ref, cuda.medoids.Metric.euclidean, med[:2], w)  # warm-up
    gpu, t_gpu = timed(lambda: cuda.medoids.label(ref, cuda.medoids.Metric.euclidean, med, w))
    X_host = X.cpu().numpy()
    space = cpu.FeatureSpace32(X_host, cpu.Metric.euclidean, 0)
    t0 = time.perf_counter()
    ref_cpu = cpu.label(space, med, w, 0)
    t_cpu = time.perf_counter() - t0
    return {
        "case": "CLARA scoring (label), euclidean on the fly",
        "n": n,
        "d": d,
        "k": k,
        "dtype": "float32",
        "matches_cpu": bool(np.array_equal(gpu.labels, ref_cpu.labels))
        and gpu.loss == ref_cpu.loss,
        "gpu_s": t_gpu,
        "cpu_all_cores_s": t_cpu,
        "target_s": 0.5,
        "floor_s": n * d * 4 / 4.8e12,
    }


def stored_fasterpam(n=50_000, k=100):
    X = blobs(n, 16, 200, seed=2)
    D = torch.cdist(X, X)
    D.fill_diagonal_(0)
    D = torch.minimum(D, D.T).contiguous()  # exactly symmetric
    ref = as_device_array(D).array_ref(cuda)
    w = np.ones(n)
    D_host = D.cpu().numpy()
    start = cpu.lab(D_host, lab_samples(n, k, 3), w, 0)
    fp_gpu, fp_cpu = cuda.medoids.Method.fasterpam, cpu.Method.fasterpam
    gpu, t_gpu = timed(lambda: cuda.medoids.optimise(ref, None, start, w, fp_gpu, 300))
    build_gpu, t_build = timed(lambda: cuda.medoids.build(ref, None, k, w))
    ref = D = None  # free the GPU matrix before the CPU run
    torch.cuda.empty_cache()
    t0 = time.perf_counter()
    ref_cpu = cpu.optimise(D_host, start, w, fp_cpu, 300, 2)
    t_cpu = time.perf_counter() - t0
    return {
        "case": "FasterPAM, stored float32 matrix on the GPU, from LAB",
        "n": n,
        "k": k,
        "matches_cpu": bool(np.array_equal(gpu.medoids, ref_cpu.medoids))
        and gpu.loss == ref_cpu.loss
        and gpu.n_swaps == ref_cpu.n_swaps,
        "passes": int(gpu.n_iter),
        "swaps": int(gpu.n_swaps),
        "gpu_s": t_gpu,
        "cpu_2_threads_s": t_cpu,
        "speedup": t_cpu / t_gpu,
        "target_speedup": 30,
        "gpu_build_s": t_build,
        "floor_per_pass_s": n * n * 4 / 4.8e12,
    }


def on_the_fly(n=1_000_000, d=64, k=100, passes=2):
    X = blobs(n, d, 300, seed=4)
    ref = as_device_array(X).array_ref(cuda)
    metric = cuda.medoids.Metric.euclidean
    w = np.ones(n)
    start, t_lab = timed(lambda: cuda.medoids.lab(ref, metric, lab_samples(n, k, 5), w))
    fp = cuda.medoids.Method.fasterpam
    per_pass = []
    med = start
    for _ in range(passes):
        r, t = timed(lambda m=med: cuda.medoids.optimise(ref, metric, m, w, fp, 1))
        per_pass.append({"seconds": t, "swaps": int(r.n_swaps), "loss": r.loss})
        med = r.medoids
        if r.converged:
            break
    return {
        "case": "FasterPAM on the fly, euclidean, from LAB (pass by pass)",
        "n": n,
        "d": d,
        "k": k,
        "dtype": "float32",
        "gpu_lab_s": t_lab,
        "passes": per_pass,
        "target_s": 30,
        "floor_per_pass_s": 3 * n * n * d / 60e12,
    }


if __name__ == "__main__":
    out = sys.argv[1]
    for case in (clara_scoring, stored_fasterpam, on_the_fly):
        try:
            results["cases"].append(case())
        except Exception as e:  # keep the other cases' results
            results["cases"].append({"case": case.__name__, "error": repr(e)})
        print(json.dumps(results["cases"][-1]), flush=True)
        save(out)
