"""Checks of dense n x n matrices shared by the families (cpp/include/partita/matrix_checks.hpp)."""

import numpy as np

class MatrixReport:
    """What one pass over a square matrix found."""
    @property
    def n_nonfinite(self) -> int: ...  # NaN or infinite entries (the other fields are then moot)
    @property
    def min(self) -> float: ...
    @property
    def max(self) -> float: ...
    @property
    def max_abs_diagonal(self) -> float: ...
    @property
    def max_asymmetry(self) -> float: ...  # max |m[i, j] - m[j, i]|

def inspect_matrix(matrix: np.ndarray, n_threads: int) -> MatrixReport: ...
def symmetrize_matrix(matrix: np.ndarray, n_threads: int) -> None: ...
