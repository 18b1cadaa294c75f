"""Ctrl-C stops every long phase of every family promptly: a child process starts a fit (or a
solver call) that runs for seconds, gets SIGINT 0.5 s into it, and must exit with
KeyboardInterrupt within a second."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

# The child builds its input from a seed and calls one public entry point: an estimator's fit
# ("estimator") or a function of partita.transport applied to a cost or score matrix ("function").
CHILD = """
import json, sys, warnings
import numpy as np
import partita
import partita.transport
warnings.simplefilter("ignore")  # convergence warnings of the deliberately short runs
cfg = json.loads(sys.argv[1])
X = np.random.RandomState(0).rand(cfg["n"], cfg["d"]).astype(cfg.get("dtype", "float64"))
if cfg["kind"] == "estimator":
    call = lambda: getattr(partita, cfg["name"])(**cfg["params"]).fit(X)
else:
    call = lambda: getattr(partita.transport, cfg["name"])(X, **cfg["params"])
print("ready", flush=True)
call()
print("finished", flush=True)
"""


def estimator(name, n, d, dtype="float64", **params):
    return dict(kind="estimator", name=name, n=n, d=d, dtype=dtype, params=params)


def function(name, n, d, **params):
    return dict(kind="function", name=name, n=n, d=d, params=params)


# Each runs for several seconds uninterrupted on 2 cores (before these phases polled for Ctrl-C
# they ran to their end after SIGINT).
PHASES = {
    # k-medoids
    "distance matrix": estimator(
        "KMedoids",
        5000,
        2000,
        "float32",
        n_clusters=3,
        distances="matrix",
        init="random",
        max_iter=0,
        random_state=0,
    ),
    "k-medoids++ on the fly": estimator(
        "KMedoids",
        20000,
        64,
        n_clusters=800,
        init="k-medoids++",
        distances="on-the-fly",
        max_iter=0,
        random_state=0,
    ),
    "initial assignment, large k": estimator(
        "KMedoids",
        40000,
        256,
        n_clusters=4000,
        init="random",
        distances="on-the-fly",
        max_iter=0,
        random_state=0,
    ),
    "alternate on the fly": estimator(
        "KMedoids",
        20000,
        32,
        n_clusters=3,
        method="alternate",
        init="random",
        distances="on-the-fly",
        max_iter=2,
        random_state=0,
    ),
    "pam": estimator(
        "KMedoids",
        6000,
        16,
        n_clusters=30,
        method="pam",
        init="random",
        distances="on-the-fly",
        max_iter=4,
        random_state=0,
    ),
    # optimal transport
    "sinkhorn": function(
        "sinkhorn", 4000, 4000, reg=1e-3, max_iter=300, tol=0.0, return_plan=False
    ),
    "equipartition": function("equipartition", 200000, 200, n_iter=20),
    "SinkhornKMeans": estimator(
        "SinkhornKMeans", 100000, 32, n_clusters=50, max_iter=5, tol=0.0, random_state=0
    ),
    # kernel k-means
    "stored Gram": estimator(
        "KernelKMeans", 12000, 64, n_clusters=20, gram="stored", max_iter=1, random_state=0
    ),
    "blocked Gram iterations": estimator(
        "KernelKMeans", 20000, 64, n_clusters=20, gram="blocked", max_iter=3, random_state=0
    ),
    "kernel k-means++ seeding": estimator(
        "KernelKMeans",
        20000,
        64,
        n_clusters=2000,
        kernel="laplacian",
        gram="blocked",
        max_iter=1,
        random_state=0,
    ),
    # dense multicut
    "multicut lazy rounds": estimator("DenseMulticut", 20000, 32, refine=False),
    "multicut GAEC": estimator("DenseMulticut", 30000, 32, algorithm="gaec", refine=False),
    "multicut local moves": estimator("DenseMulticut", 20000, 32, refine=True),
}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
@pytest.mark.parametrize("phase", list(PHASES))
def test_ctrl_c_stops_the_phase_within_a_second(phase):
    # The child imports the partita this test runs on (installed, or src/ of a developer build).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(PHASES[phase])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:  # closes the pipes however the test ends
        try:
            ready = child.stdout.readline().strip()
            if ready != "ready":
                child.kill()
                pytest.fail(f"the child did not start: {child.communicate()[1][-2000:]}")
            time.sleep(0.5)
            assert child.poll() is None, "the fit ended before SIGINT: make the problem bigger"
            child.send_signal(signal.SIGINT)
            sent = time.perf_counter()
            out, err = child.communicate(timeout=60)
            elapsed = time.perf_counter() - sent
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
    assert "finished" not in out, "the fit ended before SIGINT: make the problem bigger"
    assert "KeyboardInterrupt" in err, err
    assert child.returncode != 0
    assert elapsed < 1.0, f"{phase}: KeyboardInterrupt came {elapsed:.2f} s after SIGINT"
