"""GPU-vs-CPU timings of partita's CUDA kernels (run by benchmarks/gpu.sh on the GPU machine).

Usage: PYTHONPATH=src python3 benchmarks/gpu/bench_kernels.py OUT.json

Inputs are made on the GPU with PyTorch and read there in place (partita._gpu_arrays); the CPU
kernels get a host copy and all cores. Each time is the best of a few runs after a warm-up, the
GPU's including the wait for the kernel and the download of its (small) results. Every GPU result
is checked against the CPU's before it is timed.
"""

import json
import os
import platform
import sys
import time
import warnings

import numpy as np
import torch

from partita import _backend, _core
from partita._gpu_arrays import as_device_array
from partita.transport import sinkhorn

cuda = _backend._cuda


def best_of(fn, repeat=5):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def cpu_assign(D, med):
    w = np.ones(D.shape[0])
    if hasattr(_core, "medoids"):
        return np.asarray(_core.medoids.assign(D, med, w, 0).labels)
    return np.asarray(_core.kmedoids_assign(D, med, w, 0)[0])


def bench_medoids(n, k, dtype):
    g = torch.Generator(device="cuda").manual_seed(0)
    X = torch.rand((n, 16), device="cuda", generator=g, dtype=torch.float64)
    D_dev = torch.cdist(X, X).to(dtype)
    D_dev.fill_diagonal_(0)
    torch.cuda.synchronize()
    D_host = D_dev.cpu().numpy()
    med = np.random.default_rng(0).permutation(n)[:k].astype(np.int64)
    ref = as_device_array(D_dev).array_ref(cuda)
    gpu = cuda.medoids.assign(ref, med)
    ok = bool(np.array_equal(gpu.near_i, cpu_assign(D_host, med)))
    t_gpu = best_of(lambda: cuda.medoids.assign(ref, med))
    t_gpu_host_input = best_of(lambda: cuda.medoids.assign(D_host, med), repeat=2)
    t_cpu = best_of(lambda: cpu_assign(D_host, med))
    return {
        "kernel": "medoids.assign",
        "n": n,
        "k": k,
        "dtype": str(D_host.dtype),
        "matches_cpu": ok,
        "gpu_s": t_gpu[0],
        "gpu_median_s": t_gpu[1],
        "gpu_with_host_copy_s": t_gpu_host_input[0],
        "cpu_s": t_cpu[0],
        "cpu_median_s": t_cpu[1],
        "speedup": t_cpu[0] / t_gpu[0],
        "bytes_read_per_call": k * n * D_host.itemsize,
    }


def bench_transport(B, n, m, dtype, eps=0.05):
    g = torch.Generator(device="cuda").manual_seed(1)
    C_dev = torch.rand((B, n, m), device="cuda", generator=g, dtype=dtype)
    torch.cuda.synchronize()
    C_host = C_dev.cpu().numpy()
    a = np.full((B, n), 1.0 / n)
    b = np.full((B, m), 1.0 / m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = sinkhorn(C_host, a, b, reg=eps, max_iter=20, tol=0.0)
    ref = as_device_array(C_dev).array_ref(cuda)
    f = cuda.transport.row_sweep(ref, None, np.log(b), r.g, eps)
    tol = 1e-9 if C_host.dtype == np.float64 else 1e-6 * eps
    ok = bool(np.allclose(f, r.f, rtol=tol, atol=tol))

    def cpu_iteration():  # one g sweep and one f sweep, all cores
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sinkhorn(C_host, a, b, reg=eps, max_iter=1, tol=0.0)

    t_gpu = best_of(lambda: cuda.transport.row_sweep(ref, None, np.log(b), r.g, eps))
    t_cpu = best_of(cpu_iteration)
    return {
        "kernel": "transport.row_sweep",
        "B": B,
        "n": n,
        "m": m,
        "dtype": str(C_host.dtype),
        "matches_cpu": ok,
        "gpu_s": t_gpu[0],
        "gpu_median_s": t_gpu[1],
        "cpu_iteration_s": t_cpu[0],
        "cpu_note": "CPU: one Sinkhorn iteration (a column and a row sweep), so about twice "
        "the work of one row sweep",
        "speedup_vs_half_cpu_iteration": (t_cpu[0] / 2) / t_gpu[0],
        "bytes_read_per_call": C_host.nbytes,
        "gpu_bandwidth_GBps": C_host.nbytes / t_gpu[0] / 1e9,
    }


def main(path):
    info = cuda.device_info(0)
    out = {
        "gpu": info["name"],
        "compute_capability": list(info["compute_capability"]),
        "cuda_runtime": cuda.runtime_version(),
        "cpu_threads": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "results": [],
    }
    cases = [
        (bench_medoids, (20000, 400, torch.float32)),
        (bench_medoids, (12000, 300, torch.float64)),
        (bench_transport, (4, 4096, 4096, torch.float32)),
        (bench_transport, (4, 4096, 4096, torch.float64)),
    ]
    for fn, args in cases:
        try:
            res = fn(*args)
        except Exception as e:  # noqa: BLE001 - one failure must not hide the other timings
            res = {"kernel": fn.__name__, "args": [str(a) for a in args], "error": repr(e)}
        print(json.dumps(res), flush=True)
        out["results"].append(res)
        torch.cuda.empty_cache()
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
