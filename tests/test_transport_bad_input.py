"""Bad input to sinkhorn / equipartition / SinkhornKMeans: a clear ValueError, and an estimator
that stays unfitted."""

import numpy as np
import pytest

from partita import SinkhornKMeans
from partita.transport import equipartition, sinkhorn

from conftest import assert_unfitted

C = np.random.default_rng(0).uniform(0, 1, (6, 4))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(C=-C), "non-negative"),
        (dict(C=np.where(C > 0.5, np.nan, C)), "NaN or infinity"),
        (dict(C=np.where(C > 0.5, np.inf, C)), "NaN or infinity"),
        (dict(C=np.ones(5)), "shape"),
        (dict(C=np.ones((2, 2, 2, 2))), "shape"),
        (dict(C=np.ones((0, 3))), "empty"),
        (dict(C=np.array([["a", "b"]])), "numeric"),
        (dict(reg=0.0), "reg must be positive"),
        (dict(reg=-1.0), "reg must be positive"),
        (dict(reg=np.inf), "reg must be positive"),
        (dict(reg="x"), "reg must be a real number"),
        (dict(a=np.full(6, -1 / 6)), "non-negative"),
        (dict(a=np.full(5, 1 / 5)), "a.shape"),
        (dict(b=np.full(4, 0.3)), "sum\\(a\\) == sum\\(b\\)"),
        (dict(b=np.zeros(4)), "positive sum"),
        (dict(a=np.full(6, np.nan)), "NaN or infinity"),
        (dict(mass=0.0), "mass must be in"),
        (dict(mass=1.5), "mass must be in"),
        (dict(reg_m=-1.0), "reg_m must be positive"),
        (dict(reg_m=(1.0, 2.0, 3.0)), "pair"),
        (dict(mass=0.5, reg_m=1.0), "hard sample"),
        (dict(max_iter=0), "max_iter"),
        (dict(tol=-1.0), "tol"),
        (dict(f0=np.zeros(5)), "f0.shape"),
        (dict(g0=np.full(4, np.inf)), "g0 contains"),
        (dict(return_plan="yes"), "return_plan"),
        (dict(method="sinkhorn"), "method must be one of"),
        (dict(method=None), "method must be one of"),
    ],
)
def test_sinkhorn_bad_input(kwargs, match):
    args = dict(C=C, reg=0.1)
    args.update(kwargs)
    Cx = args.pop("C")
    with pytest.raises(ValueError, match=match):
        sinkhorn(Cx, **args)


def test_batch_shapes_checked():
    Cb = np.ones((3, 6, 4))
    with pytest.raises(ValueError, match="a.shape"):
        sinkhorn(Cb, np.ones((2, 6)) / 6, reg=0.1)
    r = sinkhorn(Cb, np.ones(6) / 6, reg=0.1)  # a shared marginal broadcasts over the batch
    assert r.plan.shape == (3, 6, 4)


def test_equipartition_bad_input():
    with pytest.raises(ValueError):
        equipartition(np.ones(3))
    with pytest.raises(ValueError):
        equipartition(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError):
        equipartition(np.ones((3, 2)), reg=0)
    with pytest.raises(ValueError):
        equipartition(np.ones((3, 2)), n_iter=0)


X = np.random.default_rng(1).normal(size=(30, 2))


@pytest.mark.parametrize(
    "params, Xb, match",
    [
        (dict(n_clusters=31), X, "n_clusters"),
        (dict(reg=0), X, "reg"),
        (dict(mass=0), X, "mass"),
        (dict(mass=1.2), X, "mass"),
        (dict(reg_m=-1), X, "reg_m"),
        (dict(cluster_weights=[1, 2]), X, "cluster_weights"),
        (dict(cluster_weights=[1, -1, 1]), X, "cluster_weights"),
        (dict(init="bad"), X, "init"),
        (dict(init=np.zeros((2, 2))), X, "init"),
        (dict(n_init=0), X, "n_init"),
        (dict(max_iter=0), X, "max_iter"),
        (dict(sinkhorn_max_iter=0), X, "sinkhorn_max_iter"),
        (dict(tol=np.inf), X, "tol"),
        (dict(sinkhorn_tol=-1), X, "sinkhorn_tol"),
        (dict(reg="x"), X, "reg"),
        (dict(reg_m="x"), X, "reg_m"),
        (dict(n_jobs=1.5), X, "n_jobs"),
        (dict(random_state="x"), X, "random_state"),
        (dict(device="cuda"), X, "cuda"),
        (dict(device="tpu"), X, "device"),
        (dict(), np.where(X > 1, np.nan, X), "NaN"),
        (dict(), np.ones((0, 2)), "0 sample"),
    ],
)
def test_estimator_bad_input_leaves_unfitted(params, Xb, match):
    km = SinkhornKMeans(**{"n_clusters": 3, "random_state": 0, **params})
    with pytest.raises(ValueError, match=match):
        km.fit(Xb)
    assert_unfitted(km)


