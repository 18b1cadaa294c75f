"""The examples in the docstrings of the installed package run and print what they show
(doctest), so that documentation cannot drift from behaviour."""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import partita

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(partita.__path__, "partita.")
    if not name.split(".")[-1].startswith("_") and name != "partita.__main__"
)


def examples_of(module):
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(module) if t.examples]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in examples_of(module):
        test.globs.setdefault("np", np)
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.parametrize(
    "name", ["KMedoids", "CLARA", "CLARANS", "KernelKMeans", "SinkhornKMeans", "DenseMulticut"]
)
def test_every_estimator_has_an_example(name):
    estimator = getattr(partita, name)
    assert ">>>" in (estimator.__doc__ or ""), f"{name}'s docstring has no example"
