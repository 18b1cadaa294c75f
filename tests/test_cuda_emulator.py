"""The CPU emulator of CUDA thread blocks (cuda/emulator): its intrinsics, and the planted bugs it
must catch.

Planted bugs (partita._cuda_emulated.selftest, cuda/emulator/selftest.cu) and what finds them:

================================================  =======  =======  ========  ======================
bug                                               forward  reverse  shuffled  how
================================================  =======  =======  ========  ======================
missing barrier in a shared-memory reduction      found    no       found     wrong sum
missing barrier, reads on both sides (max)        found    no       found     wrong maxima
shuffle inside a divergent branch (half exits)    found    found    found     exited lane in mask
shuffles at two calls of an if / else             found    found    found     lane elsewhere in mask
barrier inside a divergent branch                 found    found    found     not reached by all
shared table loaded by the first block only       found    found    found     poison (NaN) read
a barrier in each arm of an if / else             found    found    found     two call sites
shuffle from a lane outside its mask              found    found    found     source not in mask
out-of-range write to a cudaMalloc'd buffer       ASan     ASan     ASan      heap-buffer-overflow
out-of-range write to a PARTITA_SHARED array      ASan     ASan     ASan      heap-buffer-overflow
================================================  =======  =======  ========  ======================

Shared memory (PARTITA_SHARED arrays and dynamic) is filled with 0xff bytes before every block:
NaN for floats, so a read of an element no thread of the block wrote gives garbage, as on a GPU,
not the previous block's or launch's values. Forward order finds a thread that reads what a
higher-numbered thread has yet to write, reverse order the converse. The maximum of both
neighbours read without a barrier is wrong under forward order (the right neighbour is still NaN
and `left > NaN` is false, so NaN is kept) but right under reverse order (a NaN left loses to the
fresh right neighbour, which holds the maximum on data alternating 2, 1, 2, ...); a shuffled
order runs some thread before both neighbours. So, of the 6 in-process bugs that
test_planted_bug_counts_per_schedule counts: forward 6, reverse 4, forward and reverse together
6 (their sums differ), shuffled 6; the two after them every schedule finds, and the ASan build
the out-of-range writes.
Beyond the table, the emulator refuses a launch that a GPU refuses: a grid or block over CUDA's
limits, more than 48 KiB of dynamic shared memory without the kernel attribute that allows it.
"""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cuda_backends import _cuda_emulated

pytestmark = [
    pytest.mark.cuda_emulated,
    pytest.mark.skipif(
        _cuda_emulated is None, reason="partita._cuda_emulated not built (PARTITA_CUDA_EMULATOR=ON)"
    ),
]

SCHEDULES = ["forward", "reverse", "shuffled"]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(params=SCHEDULES)
def emu(request):
    _cuda_emulated.set_schedule(getattr(_cuda_emulated.Schedule, request.param))
    yield _cuda_emulated
    _cuda_emulated.set_schedule(_cuda_emulated.Schedule.forward)


def missing_barrier_found(emu):
    x = np.arange(1000.0)
    return emu.selftest.block_sum(x, with_barrier=False) != x.sum()


def raises_fault(fn):
    try:
        fn()
    except RuntimeError:
        return True
    return False


_launches = iter(range(1, 10**9))


def two_sided_race_found(emu):
    # Data alternating 2, 1, 2, ...: a stale read (NaN) is harmless when it is the left
    # neighbour and the right one is fresh. Different at every call, so that a stale read could
    # not pass for a fresh one even if shared memory kept the previous launch's values.
    x = np.where(np.arange(63) % 2 == 0, 2.0, 1.0) * next(_launches)
    want = np.maximum(np.r_[x[0], x[:-1]], np.r_[x[1:], x[-1]])
    return not all(
        np.array_equal(emu.selftest.neighbour_max(x * (1 + i / 64), False), want * (1 + i / 64))
        for i in range(4)
    )


TABLE_WEIGHTS = np.arange(1.0, 65.0)


