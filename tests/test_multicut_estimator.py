"""DenseMulticut as a scikit-learn estimator: edge cases of fit, predict, parameters, the
verbose summary. (Bad input: test_multicut_bad_input.py; scikit-learn's estimator checks:
test_sklearn_checks.py.)"""
import numpy as np
import pytest
from oracles.multicut import embeddings
from sklearn.base import clone

from partita import DenseMulticut, _core


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
    mc = DenseMulticut(offset=0.3, metric="cosine", algorithm="gaec", n_neighbors=10,
                       refine=False, n_jobs=2)
    assert clone(mc).get_params() == mc.get_params()


def test_options_are_the_kernel_enumerations():
    # Every accepted metric and algorithm names a member of the compiled enumeration.
    constraints = DenseMulticut._parameter_constraints
    for name, enum in (("metric", _core.multicut.Metric),
                       ("algorithm", _core.multicut.Algorithm)):
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
