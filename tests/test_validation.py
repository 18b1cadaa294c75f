"""The declared parameter constraints of _validation: what each kind accepts and rejects, and
the error that names the parameter."""

import math

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from partita._validation import Integer, Options, Real, validate_params


class Toy(BaseEstimator):
    _parameter_constraints = {
        "k": [Integer(1)],
        "tol": [Real(0)],
        "gamma": [None, Real(0, inclusive="neither")],
        "reg_m": [Real(0, inclusive="neither", allow_inf=True)],
        "method": [Options("a", "b")],
        "init": [Options("build"), "array-like"],
        "refine": ["boolean"],
        "metric": [Options("euclidean"), "callable"],
    }

    def __init__(
        self,
        k=2,
        tol=0.0,
        gamma=None,
        reg_m=1.0,
        method="a",
        init="build",
        refine=True,
        metric="euclidean",
    ):
        self.k, self.tol, self.gamma, self.reg_m = k, tol, gamma, reg_m
        self.method, self.init, self.refine, self.metric = method, init, refine, metric


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"k": np.int64(3)},
        {"tol": 1},
        {"gamma": 0.5},
        {"reg_m": math.inf},
        {"method": "b"},
        {"init": [0, 1]},
        {"init": np.arange(2)},
        {"refine": np.bool_(False)},
        {"metric": abs},
    ],
)
def test_accepted(params):
    validate_params(Toy(**params))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"k": 0}, "k must be an integer >= 1; got 0"),
        ({"k": 2.0}, "k must be an integer >= 1; got 2.0"),
        ({"k": True}, "k must be an integer >= 1; got True"),
        ({"tol": -1e-9}, "tol must be a finite real number >= 0"),
        ({"tol": math.nan}, "tol must be"),
        ({"tol": math.inf}, "tol must be"),
        ({"gamma": 0.0}, "gamma must be None or a finite real number > 0"),
        ({"reg_m": -math.inf}, "reg_m must be a real number > 0"),
        ({"method": "c"}, "method must be one of 'a', 'b'; got 'c'"),
        ({"init": "lab"}, "init must be one of 'build' or an array"),
        ({"refine": 1}, "refine must be a bool"),
        ({"metric": 3}, "metric must be one of 'euclidean' or a callable"),
    ],
)
def test_rejected_with_the_parameter_named(params, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        validate_params(Toy(**params))