def stale_shared_read_found(emu):
    # Every block needs the table; only the first loads it (the others read poison, NaN).
    x = np.random.default_rng(2).random(4 * 64)
    want = x * np.tile(TABLE_WEIGHTS[::-1], 4)
    return not np.array_equal(emu.selftest.table_scale(x, TABLE_WEIGHTS, every_block=False), want)


def planted_bugs_found(emu):
    x = np.arange(64.0)
    return {
        "missing barrier": missing_barrier_found(emu),
        "two-sided race": two_sided_race_found(emu),
        "divergent shuffle": raises_fault(lambda: emu.selftest.warp_sums(x, divergent=True)),
        "split shuffle": raises_fault(lambda: emu.selftest.warp_sums_split(x)),
        "divergent barrier": raises_fault(lambda: emu.selftest.shared_copy(x, divergent=True)),
        "stale shared read": stale_shared_read_found(emu),
    }


def test_planted_bug_counts_per_schedule():
    found = {}
    for s in SCHEDULES:
        _cuda_emulated.set_schedule(getattr(_cuda_emulated.Schedule, s))
        found[s] = planted_bugs_found(_cuda_emulated)
    _cuda_emulated.set_schedule(_cuda_emulated.Schedule.forward)
    assert sum(found["forward"].values()) == 6
    assert sum(found["reverse"].values()) == 4
    assert sum(found["shuffled"].values()) == 6
    assert not found["reverse"]["missing barrier"]
    assert not found["reverse"]["two-sided race"]
    assert all(found[s]["stale shared read"] for s in SCHEDULES)
    # The two schedules together: results differ, so the missing barrier is found.
    x = np.arange(1000.0)
    sums = []
    for s in SCHEDULES:
        _cuda_emulated.set_schedule(getattr(_cuda_emulated.Schedule, s))
        sums.append(_cuda_emulated.selftest.block_sum(x, with_barrier=False))
    _cuda_emulated.set_schedule(_cuda_emulated.Schedule.forward)
    assert sums[0] != sums[1]


def test_correct_kernels_raise_nothing_and_agree(emu):
    x = np.arange(1000.0)
    assert emu.selftest.block_sum(x, with_barrier=True) == x.sum()
    x64 = np.arange(64.0)
    np.testing.assert_array_equal(
        emu.selftest.warp_sums(x64, divergent=False), [x64[:32].sum(), x64[32:].sum()]
    )
    np.testing.assert_array_equal(emu.selftest.shared_copy(x64, divergent=False), x64[::-1])
    x63 = np.random.default_rng(1).random(63)
    np.testing.assert_array_equal(
        emu.selftest.neighbour_max(x63, with_barrier=True),
        np.maximum(np.r_[x63[0], x63[:-1]], np.r_[x63[1:], x63[-1]]),
    )
    assert emu.selftest.fill_indices(100) == 4950
    assert emu.selftest.shared_reverse(x64) == 63.0
    x256 = np.random.default_rng(3).random(4 * 64)
    np.testing.assert_array_equal(
        emu.selftest.table_scale(x256, TABLE_WEIGHTS, every_block=True),
        x256 * np.tile(TABLE_WEIGHTS[::-1], 4),
    )


def test_divergent_shuffle_is_reported_with_kernel_block_and_thread(emu):
    with pytest.raises(
        RuntimeError,
        match=r"kernel 'warp_sums_kernel' block \(0,0,0\) "
        r"thread \(\d+,0,0\): __shfl_down_sync .*divergent",
    ):
        emu.selftest.warp_sums(np.arange(64.0), divergent=True)


def test_shuffles_at_two_different_calls_are_reported(emu):
    with pytest.raises(
        RuntimeError,
        match=r"kernel 'warp_sums_split_kernel' .*__shfl_xor_sync "
        r"\(selftest.cu:\d+\) with mask 0xffffffff names lane "
        r"\d+, which waits at __shfl_xor_sync",
    ):
        emu.selftest.warp_sums_split(np.arange(64.0))


