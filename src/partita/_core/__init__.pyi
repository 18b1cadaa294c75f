"""Type stubs of partita._core, the compiled C++ (OpenMP) kernels: one submodule per family."""

from typing import TypedDict

from . import common as common
from . import kernel_kmeans as kernel_kmeans
from . import medoids as medoids
from . import multicut as multicut
from . import transport as transport

class BuildInfo(TypedDict, total=False):
    version: str
    compiler: str
    openmp: int
    max_threads: int
    num_procs: int
    simd: str
    cpu_avx2: bool
    cpu_avx512f: bool

def build_info() -> BuildInfo:
    """Version, compiler, OpenMP and SIMD facts of this build."""
