#!/usr/bin/env bash
# One prepared run on a GPU machine (written for one H200, Python 3.12 with PyTorch and CuPy,
# nvcc 13, 16 cores, no network): builds partita with CUDA for sm_90 only (plain CMake, the
# developer build, against the Python packages already there: nothing is downloaded), runs the
# `cuda` tests, compute-sanitizer (memcheck, racecheck, synccheck) on a small test driver, then
# GPU-vs-CPU timings of the kernels. Writes exactly two files, $OUT/gpu.log and $OUT/gpu.json (the
# steps with their exit status and whether it is the expected one, the test counts and failures,
# the timings); the scratch files stay in build/gpu. Every step has its own timeout and the whole
# run a budget of 470 s; a step that fails or times out leaves the others' results. The package
# is not installed (a developer build beside the sources), so the test that reads the installed
# version is left out.
#
#   OUT=/some/dir benchmarks/gpu.sh        (OUT defaults to build/gpu-out)
#   PYTHON, NVCC, SANITIZER, BUDGET_S override the defaults (e.g. for a dry run without a GPU).
#   GPU_STEPS=validate: the build, the `cuda` tests and compute-sanitizer only; GPU_STEPS=bench:
#   the build (kept from an earlier call on a warm machine) and the timings only; default all.
#   The limits of all the steps add up to more than one call's budget: a first window runs
#   "validate", a second "bench".
#
# Results worth keeping are committed under benchmarks/gpu/ (see its README.md).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/build/gpu-out}
mkdir -p "$OUT" build/gpu
LOG=$OUT/gpu.log
WORK=$PWD/build/gpu
STEPS=$WORK/steps.tsv
: >"$LOG"
: >"$STEPS"
rm -f "$WORK"/junit.xml "$WORK"/bench*.json "$WORK"/driver  # nothing from an earlier run
PY=${PYTHON:-python3}
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
SANITIZER=${SANITIZER:-$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)}
BUDGET_S=${BUDGET_S:-470}
T0=$(date +%s)

# step NAME LIMIT_S COMMAND...: runs the command with the smaller of its limit and the time left,
# appends its output to the log and "NAME rc seconds" to steps.tsv.
step() {
    local name=$1 limit=$2
    shift 2
    local left=$((BUDGET_S - ($(date +%s) - T0)))
    if ((left < 10)); then
        echo "=== $name: skipped, the budget is spent ===" | tee -a "$LOG"
        printf '%s\tskipped\t0\n' "$name" >>"$STEPS"
        return
    fi
    ((limit > left)) && limit=$left
    echo "=== $name (limit ${limit}s) ===" | tee -a "$LOG"
    local start=$(date +%s%N)
    timeout --kill-after=5 "$limit" bash -c '"$@"' _ "$@" >>"$LOG" 2>&1
    local rc=$?
    local ms=$((($(date +%s%N) - start) / 1000000))
    local secs=$((ms / 1000)).$(printf %03d $((ms % 1000)))
    echo "=== $name: rc=$rc in ${secs}s ===" | tee -a "$LOG"
    printf '%s\t%s\t%s\n' "$name" "$rc" "$secs" >>"$STEPS"
}

info() {
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
    "$NVCC" --version | tail -2
    "$PY" -c "import sys, numpy, pybind11; print(sys.version); print('numpy', numpy.__version__, 'pybind11', pybind11.__version__)"
    # The build needs Python's headers: say at once when they are missing.
    "$PY" -c "import os, sysconfig; h = os.path.join(sysconfig.get_paths()['include'], 'Python.h'); print(h, 'found' if os.path.exists(h) else 'MISSING')"
    cmake --version | head -1
    ninja --version
    "$PY" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
    "$PY" -c "import cupy; print('cupy', cupy.__version__)" || true
    "$SANITIZER" --version | head -2
    nproc
}

# build ON|OFF: the value of PARTITA_WERROR (warnings, ptxas spills included, as errors).
build() {
    cmake -S . -B build/gpu -G Ninja -DPARTITA_CUDA=ON -DCMAKE_CUDA_COMPILER="$NVCC" \
        -DCMAKE_CUDA_ARCHITECTURES=90 -DPARTITA_WERROR="$1" \
        -DPython_EXECUTABLE="$(command -v "$PY")" -Dpybind11_DIR="$("$PY" -m pybind11 --cmakedir)" &&
        cmake --build build/gpu -j "$(nproc)"
}

# Fails at once when no GPU is usable: the `cuda` tests would all be skipped, and pass.
cuda_tests() {
    PYTHONPATH=src "$PY" -c "import partita, sys; partita.show_config(); sys.exit(not partita.cuda_available())" || return 1
    PYTHONPATH=src "$PY" -m pytest -q -p no:cacheprovider -rs --junitxml="$WORK/junit.xml" \
        tests/test_medoids_cuda.py tests/test_medoids_cuda_search.py tests/test_transport_cuda.py \
        tests/test_kernel_kmeans_cuda.py tests/test_multicut_cuda.py tests/test_gpu_arrays_cuda.py \
        tests/test_backend.py -m "cuda or not cuda_emulated" \
        --deselect tests/test_backend.py::test_version_is_the_installed_distribution_version
}