def test_divergent_barrier_is_reported_with_kernel_block_and_thread(emu):
    with pytest.raises(
        RuntimeError,
        match=r"kernel 'shared_copy_kernel' block \(0,0,0\) "
        r"thread \(\d+,0,0\): .*__syncthreads",
    ):
        emu.selftest.shared_copy(np.arange(64.0), divergent=True)


def test_a_barrier_reached_by_all_at_two_call_sites_is_reported(emu):
    # Every thread reaches a __syncthreads, but half the block at each of two: undefined in CUDA.
    with pytest.raises(
        RuntimeError,
        match=r"kernel 'barrier_sites_kernel' .*__syncthreads "
        r"\(selftest.cu:\d+\) while thread \d+ waits at "
        r"__syncthreads \(selftest.cu:\d+\)",
    ):
        emu.selftest.barrier_sites(np.arange(64.0))


def test_a_shuffle_from_a_lane_outside_the_mask_is_reported(emu):
    with pytest.raises(
        RuntimeError,
        match=r"kernel 'shuffle_source_kernel' .*__shfl_sync .*reads "
        r"lane 20, which is not in the mask",
    ):
        emu.selftest.shuffle_source(np.arange(64.0))


def test_intrinsics(emu):
    r = emu.selftest.intrinsics()
    t = np.arange(64)
    lane, warp0 = t % 32, t - t % 32
    np.testing.assert_array_equal(r[:, 0], warp0 + 3)  # __shfl_sync from lane 3
    np.testing.assert_array_equal(r[:, 1], np.where(lane >= 1, t - 1, t))  # __shfl_up_sync
    np.testing.assert_array_equal(r[:, 2], t ^ 1)  # __shfl_xor_sync
    assert (r[:, 3] == 0xAAAAAAAA).all()  # __ballot_sync of odd lanes
    assert (r[:, 4] == 1).all() and (r[:, 5] == 0).all()  # __any_sync, __all_sync
    # __shfl_down_sync over 16-lane segments, mask of the lower half-warp only
    np.testing.assert_array_equal(r[:, 6], np.where(lane < 16, np.where(lane < 12, t + 4, t), -1))
    np.testing.assert_array_equal(r[:, 7], (63 - t) ** 2)  # dynamic shared memory
    assert r[:, 8].sum() == 1  # atomicCAS: one winner
    assert (r[:, 9] == 64 * 1000 + 63).all()  # atomicAdd, atomicMax
    # __shfl_xor_sync over 16-lane segments: the upper half reads the lower, not the converse
    np.testing.assert_array_equal(r[:, 10], np.where(lane < 16, t, t - 16))


