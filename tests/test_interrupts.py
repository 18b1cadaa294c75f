"""Ctrl-C stops every long k-medoids phase promptly: a child process starts a fit that runs for
seconds, gets SIGINT 0.5 s into it, and must exit with KeyboardInterrupt within a second."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

CHILD = """
import json, sys
import numpy as np
from partita import KMedoids
cfg = json.loads(sys.argv[1])
X = np.random.RandomState(0).rand(cfg.pop("n"), cfg.pop("d")).astype(cfg.pop("dtype"))
model = KMedoids(random_state=0, **cfg)
print("ready", flush=True)
model.fit(X)
print("finished", flush=True)
"""

# Each runs for a few seconds uninterrupted on 2 cores (before these phases polled for Ctrl-C
# they ran to their end after SIGINT).
PHASES = {
    "distance matrix": dict(
        n=5000, d=2000, dtype="float32", n_clusters=3, distances="matrix", init="random", max_iter=0
    ),
    "k-medoids++ on the fly": dict(
        n=20000,
        d=64,
        dtype="float64",
        n_clusters=800,
        init="k-medoids++",
        distances="on-the-fly",
        max_iter=0,
    ),
    "initial assignment, large k": dict(
        n=40000,
        d=256,
        dtype="float64",
        n_clusters=4000,
        init="random",
        distances="on-the-fly",
        max_iter=0,
    ),
    "alternate on the fly": dict(
        n=20000,
        d=32,
        dtype="float64",
        n_clusters=3,
        method="alternate",
        init="random",
        distances="on-the-fly",
        max_iter=2,
    ),
    "pam": dict(
        n=6000,
        d=16,
        dtype="float64",
        n_clusters=30,
        method="pam",
        init="random",
        distances="on-the-fly",
        max_iter=4,
    ),
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
