"""Every ```python block of README.md runs as written, on its own, against the installed package,
so that the examples a reader copies cannot drift from the code. A block that needs an optional
extra which is not installed (dask, matplotlib, ...) is skipped, naming the missing module."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks():
    """(line of the opening fence, source) for every ```python block of the README."""
    if not README.is_file():
        return []
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in FENCE.finditer(text)]


BLOCKS = python_blocks()


def missing_optional_module(exc):
    """The top-level module whose absence raised exc (or caused it), unless it is partita's own."""
    while exc is not None:
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            top = exc.name.split(".")[0]
            return None if top == "partita" else top
        exc = exc.__cause__ or exc.__context__
    return None


def test_the_readme_has_python_examples():
    if not README.is_file():
        pytest.skip("README.md is not beside tests/ (tests run outside a checkout)")
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize(("line", "source"), BLOCKS, ids=[f"line{line}" for line, _ in BLOCKS])
def test_readme_python_block_runs(line, source):
    code = compile(source, f"README.md, block at line {line}", "exec")
    # Run as a script: a block guarded by `if __name__ == "__main__":` runs its body.
    namespace = {"__name__": "__main__"}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, namespace)
    except ImportError as exc:
        missing = missing_optional_module(exc)
        if missing is None:
            raise
        pytest.skip(f"needs {missing}, which is not installed")