def _compile_asan_driver(out_dir):
    cxx = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")
    cuda = REPO / "cuda"
    if cxx is None or not (cuda / "emulator" / "driver.cpp").exists():
        pytest.skip("no C++ compiler or no source tree: the AddressSanitizer driver needs both")
    flags = [
        "-std=c++17",
        "-O1",
        "-g",
        "-fsanitize=address",
        "-fno-omit-frame-pointer",
        "-DPARTITA_CUDA_EMULATOR=1",
        f"-I{cuda / 'include'}",
        f"-I{cuda / 'src'}",
        f"-I{cuda / 'emulator'}",
    ]
    sources = [
        ("-x", "c++", cuda / "src" / "medoids.cu"),
        ("-x", "c++", cuda / "src" / "transport.cu"),
        ("-x", "c++", cuda / "src" / "sinkhorn.cu"),
        ("-x", "c++", cuda / "emulator" / "selftest.cu"),
        (cuda / "emulator" / "emulator.cpp",),
        (cuda / "emulator" / "driver.cpp",),
    ]
    jobs, objects = [], []
    for i, src in enumerate(sources):
        obj = out_dir / f"{i}.o"
        objects.append(str(obj))
        jobs.append(
            subprocess.Popen(
                [cxx, *flags, "-c", *map(str, src), "-o", str(obj)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    for job in jobs:
        log = job.communicate(timeout=600)[0]
        assert job.returncode == 0, log
    exe = out_dir / "asan_driver"
    link = subprocess.run(
        [cxx, "-fsanitize=address", *objects, "-o", str(exe)],
        check=False,
        capture_output=True,
        text=True,
    )
    if link.returncode != 0:
        pytest.skip(f"AddressSanitizer is not available: {link.stderr[-500:]}")
    return exe


@pytest.fixture(scope="module")
def asan_driver(tmp_path_factory):
    return _compile_asan_driver(tmp_path_factory.mktemp("asan"))


def _run_driver(exe, *args):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    return subprocess.run(
        [str(exe), *args], check=False, capture_output=True, text=True, env=env, timeout=300
    )


def test_kernels_run_clean_under_address_sanitizer(asan_driver):
    r = _run_driver(asan_driver)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "kernels: ok" in r.stdout
    assert "ERROR: AddressSanitizer" not in r.stderr


def test_out_of_range_write_is_caught_by_address_sanitizer(asan_driver):
    r = _run_driver(asan_driver, "out_of_range")
    assert r.returncode != 0
    assert "heap-buffer-overflow" in r.stderr
    assert "not caught" not in r.stdout


def test_out_of_range_write_to_a_shared_array_is_caught_by_address_sanitizer(asan_driver):
    # PARTITA_SHARED arrays are exact-size heap memory of the block in the emulator.
    r = _run_driver(asan_driver, "shared_out_of_range")
    assert r.returncode != 0
    assert "heap-buffer-overflow" in r.stderr
    assert "not caught" not in r.stdout


def test_a_bare_shared_declaration_does_not_compile_for_the_emulator(tmp_path):
    cxx = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")
    cuda = REPO / "cuda"
    if cxx is None or not (cuda / "src" / "runtime.cuh").exists():
        pytest.skip("no C++ compiler or no source tree")
    src = tmp_path / "bare.cu"
    src.write_text(
        '#include "runtime.cuh"\n'
        "__global__ void k(float* out) {\n"
        "    __shared__ float buf[32];\n"
        "    buf[threadIdx.x] = 1.0f;\n"
        "    out[threadIdx.x] = buf[31 - threadIdx.x];\n"
        "}\n"
    )
    r = subprocess.run(
        [
            cxx,
            "-std=c++17",
            "-fsyntax-only",
            "-DPARTITA_CUDA_EMULATOR=1",
            f"-I{cuda / 'src'}",
            f"-I{cuda / 'emulator'}",
            "-x",
            "c++",
            str(src),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0
    assert "declare shared arrays with PARTITA_SHARED" in r.stderr


def test_over_48_kib_of_dynamic_shared_memory_needs_the_kernel_attribute():
    # A GPU refuses such a launch unless cudaFuncSetAttribute raised the kernel's limit first.
    with pytest.raises(
        RuntimeError,
        match=r"large_shared_kernel.*65536 bytes of dynamic shared "
        r"memory, over the 49152",
    ):
        _cuda_emulated.selftest.large_shared_sum(set_attribute=False)
    assert _cuda_emulated.selftest.large_shared_sum(set_attribute=True) == 8191 * 8192 // 2


def test_the_shuffled_schedule_is_reproducible_from_its_seed():
    x = np.arange(1000.0)
    sums = []
    for seed in (7, 7, 8):
        _cuda_emulated.set_schedule(_cuda_emulated.Schedule.shuffled, seed)
        sums.append(_cuda_emulated.selftest.block_sum(x, with_barrier=False))
    _cuda_emulated.set_schedule(_cuda_emulated.Schedule.forward)
    assert sums[0] == sums[1] != x.sum()
    assert sums[2] != x.sum()


def test_kernels_from_several_host_threads_run_one_grid_at_a_time():
    # The bindings release the GIL; the emulator serialises the grids.
    from concurrent.futures import ThreadPoolExecutor

    x = np.arange(1000.0)
    with ThreadPoolExecutor(4) as pool:
        sums = list(pool.map(lambda _: _cuda_emulated.selftest.block_sum(x, True), range(16)))
    assert sums == [x.sum()] * 16