driver() {
    "$NVCC" -std=c++17 -arch=sm_90 -lineinfo -Icuda/include -Icuda/src -Icuda/emulator \
        cuda/src/medoids.cu cuda/src/transport.cu cuda/src/sinkhorn.cu cuda/src/kernel_kmeans.cu \
        cuda/src/multicut.cu cuda/emulator/selftest.cu cuda/emulator/driver.cpp \
        -o build/gpu/driver
}

# sanitize TOOL [PLANTED_BUG]: exit status 99 when the tool reports an error.
sanitize() {
    "$SANITIZER" --tool "$1" --error-exitcode 99 build/gpu/driver ${2:-}
}

export OUT WORK PY NVCC SANITIZER
export -f info build cuda_tests driver sanitize
step info 30 info
step build_werror 240 build ON
# Another compiler may warn where this project's CI does not: then build anyway, and say so.
if [[ "$(tail -1 "$STEPS" | cut -f2)" != 0 ]]; then
    step build 180 build OFF
fi
GPU_STEPS=${GPU_STEPS:-all}
if [[ $GPU_STEPS != bench ]]; then
    step cuda_tests 150 cuda_tests
    step driver_build 60 driver
    for tool in memcheck racecheck synccheck; do
        step "sanitizer_${tool}_kernels" 40 sanitize "$tool"
    done
    step sanitizer_memcheck_out_of_range 30 sanitize memcheck out_of_range
    step sanitizer_racecheck_missing_barrier 30 sanitize racecheck missing_barrier
    step sanitizer_synccheck_divergent_barrier 30 sanitize synccheck divergent_barrier
    step sanitizer_synccheck_divergent_shuffle 30 sanitize synccheck divergent_shuffle
    # The race that only the emulator's shuffled schedule finds: racecheck must find it too.
    step sanitizer_racecheck_two_sided_race 30 sanitize racecheck two_sided_race
    # The k-medoids search kernels under memcheck and racecheck, through their `cuda` tests (a
    # clean run exits 0: the step names end in _kernels).
    for tool in memcheck racecheck; do
        step "sanitizer_${tool}_medoids_search_kernels" 60 env PYTHONPATH=src "$SANITIZER" \
            --tool "$tool" --error-exitcode 99 "$PY" -m pytest -q -p no:cacheprovider -x -m cuda \
            tests/test_medoids_cuda_search.py -k "stored_matrix or on_the_fly or label or build"
    done
fi
if [[ $GPU_STEPS != validate ]]; then
    step bench 120 env PYTHONPATH=src "$PY" benchmarks/gpu/bench_kernels.py "$WORK/bench.json"
    for family in transport medoids multicut kernel_kmeans; do
        step "bench_$family" 150 env PYTHONPATH=src "$PY" "benchmarks/gpu/bench_$family.py" \
            "$WORK/bench_$family.json"
    done
fi

# One JSON: the steps (a clean kernel run must give 0, a planted bug 99), the test counts and
# failures, and the timings.
"$PY" - "$OUT" "$WORK" <<'PYEOF' >>"$LOG" 2>&1
import json, os, sys, datetime, xml.etree.ElementTree as ET
out, work = sys.argv[1], sys.argv[2]
steps = {}
for line in open(os.path.join(work, "steps.tsv")):
    name, rc, secs = line.rstrip("\n").split("\t")
    rc = rc if rc == "skipped" else int(rc)
    expected = 99 if name.startswith("sanitizer_") and not name.endswith("_kernels") else 0
    steps[name] = {"rc": rc, "expected_rc": expected, "ok": rc == expected,
                   "seconds": float(secs or 0)}
result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
          "steps": steps}
try:
    suite = ET.parse(os.path.join(work, "junit.xml")).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    result["tests"] = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    result["tests"]["not_passed"] = [
        f"{case.get('classname')}::{case.get('name')}" for case in suite.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None]
except Exception as e:
    result["tests"] = {"error": repr(e)}
for bench in ("bench", "bench_transport", "bench_medoids", "bench_multicut", "bench_kernel_kmeans"):
    try:
        result[bench] = json.load(open(os.path.join(work, bench + ".json")))
    except Exception as e:
        result[bench] = {"error": repr(e)}
json.dump(result, open(os.path.join(out, "gpu.json"), "w"), indent=1)
print(json.dumps(result["steps"]))
print(json.dumps(result["tests"]))
PYEOF
echo "total $(($(date +%s) - T0)) s" | tee -a "$LOG"
