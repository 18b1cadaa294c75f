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
