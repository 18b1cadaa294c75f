"""The dense multicut kernels against the NumPy oracles (tests/oracles/multicut.py):
exhaustive search for n <= 10, GAEC on the explicit complete graph, the objective, the exact
kNN search; the invariants of docs/algorithms.md, "Multicut validation"; determinism and
thread independence."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from partita import DenseMulticut, _core
from partita.multicut import multicut_objective

from oracles import multicut as oracle
from oracles.multicut import embeddings

ALGORITHMS = ["gaec", "lazy"]


def integer_features(n, d, seed, low=-2, high=3):
    """Small integer features: every cost and every sum of costs is exact in float64, so the
    dense solver and the explicit-graph oracle see exactly the same numbers (and ties)."""
    return np.random.RandomState(seed).randint(low, high, size=(n, d)).astype(np.float64)


# ---- the tiny check and exhaustive search --------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("refine", [False, True])
def test_tiny_check(algorithm, refine):
    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    mc = DenseMulticut(offset=0.5, algorithm=algorithm, refine=refine).fit(X)
    assert mc.objective_ == -2.0
    assert mc.labels_.tolist() == [0, 0, 1, 1]
    assert mc.n_clusters_ == 2 and mc.n_merges_ == 2
    assert oracle.exhaustive(X, 0.5)[0] == -2.0


@pytest.mark.parametrize("seed", range(12))
def test_exhaustive_bounds_the_objective(seed):
    rng = np.random.RandomState(seed)
    n = rng.randint(1, 9)
    X = integer_features(n, 3, seed)
    offset = float(rng.choice([0.0, 0.5, 1.0, 2.0]))
    best, _ = oracle.exhaustive(X, offset)
    for algorithm in ALGORITHMS:
        for refine in (False, True):
            mc = DenseMulticut(offset=offset, algorithm=algorithm, refine=refine).fit(X)
            assert mc.objective_ >= best - 1e-9
            assert mc.objective_ == pytest.approx(oracle.objective(X, mc.labels_, offset), abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_gaec_refine_reaches_the_optimum_on_tiny_cases(seed):
    # The tiny check (docs/algorithms.md, "Multicut validation"), grown to three groups and
    # 9-10 nodes, permuted and scaled.
    rng = np.random.RandomState(seed)
    base = np.repeat(np.eye(3), [3, 3, 4 - seed % 2], axis=0)
    X = base[rng.permutation(base.shape[0])] * 2.0 ** (seed - 1)
    offset = 0.5 * 4.0 ** (seed - 1)
    best, _ = oracle.exhaustive(X, offset)
    mc = DenseMulticut(offset=offset, algorithm="gaec", refine=True).fit(X)
    assert mc.objective_ == best
    assert mc.n_clusters_ == 3


def test_oracle_exhaustive_counts_partitions():
    # Bell numbers: every partition exactly once.
    assert [sum(1 for _ in oracle.set_partitions(n)) for n in range(1, 8)] == [
        1,
        2,
        5,
        15,
        52,
        203,
        877,
    ]


# ---- exact-order GAEC against the explicit complete graph ----------------------------------


@pytest.mark.parametrize(
    "n, d, offset, seed",
    [
        (2, 2, 0.5, 0),
        (7, 2, 1.0, 1),
        (50, 3, 1.0, 2),
        (200, 4, 2.0, 3),
        (400, 5, 3.0, 4),
        (1000, 5, 3.0, 5),
        (300, 2, 0.0, 6),
        (300, 3, 0.5, 7),
    ],
)
def test_gaec_matches_explicit_graph_gaec(n, d, offset, seed):
    # Integer features: many exact ties, all resolved by the documented (lo, hi) rule.
    X = integer_features(n, d, seed)
    labels, merges = oracle.gaec(X, offset)
    mc = DenseMulticut(offset=offset, algorithm="gaec", refine=False).fit(X)
    np.testing.assert_array_equal(mc.labels_, labels)
    assert mc.n_merges_ == merges
    assert mc.objective_ == oracle.objective(X, labels, offset)


def test_gaec_matches_explicit_graph_gaec_n2000():
    X = integer_features(2000, 4, 11, low=-3, high=4)
    labels, merges = oracle.gaec(X, 4.0)
    mc = DenseMulticut(offset=4.0, algorithm="gaec", refine=False).fit(X)
    np.testing.assert_array_equal(mc.labels_, labels)
    assert mc.n_merges_ == merges


@pytest.mark.parametrize("metric", ["dot", "cosine"])
def test_gaec_matches_explicit_graph_on_real_valued_features(metric):
    X, _ = embeddings(400, d=8, n_centres=6, spread=2.0, seed=1)
    X = X * np.random.RandomState(0).uniform(0.5, 2.0, size=(400, 1))
    labels, merges = oracle.gaec(X, 0.3, metric)
    mc = DenseMulticut(offset=0.3, metric=metric, algorithm="gaec", refine=False).fit(X)
    np.testing.assert_array_equal(mc.labels_, labels)
    assert mc.objective_ == pytest.approx(oracle.objective(X, labels, 0.3, metric), rel=1e-10)


# ---- the objective ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["dot", "cosine"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_objective_matches_oracle(metric, dtype):
    rng = np.random.RandomState(0)
    X = rng.randn(120, 6).astype(dtype)
    labels = rng.randint(-1, 7, size=120) * 3  # any integers; -3 is a cluster like any other
    value = multicut_objective(X, labels, offset=0.2, metric=metric)
    assert value == pytest.approx(
        oracle.objective(X.astype(np.float64), labels, 0.2, metric), rel=1e-10, abs=1e-9
    )


def test_objective_of_one_cluster_is_zero_and_of_singletons_is_the_sum_of_costs():
    X = np.random.RandomState(1).randn(50, 4)
    assert multicut_objective(X, np.zeros(50, int), offset=0.7) == 0.0
    C = X @ X.T - 0.7
    assert multicut_objective(X, np.arange(50), offset=0.7) == pytest.approx(
        np.triu(C, 1).sum(), rel=1e-12
    )


def test_objective_attribute_is_multicut_objective():
    X, _ = embeddings(300, seed=2)
    for algorithm in ALGORITHMS:
        mc = DenseMulticut(offset=0.3, algorithm=algorithm).fit(X)
        assert mc.objective_ == multicut_objective(X, mc.labels_, offset=0.3)


# ---- the kNN search ----------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 1e20])  # float32 scores with exact rescoring / float64
def test_knn_positive_is_exact(scale):
    rng = np.random.RandomState(0)
    n, k = 700, 7
    X = rng.randn(n, 9) * scale
    sizes = rng.randint(1, 4, size=n).astype(np.float64)
    offset = 1.5 * scale**2
    knn = _core.multicut.knn_positive(X, sizes, offset, k, _core.multicut.Metric.dot, 2)
    idx, val = knn.indices, knn.costs
    C = X @ X.T - offset * np.outer(sizes, sizes)
    np.fill_diagonal(C, -np.inf)
    for i in range(n):
        order = np.lexsort((np.arange(n), -C[i]))[:k]
        want = order[C[i, order] > 0]
        got = idx[i][idx[i] >= 0]
        np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(val[i][: got.size], C[i, want], rtol=1e-12)


def test_knn_ties_go_to_the_smaller_index():
    X = np.ones((40, 3))
    knn = _core.multicut.knn_positive(X, np.ones(40), 1.0, 5, _core.multicut.Metric.dot, 2)
    idx, val = knn.indices, knn.costs
    assert idx[0].tolist() == [1, 2, 3, 4, 5]
    assert idx[7].tolist() == [0, 1, 2, 3, 4]
    assert np.all(val == 2.0)


# ---- invariants ----------------------------------------------------------------------------------


def _max_merge_gain(X, labels, offset):
    """The largest cost <F_A, F_B> - offset |A| |B| between two final clusters."""
    c = labels.max() + 1
    F = np.zeros((c, X.shape[1]))
    np.add.at(F, labels, X)
    s = np.bincount(labels, minlength=c).astype(float)
    W = F @ F.T - offset * np.outer(s, s)
    np.fill_diagonal(W, -np.inf)
    return W.max() if c > 1 else -np.inf


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("refine", [False, True])
def test_no_positive_merge_left(algorithm, refine):
    X, _ = embeddings(800, d=12, n_centres=8, spread=2.5, seed=4)
    k = 10 if (algorithm, refine) == ("gaec", False) else 3  # few neighbours: more rounds
    mc = DenseMulticut(offset=0.2, algorithm=algorithm, refine=refine, n_neighbors=k).fit(X)
    assert _max_merge_gain(X, mc.labels_, 0.2) <= 0


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_scaling_keeps_the_partition(algorithm):
    X, _ = embeddings(500, seed=5)
    a = DenseMulticut(offset=0.25, algorithm=algorithm).fit(X)
    b = DenseMulticut(offset=0.25 * 4.0, algorithm=algorithm).fit(X * 2.0)  # exact scaling
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert b.objective_ == 4.0 * a.objective_


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_large_offset_gives_singletons_and_zero_offset_on_positive_data_one_cluster(algorithm):
    X = np.abs(np.random.RandomState(0).randn(60, 4)) + 0.1
    mc = DenseMulticut(offset=1e6, algorithm=algorithm).fit(X)
    assert mc.n_clusters_ == 60 and mc.n_merges_ == 0
    np.testing.assert_array_equal(mc.labels_, np.arange(60))
    mc = DenseMulticut(offset=0.0, algorithm=algorithm).fit(X)
    assert mc.n_clusters_ == 1 and mc.objective_ == 0.0 and mc.n_merges_ == 59


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("seed", range(4))
def test_refine_never_worsens(algorithm, seed):
    X, _ = embeddings(600, d=8, n_centres=10, spread=4.0, seed=seed)
    plain = DenseMulticut(offset=0.15, algorithm=algorithm, refine=False).fit(X)
    refined = DenseMulticut(offset=0.15, algorithm=algorithm, refine=True).fit(X)
    assert refined.objective_ <= plain.objective_ + 1e-9 * abs(plain.objective_)


def test_lazy_close_to_gaec():
    X, _ = embeddings(3000, d=16, n_centres=12, spread=2.0, seed=7)
    g = DenseMulticut(offset=0.25, algorithm="gaec", refine=False).fit(X)
    lz = DenseMulticut(offset=0.25, algorithm="lazy", refine=False).fit(X)
    lr = DenseMulticut(offset=0.25, algorithm="lazy", refine=True).fit(X)
    assert lz.objective_ <= g.objective_ * (1 - 0.005)
    assert lr.objective_ <= lz.objective_


def test_labels_contiguous_in_order_of_first_sample():
    X, _ = embeddings(500, seed=8)
    for algorithm in ALGORITHMS:
        labels = DenseMulticut(offset=0.3, algorithm=algorithm).fit_predict(X)
        np.testing.assert_array_equal(labels, oracle.canonical(labels))
        assert labels.min() == 0


# ---- determinism, threads, dtypes -------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_threads_and_runs_do_not_change_the_result(algorithm):
    X, _ = embeddings(2500, d=16, n_centres=9, spread=2.5, seed=9)
    ref = DenseMulticut(offset=0.2, algorithm=algorithm, n_jobs=1).fit(X)
    for n_jobs in (2, 3, None):
        mc = DenseMulticut(offset=0.2, algorithm=algorithm, n_jobs=n_jobs).fit(X)
        np.testing.assert_array_equal(mc.labels_, ref.labels_)
        assert mc.objective_ == ref.objective_
    with threadpool_limits(1):
        mc = DenseMulticut(offset=0.2, algorithm=algorithm).fit(X)
    np.testing.assert_array_equal(mc.labels_, ref.labels_)


def test_float32_input_is_the_float64_of_its_values():
    X, _ = embeddings(700, seed=10)
    X32 = X.astype(np.float32)
    a = DenseMulticut(offset=0.3).fit(X32)
    b = DenseMulticut(offset=0.3).fit(X32.astype(np.float64))
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.objective_ == b.objective_


def test_cosine_is_dot_on_normalised_rows():
    X, _ = embeddings(400, seed=11)
    scaled = X * np.random.RandomState(0).uniform(0.5, 3.0, size=(400, 1))
    a = DenseMulticut(offset=0.3, metric="cosine").fit(scaled)
    b = DenseMulticut(offset=0.3, metric="dot").fit(X)
    assert a.objective_ == pytest.approx(b.objective_, rel=1e-9)
    assert a.objective_ == pytest.approx(
        multicut_objective(scaled, a.labels_, offset=0.3, metric="cosine"), rel=1e-12
    )


# ---- node weights ----------------------------------------------------------------------------


def test_weighted_objective_equals_the_explicit_graph():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 4))
    w = rng.uniform(0.1, 3.0, size=60)
    w[[3, 17]] = 0.0
    labels = rng.integers(0, 7, size=60)
    for metric in ("dot", "cosine"):
        expect = oracle.objective(X, labels, 0.3, metric, w)
        got = multicut_objective(X, labels, offset=0.3, metric=metric, sample_weight=w)
        assert got == pytest.approx(expect, rel=1e-10, abs=1e-10)


def test_an_integer_weight_counts_as_coincident_copies():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((30, 3))
    w = rng.integers(1, 4, size=30)
    labels = rng.integers(0, 4, size=30)
    copies = np.repeat(np.arange(30), w)
    expect = multicut_objective(X[copies], labels[copies], offset=0.5)
    got = multicut_objective(X, labels, offset=0.5, sample_weight=w)
    assert got == pytest.approx(expect, rel=1e-12)
    # Unit weights are the unweighted objective, bit for bit.
    assert multicut_objective(
        X, labels, offset=0.5, sample_weight=np.ones(30)
    ) == multicut_objective(X, labels, offset=0.5)


@pytest.mark.parametrize("seed", range(4))
def test_weighted_gaec_follows_the_explicit_weighted_graph(seed):
    # Integer features and weights: every weighted cost is exact, ties included.
    X = integer_features(80, 4, seed)
    w = np.random.RandomState(100 + seed).randint(1, 4, size=80).astype(np.float64)
    mc = DenseMulticut(offset=1.0, algorithm="gaec", refine=False).fit(X, sample_weight=w)
    labels, merges = oracle.gaec(X, 1.0, w=w)
    np.testing.assert_array_equal(mc.labels_, labels)
    assert mc.n_merges_ == merges
    assert mc.objective_ == oracle.objective(X, labels, 1.0, w=w)


@pytest.mark.parametrize("seed", range(6))
def test_weighted_refinement_reaches_a_weighted_local_optimum(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((8, 3))
    w = rng.uniform(0.2, 3.0, size=8)
    best, _ = oracle.exhaustive(X, 0.4, w=w)
    for algorithm in ALGORITHMS:
        mc = DenseMulticut(offset=0.4, algorithm=algorithm).fit(X, sample_weight=w)
        value = oracle.objective(X, mc.labels_, 0.4, w=w)
        assert mc.objective_ == pytest.approx(value, rel=1e-10, abs=1e-12)
        assert value >= best - 1e-9
        # No single node can lower the weighted objective by moving (or leaving).
        for i in range(8):
            for target in range(mc.n_clusters_ + 1):
                moved = mc.labels_.copy()
                moved[i] = target
                assert oracle.objective(X, moved, 0.4, w=w) >= value - 1e-9


def test_weight_zero_is_the_same_as_leaving_the_sample_out():
    X, _ = embeddings(200, d=8, seed=3)
    w = np.ones(200)
    w[::7] = 0.0
    keep = w > 0
    full = DenseMulticut(offset=0.4).fit(X, sample_weight=w)
    part = DenseMulticut(offset=0.4).fit(X[keep])
    np.testing.assert_array_equal(oracle.canonical(full.labels_[keep]), part.labels_)
    assert full.objective_ == part.objective_
    # The weight-0 samples are placed as predict places them.
    expect = part.predict(X[~keep])
    got = full.labels_[~keep]
    joined = expect >= 0
    mapping = {p: f for p, f in zip(part.labels_, full.labels_[keep])}
    np.testing.assert_array_equal(got[joined], [mapping[c] for c in expect[joined]])
    assert len(set(got[~joined])) == np.count_nonzero(~joined)
    assert not np.isin(got[~joined], full.labels_[keep]).any()


# ---- converged_ ------------------------------------------------------------------------------


def test_core_solve_reports_rounds_cut_short():
    mc = _core.multicut
    X, _ = embeddings(300, d=8, spread=3.0, seed=0)
    short = mc.solve(X, mc.Params(offset=0.2, max_passes=1, max_rounds=1, n_threads=2))
    assert not short.converged and short.n_moves > 0 and short.n_threads == 2
    assert mc.solve(X, mc.Params(offset=0.2)).converged
    assert mc.solve(X, mc.Params(offset=0.2, refine=False, max_rounds=0)).converged
