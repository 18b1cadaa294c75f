"""GPU timings of batched Sinkhorn (run by benchmarks/gpu.sh on the GPU machine) at the target
sizes, each GPU result checked against the CPU solver on a slice before it is timed.

Usage: PYTHONPATH=src python3 benchmarks/gpu/bench_transport.py OUT.json

- stored cost 1,000,000 x 1,000 float32 (PyTorch, read in place): the time of one iteration, as
  the difference between 11 and 1 iterations over 10, against the HBM floor of one read of C;
- SwAV's shape: equipartition of 64 score matrices 4096 x 3000 float32, 3 iterations (the plan
  returned on the GPU), and the CPU on the same input;
- point clouds 1,000,000 x 1,000,000, d = 3, reg 0.05, 10 iterations (the cost never stored).

The JSON is also printed on one line after "bench_transport:" (gpu.sh keeps it in gpu.log).
"""

import json
import sys
import time
import warnings

import numpy as np
import torch

from partita.transport import equipartition, sinkhorn, sinkhorn_points

HBM_BYTES_PER_S = 4.8e12  # H200 HBM3e


def timed(fn, repeat=3):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return min(times)


def max_diff(x, y):
    return float(np.max(np.abs(np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64))))


def check_against_cpu(C_host, **kw):
    """GPU and CPU potentials on the same (small) host problem."""
    gpu = sinkhorn(C_host, device="cuda", return_plan=False, **kw)
    cpu = sinkhorn(C_host, return_plan=False, method="sinkhorn_log", **kw)
    return {"f_max_diff": max_diff(gpu.f, cpu.f), "g_max_diff": max_diff(gpu.g, cpu.g)}


def bench_stored(n=1_000_000, m=1_000):
    gen = torch.Generator(device="cuda").manual_seed(0)
    C = torch.rand((n, m), device="cuda", generator=gen, dtype=torch.float32)
    check = check_against_cpu(C[:4096].cpu().numpy(), reg=0.05, max_iter=5, tol=0.0)

    def run(iters):
        return lambda: sinkhorn(
            C, reg=0.05, max_iter=iters, tol=0.0, return_plan=False, device="cuda"
        )

    t1, t11 = timed(run(1)), timed(run(11))
    per_iter = (t11 - t1) / 10
    floor = C.numel() * 4 / HBM_BYTES_PER_S
    C_host = C.cpu().numpy()
    t0 = time.perf_counter()
    sinkhorn(C_host, reg=0.05, max_iter=2, tol=0.0, return_plan=False, method="sinkhorn_log")
    cpu_per_iter = (time.perf_counter() - t0) / 2
    return {
        "case": "stored 1e6 x 1e3 float32, one iteration",
        "gpu_s_per_iteration": per_iter,
        "gpu_s_1_iteration_call": t1,
        "floor_s": floor,
        "fraction_of_floor": floor / per_iter,
        "cpu_s_per_iteration_upper_bound": cpu_per_iter,
        "check": check,
    }


def bench_swav(B=64, N=4096, K=3000):
    gen = torch.Generator(device="cuda").manual_seed(1)
    S = torch.randn((B, N, K), device="cuda", generator=gen, dtype=torch.float32)
    S = S / S.norm(dim=2, keepdim=True)  # cosine similarities
    S_host = S.cpu().numpy()
    Q0 = equipartition(S[:1], device="cuda").cpu().numpy()
    check = {"Q_max_diff": max_diff(Q0, equipartition(S_host[:1]))}
    t_gpu = timed(lambda: equipartition(S, device="cuda"))
    C = (S.amax(dim=(1, 2), keepdim=True) - S).contiguous()
    t_sinkhorn = timed(lambda: sinkhorn(C, reg=0.05, max_iter=3, tol=0.0, device="cuda"))
    t0 = time.perf_counter()
    equipartition(S_host)
    t_cpu = time.perf_counter() - t0
    nbytes = C.numel() * 4
    return {
        "case": "equipartition 64 x 4096 x 3000 float32, 3 iterations",
        "gpu_s": t_gpu,
        "gpu_s_sinkhorn_only": t_sinkhorn,
        "cpu_s": t_cpu,
        # start pass + 3 sweeps read C, the plan reads C and writes P; the shift reads S, writes C
        "floor_s_sinkhorn": 6 * nbytes / HBM_BYTES_PER_S,
        "floor_s": 8 * nbytes / HBM_BYTES_PER_S,
        "check": check,
    }


def bench_points(n=1_000_000, d=3):
    gen = torch.Generator(device="cuda").manual_seed(2)
    X = torch.rand((n, d), device="cuda", generator=gen, dtype=torch.float32)
    Y = torch.rand((n, d), device="cuda", generator=gen, dtype=torch.float32)
    small = 3000
    Xs, Ys = X[:small].cpu().numpy(), Y[:small].cpu().numpy()
    gpu = sinkhorn_points(Xs, Ys, reg=0.05, max_iter=5, tol=0.0, device="cuda")
    cpu = sinkhorn_points(Xs, Ys, reg=0.05, max_iter=5, tol=0.0)
    check = {"f_max_diff": max_diff(gpu.f, cpu.f), "g_max_diff": max_diff(gpu.g, cpu.g)}
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    sinkhorn_points(X, Y, reg=0.05, max_iter=10, tol=0.0, device="cuda")
    torch.cuda.synchronize()
    t = time.perf_counter() - t0
    pairs = 2 * 10 * n * n  # a row and a column pass per iteration
    return {
        "case": "point clouds 1e6 x 1e6, d=3, float32, 10 iterations",
        "gpu_s": t,
        "pair_evaluations_per_s": pairs / t,
        "check": check,
    }


def main(out):
    warnings.simplefilter("ignore")
    result = {"device": torch.cuda.get_device_name(0), "cases": []}
    for bench in (bench_swav, bench_stored, bench_points):
        try:
            result["cases"].append(bench())
        except Exception as e:  # one failing case leaves the others' results
            result["cases"].append({"case": bench.__name__, "error": repr(e)})
        print(json.dumps(result["cases"][-1]), flush=True)
    json.dump(result, open(out, "w"), indent=1)
    print("bench_transport:", json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
