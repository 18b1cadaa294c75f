"""Helpers shared by the test files (import them as ``from conftest import ...``; pytest puts
``tests/`` on ``sys.path``, see ``pythonpath`` in pyproject.toml)."""

import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted


def assert_unfitted(estimator):
    """A failed fit left no fitted attribute behind, and scikit-learn sees the estimator as
    unfitted."""
    leftover = [a for a in vars(estimator) if a.endswith("_") and not a.startswith("__")]
    assert not leftover, f"the failed fit left {leftover}"
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)


class DLPackOnly:
    """An array that offers only the DLPack protocol (as a tensor of another library does):
    no ``__array__``, no NumPy dtype, wrapping a NumPy array on the CPU."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def run_with_array_api_dispatch(code):
    """Run `code` in a fresh interpreter with scikit-learn's array-API dispatch on (which needs
    SCIPY_ARRAY_API=1 before scipy is first imported); fails the test on any error."""
    import os
    import subprocess
    import sys
    import textwrap

    prologue = (
        "import warnings, numpy as np, sklearn\n"
        "warnings.simplefilter('error')\n"
        "sklearn.set_config(array_api_dispatch=True)\n"
    )
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(__file__)] + sys.path)
    done = subprocess.run(
        [sys.executable, "-c", prologue + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
