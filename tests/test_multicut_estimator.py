"""DenseMulticut as a scikit-learn estimator: edge cases of fit, predict, parameters, the
verbose summary. (Bad input: test_multicut_bad_input.py; scikit-learn's estimator checks:
test_sklearn_checks.py.)"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from partita import DenseMulticut, _backend, _core, multicut

from oracles.multicut import embeddings
from oracles.multicut import objective as oracle_objective


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).randn(40, 5)


def test_single_sample_and_duplicates():
    mc = DenseMulticut().fit(np.array([[1.0, 2.0]]))
    assert mc.labels_.tolist() == [0] and mc.objective_ == 0.0 and mc.n_merges_ == 0
    X = np.tile([[1.0, 0.0]], (6, 1))
    mc = DenseMulticut(offset=0.5, algorithm="gaec").fit(X)
    assert mc.n_clusters_ == 1 and mc.n_merges_ == 5
    mc = DenseMulticut(offset=1.0).fit(X)  # every cost is exactly 0: nothing to gain
    assert mc.n_clusters_ == 6 and mc.objective_ == 0.0


def test_predict_joins_the_most_attractive_cluster_or_returns_minus_one():
    X, _ = embeddings(600, d=16, n_centres=4, spread=1.0, seed=12)
    mc = DenseMulticut(offset=0.3).fit(X)
    A = mc.affinity(X[:50])
    pred = mc.predict(X[:50])
    np.testing.assert_array_equal(pred, np.where(A.max(1) > 0, A.argmax(1), -1))
    assert np.mean(pred == mc.labels_[:50]) > 0.95
    far = -X[:3].sum(axis=0, keepdims=True)
    far = np.vstack([far, np.zeros((1, 16))])
    assert DenseMulticut(offset=0.3).fit(X).predict(far[1:]).tolist() == [-1]


def test_fit_predict_equals_labels():
    X, _ = embeddings(200, seed=13)
    mc = DenseMulticut(offset=0.3)
    np.testing.assert_array_equal(mc.fit_predict(X), mc.labels_)


def test_clone_and_params():
    mc = DenseMulticut(
        offset=0.3, metric="cosine", algorithm="gaec", n_neighbors=10, refine=False, n_jobs=2
    )
    assert clone(mc).get_params() == mc.get_params()


def test_options_are_the_kernel_enumerations():
    # Every accepted metric and algorithm names a member of the compiled enumeration.
    constraints = DenseMulticut._parameter_constraints
    for name, enum in (("metric", _core.multicut.Metric), ("algorithm", _core.multicut.Algorithm)):
        (options,) = constraints[name]
        assert set(options.options) == set(enum.__members__)


def test_solver_defaults_are_the_estimator_defaults():
    params, defaults = _core.multicut.Params(), DenseMulticut().get_params()
    assert params.offset == defaults["offset"]
    assert params.metric.name == defaults["metric"]
    assert params.algorithm.name == defaults["algorithm"]
    assert params.n_neighbors == defaults["n_neighbors"]
    assert params.refine == defaults["refine"]


def test_verbose_summary_matches_the_fit(X, capsys):
    mc = DenseMulticut(offset=0.3, verbose=1).fit(X)
    first, last = capsys.readouterr().out.strip().splitlines()
    assert first.startswith("[DenseMulticut] lazy + refine: 40 samples x 5 features")
    assert f"{mc.n_clusters_} clusters: {mc.n_merges_} contractions" in last
    assert f"{mc.n_moves_} moves" in last and f"objective {mc.objective_:.6g}" in last
    DenseMulticut(offset=0.3).fit(X)
    assert capsys.readouterr().out == ""


def test_verbose_reports_the_threads_really_used(X, capsys):
    DenseMulticut(offset=0.3, verbose=1, n_jobs=3).fit(X)
    used = min(3, _backend.usable_cpus())  # n_jobs is capped at the usable CPUs
    assert f"{used} threads" in capsys.readouterr().out
    with threadpool_limits(limits=2, user_api="openmp"):
        DenseMulticut(offset=0.3, verbose=1).fit(X)  # n_jobs=None: what OpenMP allows
    out = capsys.readouterr().out
    assert "2 threads" in out and "0 threads" not in out


def test_converged_and_the_warning_when_rounds_run_out(monkeypatch):
    X, _ = embeddings(300, d=8, spread=3.0, seed=0)
    assert DenseMulticut(offset=0.2).fit(X).converged_
    assert DenseMulticut(offset=0.2, refine=False).fit(X).converged_
    monkeypatch.setattr(multicut, "_MAX_ROUNDS", 1)
    monkeypatch.setattr(multicut, "_MAX_PASSES", 1)
    with pytest.warns(ConvergenceWarning, match="after 1 rounds"):
        mc = DenseMulticut(offset=0.2).fit(X)
    assert not mc.converged_


# ---- score, sample_weight, set_output ------------------------------------------------------------


def test_score_is_the_negative_objective_of_the_predicted_partition():
    X, _ = embeddings(300, d=8, seed=4)
    Xn, _ = embeddings(80, d=8, seed=5)
    mc = DenseMulticut(offset=0.4).fit(X)
    np.testing.assert_array_equal(mc.predict(X), mc.labels_)
    assert mc.score(X) == pytest.approx(-mc.objective_, rel=1e-12)
    labels = mc.predict(Xn)
    alone = labels < 0
    labels[alone] = mc.n_clusters_ + np.arange(alone.sum())  # repelled: each on its own
    assert mc.score(Xn) == pytest.approx(-oracle_objective(Xn, labels, 0.4), rel=1e-10)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=80)
    assert mc.score(Xn, sample_weight=w) == pytest.approx(
        -oracle_objective(Xn, labels, 0.4, w=w), rel=1e-10
    )
    # Larger is better: the fitted partition scores higher than one cluster (0) here.
    assert mc.score(X) > 0


def test_score_puts_every_repelled_sample_on_its_own():
    mc = DenseMulticut(offset=0.5).fit(np.array([[1.0, 0.0], [1.0, 0.0]]))
    Xn = np.array([[0.0, 1.0], [0.0, 1.0]])  # repelled by the cluster, attracted by each other
    assert mc.predict(Xn).tolist() == [-1, -1]
    assert mc.score(Xn) == -0.5  # the edge between them is cut


def test_sample_weight_scales_the_fit():
    X, _ = embeddings(200, d=8, seed=6)
    plain = DenseMulticut(offset=0.4).fit(X)
    ones = DenseMulticut(offset=0.4).fit(X, sample_weight=np.ones(200))
    np.testing.assert_array_equal(ones.labels_, plain.labels_)
    assert ones.objective_ == plain.objective_
    np.testing.assert_array_equal(ones.cluster_sums_, plain.cluster_sums_)
    # Scaling every weight by s scales every cost by s^2: the same partition, as with
    # (f, a) -> (s f, s^2 a).
    twice = DenseMulticut(offset=0.4).fit(X, sample_weight=np.full(200, 2.0))
    np.testing.assert_array_equal(twice.labels_, plain.labels_)
    assert twice.objective_ == pytest.approx(4 * plain.objective_, rel=1e-12)
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=200)
    mc = DenseMulticut(offset=0.4).fit(X, sample_weight=w)
    assert mc.objective_ == pytest.approx(oracle_objective(X, mc.labels_, 0.4, w=w), rel=1e-10)
    np.testing.assert_allclose(mc.cluster_weights_, np.bincount(mc.labels_, weights=w))
    np.testing.assert_array_equal(mc.cluster_sizes_, np.bincount(mc.labels_))
    np.testing.assert_array_equal(mc.fit_predict(X, sample_weight=w), mc.labels_)


def test_set_output_is_not_advertised_without_transform():
    # scikit-learn defines set_output only for estimators with a transform; DenseMulticut has
    # none (affinity is its own method).
    assert not hasattr(DenseMulticut(), "transform")
    assert not hasattr(DenseMulticut(), "set_output")


# ---- foreign arrays and a distance matrix given as features --------------------------------------


def test_dlpack_only_input_is_accepted_and_float32_kept():
    from conftest import DLPackOnly

    X = embeddings(120, 8, seed=0)[0].astype(np.float32)
    ref = DenseMulticut(offset=0.3).fit(X)
    est = DenseMulticut(offset=0.3).fit(DLPackOnly(X))
    np.testing.assert_array_equal(est.labels_, ref.labels_)
    np.testing.assert_array_equal(est.predict(DLPackOnly(X)), ref.labels_)
    assert multicut.multicut_objective(DLPackOnly(X), ref.labels_, offset=0.3) == pytest.approx(
        ref.objective_
    )


def test_distance_matrix_given_as_features_warns():
    from sklearn.metrics import pairwise_distances

    D = pairwise_distances(embeddings(30, 4, seed=1)[0])
    with pytest.warns(UserWarning, match="looks like a distance matrix"):
        DenseMulticut(offset=0.5).fit(D)


def test_n_neighbors_beyond_the_samples_is_capped_not_a_memory_error():
    X = np.random.RandomState(3).randn(60, 4)
    capped = DenseMulticut(offset=0.2, n_neighbors=59).fit(X)
    huge = DenseMulticut(offset=0.2, n_neighbors=2**63 - 1).fit(X)
    np.testing.assert_array_equal(huge.labels_, capped.labels_)
    assert huge.objective_ == capped.objective_