def test_refit_failure_clears_previous_fit():
    km = SinkhornKMeans(3, random_state=0).fit(X)
    km.set_params(reg=-1)
    with pytest.raises(ValueError):
        km.fit(X)
    assert_unfitted(km)


def test_bad_sample_weight():
    with pytest.raises(ValueError, match="sample_weight"):
        SinkhornKMeans(3).fit(X, sample_weight=-np.ones(30))


def test_stored_kernel_that_does_not_fit(monkeypatch):
    # The stabilised method needs a C-sized kernel array: an explicit request that cannot fit is
    # a MemoryError naming the alternative; "auto" falls back to the log domain (same result).
    import partita._validation as validation

    ref = sinkhorn(C, reg=0.1, return_plan=False, method="sinkhorn_log")
    monkeypatch.setattr(validation, "available_memory", lambda: C.nbytes - 1)
    with pytest.raises(MemoryError, match="sinkhorn_log"):
        sinkhorn(C, reg=0.1, return_plan=False, method="sinkhorn_stabilized")
    auto = sinkhorn(C, reg=0.1, return_plan=False)
    np.testing.assert_array_equal(auto.f, ref.f)
    np.testing.assert_array_equal(auto.g, ref.g)


def test_sinkhorn_below_precision_reports_the_plan_violation():
    C = np.random.default_rng(0).random((3, 3))
    for return_plan in (True, False):
        with pytest.warns(UserWarning, match="below the precision"):
            r = sinkhorn(C, reg=1e-20, return_plan=return_plan)
        assert not r.converged and r.err > 1e-3
    with pytest.warns(UserWarning, match="below the precision"):
        r = sinkhorn(C, reg=1e-20, reg_m=1.0)
    assert not r.converged


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"a": np.full(3, 1e-320), "b": np.full(4, 0.75e-320)}, r"sum\(a\) must be within"),
        ({"a": np.full(3, 1e308), "b": np.full(4, 0.75e308)}, r"sum\(a\) must be within"),
        ({"reg": 5e-324}, r"1 / reg and"),
        ({"f0": np.full(3, 1e308)}, r"warm starts"),
    ],
)
def test_sinkhorn_refuses_magnitudes_out_of_range(kwargs, match):
    C = np.random.default_rng(1).random((3, 4))
    kwargs = {"reg": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        sinkhorn(C, **kwargs)


def test_sinkhorn_kmeans_refuses_a_reg_whose_exponents_overflow():
    X = np.random.default_rng(0).random((30, 2))
    km = SinkhornKMeans(3, reg=1e-320, random_state=0)
    with pytest.raises(ValueError, match="must be at least 1e-290"):
        km.fit(X)
    assert_unfitted(km)


@pytest.mark.parametrize(
    "weight", [np.ones(30) + 1j, np.array(["1"] * 30)], ids=["complex", "strings"]
)
def test_sinkhorn_kmeans_non_real_sample_weight_is_refused(weight):
    X = np.random.RandomState(0).rand(30, 2)
    km = SinkhornKMeans(3)
    with pytest.raises(ValueError, match="sample_weight must be"):
        km.fit(X, sample_weight=weight)
    assert_unfitted(km)


def test_sinkhorn_points_refuses_complex_points():
    from partita.transport import sinkhorn_points

    X = np.random.RandomState(0).rand(8, 2)
    with pytest.raises(ValueError, match="X must be real"):
        sinkhorn_points(X + 1j, X, reg=0.1)
    with pytest.raises(ValueError, match="Y must be real"):
        sinkhorn_points(X, X + 1j, reg=0.1)
    with pytest.raises(ValueError, match="X must be a numeric array"):
        sinkhorn_points(X.astype(str), X, reg=0.1)


def test_equipartition_refuses_complex_scores():
    S = np.random.RandomState(0).rand(10, 3)
    with pytest.raises(ValueError, match="scores must be real"):
        equipartition(S + 1j)
