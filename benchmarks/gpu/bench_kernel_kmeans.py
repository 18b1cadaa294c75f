"""GPU timings of KernelKMeans(device="cuda") (run by benchmarks/gpu.sh on the GPU machine) at the
target sizes, after a check against the CPU on a smaller input in the same run.

Usage: PYTHONPATH=src python3 benchmarks/gpu/bench_kernel_kmeans.py OUT.json

- check: rbf, n = 4,000, d = 64, k = 50, float64 (labels must equal the CPU's) and float32
  (the fraction of flipped labels), the CPU timed on the same input;
- rbf, n = 200,000, d = 64, k = 50, float32, Gram recomputed, 10 iterations (target < 10 s);
- stored Gram, n = 100,000, d = 784, float32 (40 GB on the device), 10 iterations (target < 2 s);
- rbf, n = 1,000,000, d = 64, k = 100, float32, recomputed: one full E pass timed on its own (the
  unit of the target's 60 s), then a fit of 10 iterations if the step's time allows.

Each result is printed as it comes, on a line that starts "bench_kernel_kmeans:", and the JSON
file is rewritten after every case, so a step that times out keeps what finished.
"""

import json
import sys
import time
import warnings

import numpy as np

from partita import KernelKMeans, _backend

TFLOPS = 60e12  # H200, fp32 non-tensor (fp64 about the same)
HBM_BYTES_PER_S = 4.8e12
results = {}


def record(name, value, out):
    results[name] = value
    print("bench_kernel_kmeans:", json.dumps({name: value}), flush=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


def blobs(n, d, k, dtype, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(k, d))
    X = centres[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    return np.ascontiguousarray(X, dtype=dtype)


def fit(X, k, device, **kw):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km = KernelKMeans(n_clusters=k, kernel="rbf", init="random", random_state=0, **kw)
        km.fit(X) if device == "cpu" else km.set_params(device="cuda").fit(X)
    return km, time.perf_counter() - t0


def pass_flops(n, d):
    return 2.0 * n * n * d  # one Gram entry: d multiplications and d additions


def main(out):
    warnings.simplefilter("ignore", _backend.GPUNotValidatedWarning)
    for dtype in (np.float64, np.float32):
        X = blobs(4000, 64, 50, dtype)
        cpu, t_cpu = fit(X, 50, "cpu", max_iter=10, tol=0.0, gram="blocked")
        gpu, t_gpu = fit(X, 50, "cuda", max_iter=10, tol=0.0, gram="blocked")
        record(
            f"check_rbf_4000_{np.dtype(dtype).name}",
            {
                "flipped_fraction": float(np.mean(cpu.labels_ != gpu.labels_)),
                "same_labels": bool(np.array_equal(cpu.labels_, gpu.labels_)),
                "inertia_cpu": cpu.inertia_,
                "inertia_gpu": gpu.inertia_,
                "cpu_s": t_cpu,
                "gpu_s": t_gpu,
            },
            out,
        )

    n, d, k = 200_000, 64, 50
    X = blobs(n, d, k, np.float32)
    km, t = fit(X, k, "cuda", max_iter=10, tol=0.0, gram="blocked")
    record(
        "rbf_200000_d64_k50_blocked_10iter",
        {
            "seconds": t,
            "target_s": 10.0,
            "n_iter": km.n_iter_,
            "floor_full_pass_s": pass_flops(n, d) / TFLOPS,
        },
        out,
    )

    n, d, k = 100_000, 784, 50
    X = blobs(n, d, k, np.float32)
    km, t = fit(X, k, "cuda", max_iter=10, tol=0.0, gram="stored")
    record(
        "stored_100000_d784_k50_10iter",
        {
            "seconds": t,
            "target_s": 2.0,
            "n_iter": km.n_iter_,
            "floor_fill_s": pass_flops(n, d) / TFLOPS,
            "floor_read_gram_s": 4.0 * n * n / HBM_BYTES_PER_S,
        },
        out,
    )

    n, d, k = 1_000_000, 64, 100
    X = blobs(n, d, k, np.float32)
    mod = _backend.family_module("kernel_kmeans", "cuda")
    P = mod.Problem(X, mod.KernelParams(mod.Kernel.rbf, 1.0 / d, 3.0, 1.0), False)
    labels = np.random.default_rng(0).integers(0, k, size=n).astype(np.int32)
    P.reset_sums(k)
    t0 = time.perf_counter()
    P.accumulate(np.arange(n), np.full(n, -1, np.int32), labels, np.ones(n))
    P.own_sums(labels)  # waits for the pass
    record(
        "rbf_1000000_d64_k100_one_full_pass",
        {"seconds": time.perf_counter() - t0, "floor_s": pass_flops(n, d) / TFLOPS},
        out,
    )
    del P
    km, t = fit(X, k, "cuda", max_iter=10, tol=0.0, gram="blocked")
    record(
        "rbf_1000000_d64_k100_10iter", {"seconds": t, "target_s": 60.0, "n_iter": km.n_iter_}, out
    )


if __name__ == "__main__":
    main(sys.argv[1])
