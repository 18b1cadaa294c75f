"""The compiled CUDA modules the GPU-kernel tests run on: partita._cuda_emulated (the kernels on
the CPU emulator of thread blocks) under its three thread schedules (shuffled with a fixed seed),
and the real partita._cuda when a GPU is usable. A test takes ``backend`` from
``CUDA_BACKENDS`` and calls ``backend.module()``.
"""

import pytest

import partita
from partita import _backend

try:
    from partita import _cuda_emulated
except ImportError:  # built only with PARTITA_CUDA_EMULATOR=ON
    _cuda_emulated = None


class Backend:
    def __init__(self, kind, schedule=None):
        self.kind, self.schedule = kind, schedule

    @property
    def emulated(self):
        return self.kind == "emulated"

    def module(self):
        if self.emulated:
            _cuda_emulated.set_schedule(getattr(_cuda_emulated.Schedule, self.schedule), seed=1)
            return _cuda_emulated
        return _backend._cuda


_no_emulator = pytest.mark.skipif(
    _cuda_emulated is None, reason="partita._cuda_emulated not built (PARTITA_CUDA_EMULATOR=ON)"
)
_no_gpu = pytest.mark.skipif(not partita.cuda_available(), reason="no usable CUDA GPU")

CUDA_BACKENDS = [
    pytest.param(
        Backend("emulated", "forward"),
        marks=[pytest.mark.cuda_emulated, _no_emulator],
        id="emulated-forward",
    ),
    pytest.param(
        Backend("emulated", "reverse"),
        marks=[pytest.mark.cuda_emulated, _no_emulator],
        id="emulated-reverse",
    ),
    pytest.param(
        Backend("emulated", "shuffled"),
        marks=[pytest.mark.cuda_emulated, _no_emulator],
        id="emulated-shuffled",
    ),
    pytest.param(Backend("cuda"), marks=[pytest.mark.cuda, _no_gpu], id="cuda"),
]

EMULATED_BACKENDS = CUDA_BACKENDS[:3]
