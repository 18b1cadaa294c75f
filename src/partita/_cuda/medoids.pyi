"""partita._cuda.medoids: k-medoids kernels on the GPU."""

import numpy as np
import numpy.typing as npt

from . import ArrayRef

class Assignment:
    """Nearest and second-nearest medoid slot of every point, with distances (the matrix's
    dtype). Without a second medoid (k = 1): seco_i = -1, seco_d = 0."""
    @property
    def near_i(self) -> npt.NDArray[np.int32]: ...
    @property
    def seco_i(self) -> npt.NDArray[np.int32]: ...
    @property
    def near_d(self) -> npt.NDArray[np.floating]: ...
    @property
    def seco_d(self) -> npt.NDArray[np.floating]: ...

def assign(
    D: npt.NDArray[np.floating] | ArrayRef, medoids: npt.NDArray[np.int64]
) -> Assignment: ...
