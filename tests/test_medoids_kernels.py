"""Exactness of the compiled k-medoids kernels (KMedoids) against the peer and the NumPy oracle.

* the peer `kmedoids` (Rust, 0.5.5), run single-threaded in index order (``n_cpu=1``,
  ``random_state=None``): same medoids, iteration and swap counts, same loss, and its labels
  put through the estimators' tie rule (``by_the_rule``);
* the oracle ``tests/oracles/medoids.py`` (docs/algorithms.md, k-medoids, line by line), which also
  covers what the peer cannot: sample weights, BUILD on duplicates, tiny n, k = n;
* thread-count invariance, float32 matrices, the random initialisations and feature input.

Every matrix passed as ``metric="precomputed"`` is exactly symmetric with a zero diagonal.
"""

import functools
import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, make_blobs
from sklearn.metrics import pairwise_distances

from partita import KMedoids, _core

from oracles import medoids as om

METHODS = ("fasterpam", "fastpam1", "pam", "alternate")


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def peer():
    return pytest.importorskip("kmedoids")


def symmetric(D):
    """Exactly symmetric float64 copy with a zero diagonal: (D + D.T) / 2."""
    D = np.asarray(D, dtype=np.float64)
    D = (D + D.T) / 2
    np.fill_diagonal(D, 0.0)
    return np.ascontiguousarray(D)


def distances(X, metric="euclidean"):
    return symmetric(pairwise_distances(np.asarray(X, dtype=np.float64), metric=metric))


@functools.cache
def dataset(name):
    """Named float64 distance matrices (cached; callers must not modify them)."""
    kind, *args = name.split("-")
    if kind == "gauss":
        seed, n, dim = map(int, args)
        D = distances(np.random.RandomState(seed).randn(n, dim))
    elif kind == "blobs":
        seed, n = map(int, args)
        X, _ = make_blobs(n_samples=n, centers=8, n_features=3, cluster_std=1.5, random_state=seed)
        D = distances(X)
    elif kind == "digits500":
        D = distances(load_digits().data[:500])  # integer pixels: many tied distances
    elif kind == "iris":
        D = distances(load_iris().data)  # contains duplicate points
    else:  # pragma: no cover
        raise ValueError(name)
    D.flags.writeable = False
    return D


def fit(D, k, *, method="fasterpam", init="build", max_iter=100, n_jobs=1, w=None, **kw):
    km = KMedoids(
        n_clusters=k,
        metric="precomputed",
        method=method,
        init=init,
        max_iter=max_iter,
        n_jobs=n_jobs,
        **kw,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*stopped after max_iter.*")
        km.fit(D, sample_weight=w)
    return km


def result_of(km):
    assert km.medoid_indices_.dtype == np.int64 and km.labels_.dtype == np.int64
    assert isinstance(km.inertia_, float)
    return {
        "medoids": km.medoid_indices_,
        "labels": km.labels_,
        "loss": km.inertia_,
        "n_iter": km.n_iter_,
        "n_swaps": km.n_swaps_,
    }


def peer_result(res):
    return {
        "medoids": np.asarray(res.medoids, dtype=np.int64),
        "labels": np.asarray(res.labels, dtype=np.int64),
        "loss": float(res.loss),
        "n_iter": int(res.n_iter),
        "n_swaps": None if res.n_swap is None else int(res.n_swap),
    }


def by_the_rule(ref, D):
    """`ref` (a peer or oracle result) with its labels put through the estimators' tie rule
    (docs/algorithms.md, "Ties"): each point stays at the same distance, ties go to the lowest
    cluster. Medoids, loss and counts are left raw."""
    labels = om.lowest_cluster_labels(D, ref["medoids"])
    rows = np.arange(len(labels))
    np.testing.assert_array_equal(
        D[rows, ref["medoids"][ref["labels"]]], D[rows, ref["medoids"][labels]]
    )
    return {**ref, "labels": labels}


def assert_same(ours, ref, *, exact_loss=False, rtol=1e-12, check_swaps=True):
    np.testing.assert_array_equal(ours["medoids"], ref["medoids"])
    np.testing.assert_array_equal(ours["labels"], ref["labels"])
    assert ours["n_iter"] == ref["n_iter"]
    if check_swaps:
        assert ours["n_swaps"] == ref["n_swaps"]
    if exact_loss:
        assert ours["loss"] == ref["loss"]
    else:
        assert ours["loss"] == pytest.approx(ref["loss"], rel=rtol, abs=1e-300)


def run_peer(peer, D, method, m0, max_iter):
    m0 = np.array(m0, dtype=np.int64)
    if method == "fasterpam":
        return peer_result(peer.fasterpam(D, m0, max_iter=max_iter, n_cpu=1))
    if method == "fastpam1":
        return peer_result(peer.fastpam1(D, m0, max_iter=max_iter))
    if method == "pam":
        return peer_result(peer.pam(D, m0, max_iter=max_iter))
    return peer_result(peer.alternating(D, m0, max_iter=max_iter))


ORACLE = {
    "fasterpam": om.fasterpam,
    "fastpam1": om.fastpam1,
    "pam": om.pam,
    "alternate": om.alternate,
}


def run_oracle(D, method, m0, max_iter, w=None):
    return ORACLE[method](D, np.asarray(m0), max_iter=max_iter, w=w)


def check_partition(res, D, k, w=None):
    """Invariants of every result: k distinct medoids in range, labels = nearest medoid slot
    (the lowest on ties, a coincident medoid's own sample included), loss = weighted TD."""
    n = D.shape[0]
    med, lab = res["medoids"], res["labels"]
    assert med.shape == (k,) and lab.shape == (n,)
    assert len(set(med.tolist())) == k
    assert med.min() >= 0 and med.max() < n
    assert lab.min() >= 0 and lab.max() < k
    np.testing.assert_array_equal(lab, om.lowest_cluster_labels(D, med))
    d_lab = D[np.arange(n), med[lab]]
    np.testing.assert_array_equal(d_lab, D[:, med].min(axis=1))
    ww = np.ones(n) if w is None else w
    assert res["loss"] == pytest.approx(
        float(np.dot(ww, d_lab.astype(np.float64))), rel=1e-9, abs=1e-12
    )


# ----------------------------------------------------------------------------------------------
# 1. exactness vs the peer
# ----------------------------------------------------------------------------------------------

PEER_DATASETS = [
    "gauss-0-20-2",
    "gauss-1-64-3",
    "gauss-2-150-5",
    "gauss-3-347-8",
    "gauss-4-600-4",
    "blobs-5-90",
    "blobs-6-250",
    "blobs-7-600",
    "digits500",
    "iris",
]


@pytest.mark.parametrize("k", [2, 3, 7, 15])
@pytest.mark.parametrize("name", PEER_DATASETS)
def test_matches_peer_from_given_medoids(peer, name, k):
    D = dataset(name)
    n = D.shape[0]
    m0 = np.random.RandomState(1000 * k + n).choice(n, k, replace=False)
    for method in METHODS:
        if method == "pam" and n > 150:
            continue
        ours = result_of(fit(D, k, method=method, init=m0, max_iter=100))
        ref = by_the_rule(run_peer(peer, D, method, m0, 100), D)
        assert_same(ours, ref, exact_loss=method == "fasterpam", check_swaps=method != "alternate")
        check_partition(ours, D, k)
        if method != "alternate":
            assert ours["n_swaps"] > 0 or n <= 20  # the tests exercise real swaps


@pytest.mark.parametrize("k", [2, 3, 7, 15])
@pytest.mark.parametrize("name", PEER_DATASETS)
def test_build_and_build_then_fasterpam_match_peer(peer, name, k):
    D = dataset(name)
    peer_build = np.asarray(peer.pam_build(D, k).medoids, dtype=np.int64)
    assert peer_build.shape == (k,)  # no duplicates problem on these sets at these k
    ours = fit(D, k, init="build", max_iter=0)
    np.testing.assert_array_equal(ours.medoid_indices_, peer_build)
    assert ours.n_iter_ == 0 and ours.n_swaps_ == 0
    ours = result_of(fit(D, k, method="fasterpam", init="build", max_iter=100))
    ref = peer_result(peer.fasterpam(D, peer_build, max_iter=100, n_cpu=1))
    assert_same(ours, ref, exact_loss=True)


@pytest.mark.parametrize("max_iter", [1, 2, 3])
def test_iteration_caps_match_peer(peer, max_iter):
    D = dataset("blobs-6-250")
    m0 = np.random.RandomState(7).choice(D.shape[0], 12, replace=False)
    for method in ("fasterpam", "fastpam1", "alternate"):
        ours = result_of(fit(D, 12, method=method, init=m0, max_iter=max_iter))
        ref = run_peer(peer, D, method, m0, max_iter)
        assert_same(ours, ref, exact_loss=method == "fasterpam", check_swaps=method != "alternate")
        assert ours["n_iter"] <= max_iter


def test_fasterpam_loss_is_bit_identical_on_real_data(peer):
    # Assert exact float equality of the loss for a few more starts on digits (ties).
    D = dataset("digits500")
    rng = np.random.RandomState(3)
    for k in (4, 10, 25):
        m0 = rng.choice(D.shape[0], k, replace=False)
        ours = fit(D, k, init=m0, max_iter=100)
        ref = peer.fasterpam(D, m0.astype(np.int64), max_iter=100, n_cpu=1)
        assert ours.inertia_ == float(ref.loss)
        np.testing.assert_array_equal(ours.medoid_indices_, np.asarray(ref.medoids, dtype=np.int64))
        assert (ours.n_iter_, ours.n_swaps_) == (ref.n_iter, ref.n_swap)


# ----------------------------------------------------------------------------------------------
# 2. exactness vs the oracle: weights, k = 1, k = n, tiny n, duplicates, ties
# ----------------------------------------------------------------------------------------------


def compare_with_oracle(D, k, m0, w=None, max_iter=100, methods=METHODS):
    for method in methods:
        ours = result_of(fit(D, k, method=method, init=m0, max_iter=max_iter, w=w))
        ref = by_the_rule(run_oracle(D, method, m0, max_iter, w), D)
        assert_same(ours, ref, exact_loss=method == "fasterpam" and w is None)
        check_partition(ours, D, k, w)


def compare_with_peer(D, k, m0, peer, exact_loss=True):
    """Every method from the medoids m0 gives the peer's result (the loss bit-identical for
    FasterPAM when exact_loss; alternate does not report its swaps)."""
    for method in METHODS:
        ours = result_of(fit(D, k, method=method, init=m0))
        assert_same(
            ours,
            by_the_rule(run_peer(peer, D, method, m0, 100), D),
            exact_loss=exact_loss and method == "fasterpam",
            check_swaps=method != "alternate",
        )


@pytest.mark.parametrize(
    "name,k,seed",
    [
        ("gauss-10-60-3", 4, 0),
        ("blobs-11-80", 7, 1),
        ("gauss-12-45-2", 2, 2),
        ("blobs-13-70", 3, 3),
    ],
)
def test_weighted_matches_oracle(name, k, seed):
    D = dataset(name)
    n = D.shape[0]
    rng = np.random.RandomState(seed)
    w = rng.uniform(0.05, 5.0, size=n)
    m0 = rng.choice(n, k, replace=False)
    compare_with_oracle(D, k, m0, w=w)
    # weighted BUILD, and the optimisation from it
    build = fit(D, k, init="build", max_iter=0, w=w).medoid_indices_
    np.testing.assert_array_equal(build, om.build(D, k, w))
    compare_with_oracle(D, k, build, w=w, methods=("fasterpam", "fastpam1"))
    # the weights matter: unweighted BUILD + FasterPAM ends elsewhere or with another loss
    uw = fit(D, k, init=m0)
    ww = fit(D, k, init=m0, w=w)
    assert uw.inertia_ != ww.inertia_


def test_integer_weights_equal_duplicated_points():
    rng = np.random.RandomState(21)
    X = rng.randn(40, 2)
    w = rng.randint(1, 4, size=40)
    idx = np.repeat(np.arange(40), w)
    D = distances(X)
    Ddup = np.ascontiguousarray(D[np.ix_(idx, idx)])  # the same distances, duplicated
    for k in (1, 3, 5):
        a = fit(D, k, init="build", w=w.astype(np.float64))
        b = fit(Ddup, k, init="build")
        np.testing.assert_array_equal(idx[b.medoid_indices_], a.medoid_indices_)
        np.testing.assert_array_equal(b.labels_, a.labels_[idx])
        assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_k1_matches_oracle(weighted):
    D = dataset("gauss-14-50-3")
    w = np.random.RandomState(14).uniform(0.1, 3.0, 50) if weighted else None
    best = int(np.argmin(D.sum(axis=0) if w is None else w @ D))
    for start in (0, best, 17):
        for max_iter in (0, 1, 100):
            compare_with_oracle(D, 1, np.array([start]), w=w, max_iter=max_iter)
        km = fit(D, 1, init=np.array([start]), w=w)
        assert km.medoid_indices_.tolist() == [best]
        assert km.n_swaps_ == int(start != best) and km.n_iter_ == 1
        assert km.labels_.tolist() == [0] * 50
    # BUILD with k = 1 is the weighted medoid
    assert fit(D, 1, init="build", max_iter=0, w=w).medoid_indices_.tolist() == [best]


def test_k1_keeps_incumbent_on_tied_sums():
    # 4 corners of a square: every column sum ties; the incumbent stays.
    D = distances([[0, 0], [1, 0], [0, 1], [1, 1]])
    for method in METHODS:
        km = fit(D, 1, method=method, init=np.array([2]))
        assert km.medoid_indices_.tolist() == [2] and km.n_swaps_ == 0


@pytest.mark.parametrize("weighted", [False, True])
def test_k_equals_n(weighted):
    n = 12
    D = dataset("gauss-15-12-2")
    w = np.random.RandomState(15).uniform(0.1, 2.0, n) if weighted else None
    m0 = np.random.RandomState(16).permutation(n)
    compare_with_oracle(D, n, m0, w=w)
    for method in METHODS:
        for init in (m0, "build", "lab", "k-medoids++", "random"):
            km = fit(D, n, method=method, init=init, w=w, random_state=0)
            assert sorted(km.medoid_indices_.tolist()) == list(range(n))
            np.testing.assert_array_equal(km.labels_[km.medoid_indices_], np.arange(n))
            assert km.inertia_ == 0.0 and km.n_swaps_ == 0
    np.testing.assert_array_equal(fit(D, n, init=m0).medoid_indices_, m0)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_n(n, peer):
    X = np.array([[0.0, 0.0], [3.0, 1.0], [0.5, 4.0]])[:n]
    D = distances(X)
    rng = np.random.RandomState(n)
    w = rng.uniform(0.5, 2.0, n)
    for k in range(1, n + 1):
        build = fit(D, k, init="build", max_iter=0).medoid_indices_
        assert build.tolist() == om.build(D, k)
        assert fit(D, k, init="build", max_iter=0, w=w).medoid_indices_.tolist() == om.build(
            D, k, w
        )
        for m0 in (build, rng.permutation(n)[:k]):
            compare_with_oracle(D, k, m0)
            compare_with_oracle(D, k, m0, w=w)
            if k >= 2:  # the peer solves k = 1 differently only for max_iter=0
                compare_with_peer(D, k, m0, peer, exact_loss=False)
        for init in ("lab", "k-medoids++", "random"):
            km = fit(D, k, init=init, random_state=0)
            assert len(set(km.medoid_indices_.tolist())) == k


def grid_duplicates(seed, n):
    X = np.random.RandomState(seed).randint(0, 3, size=(n, 2)).astype(np.float64)
    return distances(X)


@pytest.mark.parametrize("seed", [30, 31, 32])
def test_duplicates_match_oracle_and_peer(seed, peer):
    D = grid_duplicates(seed, 50)  # 9 locations, ~5 copies each: ties everywhere
    rng = np.random.RandomState(seed)
    w = rng.uniform(0.5, 2.0, 50)
    for k in (2, 5, 9, 12):
        m0 = rng.choice(50, k, replace=False)
        compare_with_oracle(D, k, m0)
        compare_with_oracle(D, k, m0, w=w)
        compare_with_peer(D, k, m0, peer)
        build = fit(D, k, init="build", max_iter=0).medoid_indices_
        assert build.tolist() == om.build(D, k)
        assert len(set(build.tolist())) == k
        assert fit(D, k, init="build", max_iter=0, w=w).medoid_indices_.tolist() == om.build(
            D, k, w
        )
        peer_build = np.asarray(peer.pam_build(D, k).medoids, dtype=np.int64).tolist()
        assert build.tolist()[: len(peer_build)] == peer_build
        compare_with_oracle(D, k, build, methods=("fasterpam", "fastpam1"))


def integer_tie_matrix(seed, n, high):
    """Random symmetric integer dissimilarities in 1..high with a zero diagonal (not a metric):
    nearly every comparison is a tie."""
    rng = np.random.RandomState(seed)
    A = rng.randint(1, high + 1, size=(n, n)).astype(np.float64)
    D = np.triu(A, 1)
    D = D + D.T
    return np.ascontiguousarray(D)


@pytest.mark.parametrize("seed,n,high", [(40, 40, 3), (41, 60, 5), (42, 35, 2)])
def test_integer_ties_match_oracle_and_peer(seed, n, high, peer):
    D = integer_tie_matrix(seed, n, high)
    rng = np.random.RandomState(seed)
    w = rng.randint(1, 4, n).astype(np.float64)
    for k in (2, 4, 8):
        m0 = rng.choice(n, k, replace=False)
        compare_with_oracle(D, k, m0)
        compare_with_oracle(D, k, m0, w=w)
        compare_with_peer(D, k, m0, peer)
        build = fit(D, k, init="build", max_iter=0).medoid_indices_.tolist()
        assert build == om.build(D, k)
        assert fit(D, k, init="build", max_iter=0, w=w).medoid_indices_.tolist() == om.build(
            D, k, w
        )
        peer_build = np.asarray(peer.pam_build(D, k).medoids, dtype=np.int64).tolist()
        assert build[: len(peer_build)] == peer_build


def test_integer_line_ties_match_oracle():
    # 1-D integer positions with duplicates: |a_i - a_j|, a metric with massive ties.
    a = np.random.RandomState(43).randint(0, 7, size=45).astype(np.float64)
    D = np.ascontiguousarray(np.abs(a[:, None] - a[None, :]))
    for k in (2, 3, 6, 9):
        m0 = np.random.RandomState(k).choice(45, k, replace=False)
        compare_with_oracle(D, k, m0)
        assert fit(D, k, init="build", max_iter=0).medoid_indices_.tolist() == om.build(D, k)


# ----------------------------------------------------------------------------------------------
# 3. thread-count invariance
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_blobs():
    X, _ = make_blobs(n_samples=1500, centers=30, n_features=4, cluster_std=1.0, random_state=50)
    D = distances(X)
    D.flags.writeable = False
    return D


def assert_bit_identical(a, b):
    np.testing.assert_array_equal(a["medoids"], b["medoids"])
    np.testing.assert_array_equal(a["labels"], b["labels"])
    assert a["loss"] == b["loss"]
    assert (a["n_iter"], a["n_swaps"]) == (b["n_iter"], b["n_swaps"])


@pytest.mark.parametrize("method", METHODS)
def test_n_jobs_invariance(big_blobs, method):
    D = big_blobs
    k = 30
    if method == "pam":  # O(k n^2) per swap: from BUILD, a few swaps
        init, max_iter = "build", 3
    else:
        init, max_iter = np.random.RandomState(51).choice(D.shape[0], k, replace=False), 100
    results = [
        result_of(fit(D, k, method=method, init=init, max_iter=max_iter, n_jobs=t))
        for t in (1, 2, 3)
    ]
    assert results[0]["n_swaps"] > 0
    for r in results[1:]:
        assert_bit_identical(r, results[0])
    check_partition(results[0], D, k)


def test_n_jobs_invariance_weighted_and_peer(big_blobs, peer):
    D = big_blobs
    k = 30
    n = D.shape[0]
    m0 = np.random.RandomState(52).choice(n, k, replace=False)
    # FasterPAM on 3 threads (speculative candidate blocks) is the peer's sequential schedule
    ours = result_of(fit(D, k, init=m0, n_jobs=3))
    assert_same(ours, peer_result(peer.fasterpam(D, m0, max_iter=100, n_cpu=1)), exact_loss=True)
    w = np.random.RandomState(53).uniform(0.1, 3.0, n)
    for method in ("fasterpam", "fastpam1", "alternate"):
        rs = [result_of(fit(D, k, method=method, init=m0, w=w, n_jobs=t)) for t in (1, 2, 3)]
        for r in rs[1:]:
            assert_bit_identical(r, rs[0])


def test_build_n_jobs_invariance(big_blobs, peer):
    D = big_blobs
    n = D.shape[0]
    w = np.random.RandomState(54).uniform(0.1, 3.0, n)
    for weights in (None, w):
        builds = [
            fit(D, 30, init="build", max_iter=0, n_jobs=t, w=weights).medoid_indices_
            for t in (1, 2, 3)
        ]
        for b in builds[1:]:
            np.testing.assert_array_equal(b, builds[0])
        if weights is None:
            builds_first = builds[0]
    np.testing.assert_array_equal(
        fit(D, 30, init="build", max_iter=0, n_jobs=2).medoid_indices_,
        np.asarray(peer.pam_build(D, 30).medoids, dtype=np.int64),
    )
    # the low-level function agrees with the estimator, whatever the thread count
    ones = np.ones(n)
    for t in (1, 2, 3):
        np.testing.assert_array_equal(_core.medoids.build(D, 30, ones, t), builds_first)


@pytest.mark.parametrize("init", ["lab", "k-medoids++"])
def test_random_inits_n_jobs_invariance(big_blobs, init):
    rs = [result_of(fit(big_blobs, 30, init=init, random_state=5, n_jobs=t)) for t in (1, 2, 3)]
    for r in rs[1:]:
        assert_bit_identical(r, rs[0])


def test_fastpam1_makes_pams_swaps(big_blobs):
    D = big_blobs
    a = result_of(fit(D, 30, method="pam", init="build", max_iter=3, n_jobs=2))
    b = result_of(fit(D, 30, method="fastpam1", init="build", max_iter=3, n_jobs=2))
    np.testing.assert_array_equal(a["medoids"], b["medoids"])
    assert (a["n_iter"], a["n_swaps"]) == (b["n_iter"], b["n_swaps"])
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-12)


# ----------------------------------------------------------------------------------------------
# 4. float32
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,k", [("gauss-60-120-3", 5), ("blobs-61-300", 9)])
def test_float32_matrix(name, k, peer):
    D64 = dataset(name)
    D32 = np.ascontiguousarray(D64.astype(np.float32))
    n = D64.shape[0]
    assert np.any(D32.astype(np.float64) != D64)  # float32 rounding really changes the input
    m0 = np.random.RandomState(62).choice(n, k, replace=False)
    for method in METHODS:
        if method == "pam" and n > 150:
            continue
        km32 = fit(D32, k, method=method, init=m0)
        ours = result_of(km32)
        # the oracle on the same float32 values (exact in float64) and the peer's f32 kernel
        ref = run_oracle(D32, method, m0, 100)
        assert_same(ours, ref, exact_loss=method == "fasterpam")
        pref = run_peer(peer, D32, method, m0, 100)
        np.testing.assert_array_equal(ours["medoids"], pref["medoids"])
        np.testing.assert_array_equal(ours["labels"], pref["labels"])
        assert ours["loss"] == pytest.approx(pref["loss"], rel=1e-6)
        # close to the float64 result
        r64 = result_of(fit(D64, k, method=method, init=m0))
        np.testing.assert_array_equal(ours["medoids"], r64["medoids"])
        assert ours["loss"] == pytest.approx(r64["loss"], rel=1e-5)
        # the float32 loss is the float64 sum of the float32 distances, not of the float64 ones
        d32 = D32[np.arange(n), ours["medoids"][ours["labels"]]].astype(np.float64)
        assert ours["loss"] == pytest.approx(math.fsum(d32), rel=1e-12)
        assert km32.transform(D32).dtype == np.float32
    # BUILD on float32
    assert fit(D32, k, init="build", max_iter=0).medoid_indices_.tolist() == om.build(D32, k)
    np.testing.assert_array_equal(
        fit(D32, k, init="build", max_iter=0).medoid_indices_,
        np.asarray(peer.pam_build(D32, k).medoids, dtype=np.int64),
    )


def test_float32_n_jobs_invariance(big_blobs):
    D32 = np.ascontiguousarray(big_blobs.astype(np.float32))
    m0 = np.random.RandomState(63).choice(D32.shape[0], 30, replace=False)
    for method in ("fasterpam", "fastpam1", "alternate"):
        rs = [result_of(fit(D32, 30, method=method, init=m0, n_jobs=t)) for t in (1, 2, 3)]
        for r in rs[1:]:
            assert_bit_identical(r, rs[0])
    bs = [fit(D32, 30, init="build", max_iter=0, n_jobs=t).medoid_indices_ for t in (1, 3)]
    np.testing.assert_array_equal(bs[0], bs[1])


# ----------------------------------------------------------------------------------------------
# 5. BUILD with duplicate points
# ----------------------------------------------------------------------------------------------


def test_build_duplicates_returns_k_distinct(peer):
    X = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 2.0]])[np.arange(30) % 3]  # 10 copies of 3 points
    D = distances(X)
    for k in (3, 5, 10, 30):
        km = fit(D, k, init="build", max_iter=0)
        meds = km.medoid_indices_.tolist()
        assert len(meds) == k and len(set(meds)) == k
        assert meds == om.build(D, k)
        assert km.inertia_ == om.total_deviation(D, meds) == 0.0
        check_partition(result_of(km), D, k)
    km = fit(D, 5, init="build", max_iter=0)
    # the first three are the three locations, then the lowest-index non-medoids
    assert sorted(X[km.medoid_indices_[:3], 0].tolist()) == [0.0, 1.0, 5.0]
    first = km.medoid_indices_[:3].tolist()
    assert km.medoid_indices_[3:].tolist() == [i for i in range(30) if i not in first][:2]
    # the peer stops early (fewer than k); partita's list starts with the peer's
    peer_meds = np.asarray(peer.pam_build(D, 5).medoids, dtype=np.int64).tolist()
    assert len(peer_meds) < 5 and meds_prefix(km, len(peer_meds)) == peer_meds
    # optimisation from it keeps k distinct medoids at loss 0, for every method
    for method in METHODS:
        r = result_of(fit(D, 5, method=method, init="build"))
        assert len(set(r["medoids"].tolist())) == 5 and r["loss"] == 0.0
        assert_same(
            r, by_the_rule(run_oracle(D, method, km.medoid_indices_, 100), D), exact_loss=True
        )
    # weighted duplicates
    w = np.random.RandomState(70).uniform(0.5, 2.0, 30)
    assert fit(D, 5, init="build", max_iter=0, w=w).medoid_indices_.tolist() == om.build(D, 5, w)


def meds_prefix(km, m):
    return km.medoid_indices_[:m].tolist()


def test_build_loss_equals_oracle_with_near_duplicates():
    # 3 tight groups of 10 near-identical points: BUILD must still give k distinct medoids and
    # the oracle's choice and loss.
    rng = np.random.RandomState(71)
    X = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 2.0]])[np.arange(30) % 3] + 1e-9 * rng.randn(30, 2)
    D = distances(X)
    for k in (5, 8):
        km = fit(D, k, init="build", max_iter=0)
        ref = om.build(D, k)
        assert km.medoid_indices_.tolist() == ref
        assert km.inertia_ == om.total_deviation(D, ref)


# ----------------------------------------------------------------------------------------------
# 6. LAB, k-medoids++, random
# ----------------------------------------------------------------------------------------------


def lab_reference(D, k, samples, w):
    """LAB as specified (docs/algorithms.md, "LAB"): per medoid a fresh sample; minimise the
    sample cost sum_s w_s min(d(i, s), mindist(s)) over sampled non-medoids (first in sample
    order wins)."""
    n = D.shape[0]
    near = np.full(n, np.inf)
    meds = []
    for step in range(k):
        s = samples[step]
        best, best_cost = -1, np.inf
        for i in s:
            if i in meds:
                continue
            cost = 0.0
            for o in s:
                cost += w[o] * min(float(D[i, o]), near[o])
            if cost < best_cost:
                best, best_cost = int(i), cost
        if best < 0:
            best = next(i for i in range(n) if i not in meds)
        meds.append(best)
        near = np.minimum(near, D[best])
    return meds


@pytest.mark.parametrize("weighted", [False, True])
def test_lab_follows_specification(weighted):
    D = dataset("blobs-80-400")
    n, k = D.shape[0], 8
    w = np.random.RandomState(80).uniform(0.1, 2.0, n) if weighted else np.ones(n)
    km = fit(D, k, init="lab", max_iter=0, random_state=11, w=w if weighted else None)
    # replay the estimator's draws: k samples of m = min(n, 10 + ceil(sqrt(n))) points
    rng = np.random.RandomState(11)
    m = min(n, 10 + math.ceil(math.sqrt(n)))
    samples = np.stack([rng.choice(n, m, replace=False) for _ in range(k)])
    expected = lab_reference(D, k, samples, w)
    assert km.medoid_indices_.tolist() == expected
    np.testing.assert_array_equal(
        _core.medoids.lab(D, np.ascontiguousarray(samples, dtype=np.int64), w, 1), expected
    )


@pytest.mark.parametrize("init", ["lab", "k-medoids++", "random"])
def test_random_inits_reproducible_and_valid(init):
    D = dataset("blobs-81-300")
    n = D.shape[0]
    for k in (1, 2, 7, 15):
        starts = set()
        for seed in range(4):
            a = fit(D, k, init=init, max_iter=0, random_state=seed)
            b = fit(D, k, init=init, max_iter=0, random_state=np.random.RandomState(seed))
            np.testing.assert_array_equal(a.medoid_indices_, b.medoid_indices_)
            meds = a.medoid_indices_
            assert meds.shape == (k,) and len(set(meds.tolist())) == k
            assert meds.min() >= 0 and meds.max() < n
            starts.add(tuple(meds.tolist()))
            full = [result_of(fit(D, k, init=init, random_state=seed)) for _ in range(2)]
            assert_bit_identical(full[0], full[1])
            check_partition(full[0], D, k)
        assert len(starts) > 1  # the seed matters
    # the unseeded estimator still gives valid medoids
    km = fit(D, 7, init=init, max_iter=0, random_state=None)
    assert len(set(km.medoid_indices_.tolist())) == 7


@pytest.mark.parametrize("init", ["lab", "k-medoids++"])
def test_random_inits_quality(init):
    for name, k in (("blobs-82-600", 8), ("blobs-83-400", 15)):
        D = dataset(name)
        base = fit(D, k, init="build").inertia_
        for seed in range(3):
            loss = fit(D, k, init=init, random_state=seed).inertia_
            assert loss <= 1.10 * base


def test_kmedoidspp_respects_zero_weights():
    # First medoid drawn proportional to w, the next ones to w * D^2: a zero-weight point is
    # never drawn (k is far below the number of positive-weight points).
    D = dataset("blobs-84-200")
    w = np.zeros(200)
    w[::2] = 1.0
    for seed in range(5):
        meds = fit(D, 10, init="k-medoids++", max_iter=0, random_state=seed, w=w).medoid_indices_
        assert np.all(meds % 2 == 0), meds


def test_kmedoidspp_duplicates_still_distinct():
    X = np.array([[0.0], [1.0], [5.0]])[np.arange(30) % 3]
    D = distances(X)
    for init in ("k-medoids++", "lab", "random"):
        for seed in range(3):
            meds = fit(D, 6, init=init, max_iter=0, random_state=seed).medoid_indices_
            assert len(set(meds.tolist())) == 6


# ----------------------------------------------------------------------------------------------
# 7. feature input
# ----------------------------------------------------------------------------------------------


def upper_wins(D):
    """The estimator's symmetrisation: upper triangle copied onto the lower, zero diagonal."""
    U = np.triu(D, 1)
    return np.ascontiguousarray(U + U.T, dtype=D.dtype)


def own_distance_matrix(X, metric):
    """partita's C++ distance matrix (the one KMedoids stores for feature input)."""
    kernels = _core.medoids
    space = (kernels.FeatureSpace32 if X.dtype == np.float32 else kernels.FeatureSpace64)(
        np.ascontiguousarray(X), kernels.Metric.__members__[metric], 0
    )
    return space.distance_matrix(1)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "sqeuclidean", "cosine"])
def test_feature_input_equals_precomputed(metric):
    X, _ = make_blobs(n_samples=300, centers=6, n_features=5, random_state=90)
    X = X + 20.0  # keep cosine distances non-degenerate
    for method in ("fasterpam", "alternate"):
        for init in ("build", np.arange(0, 300, 40)):
            k = 6 if isinstance(init, str) else len(init)
            kf = KMedoids(n_clusters=k, metric=metric, method=method, init=init, n_jobs=1).fit(X)
            # Exactly the precomputed result on partita's own (C++) distance matrix ...
            kp = fit(own_distance_matrix(X, metric), k, method=method, init=init)
            assert_same(result_of(kf), result_of(kp), exact_loss=True)
            # ... and, up to the rounding of the distances, on scikit-learn's.
            ka = fit(symmetric(pairwise_distances(X, metric=metric)), k, method=method, init=init)
            np.testing.assert_array_equal(kf.medoid_indices_, ka.medoid_indices_)
            np.testing.assert_array_equal(kf.labels_, ka.labels_)
            assert kf.inertia_ == pytest.approx(ka.inertia_, rel=1e-10)
            np.testing.assert_array_equal(kf.cluster_centers_, X[kf.medoid_indices_])
            assert kp.cluster_centers_ is None
            np.testing.assert_array_equal(kf.predict(X), kf.labels_)


def test_feature_input_float32():
    X, _ = make_blobs(n_samples=250, centers=5, n_features=3, random_state=91)
    X32 = X.astype(np.float32)
    kf = KMedoids(n_clusters=5, metric="euclidean", n_jobs=1).fit(X32)
    D32 = own_distance_matrix(X32, "euclidean")
    assert D32.dtype == np.float32
    kp = fit(D32, 5)
    assert_same(result_of(kf), result_of(kp), exact_loss=True)
    ks = fit(upper_wins(pairwise_distances(X32)), 5)
    np.testing.assert_array_equal(kf.medoid_indices_, ks.medoid_indices_)
    assert kf.inertia_ == pytest.approx(ks.inertia_, rel=1e-6)
    assert kf.transform(X32).dtype == np.float32
    k64 = KMedoids(n_clusters=5, metric="euclidean", n_jobs=1).fit(X)
    np.testing.assert_array_equal(kf.medoid_indices_, k64.medoid_indices_)
    assert kf.inertia_ == pytest.approx(k64.inertia_, rel=1e-5)


def test_callable_metric_equals_builtin():
    X, _ = make_blobs(n_samples=120, centers=4, n_features=3, random_state=92)
    for name, fn in (
        ("manhattan", lambda a, b: float(np.abs(a - b).sum())),
        ("euclidean", lambda a, b: float(np.sqrt(((a - b) ** 2).sum()))),
        ("chebyshev", lambda a, b: float(np.abs(a - b).max())),
    ):
        for method in ("fasterpam", "fastpam1"):
            kc = KMedoids(n_clusters=4, metric=fn, method=method, n_jobs=1).fit(X)
            kb = KMedoids(n_clusters=4, metric=name, method=method, n_jobs=1).fit(X)
            np.testing.assert_array_equal(kc.medoid_indices_, kb.medoid_indices_)
            np.testing.assert_array_equal(kc.labels_, kb.labels_)
            assert (kc.n_iter_, kc.n_swaps_) == (kb.n_iter_, kb.n_swaps_)
            assert kc.inertia_ == pytest.approx(kb.inertia_, rel=1e-12)


def test_feature_input_matches_peer(peer):
    # end to end: feature rows -> partita's matrix -> same result as the peer on that matrix
    X = load_iris().data
    km = KMedoids(n_clusters=3, metric="manhattan", init="build", n_jobs=1).fit(X)
    D = upper_wins(pairwise_distances(X, metric="manhattan"))
    build = np.asarray(peer.pam_build(D, 3).medoids, dtype=np.int64)
    ref = peer_result(peer.fasterpam(D, build, max_iter=300, n_cpu=1))
    assert_same(result_of(km), ref, exact_loss=True)


# ----------------------------------------------------------------------------------------------
# extra coverage: randomised small cases on several threads, large n (parallel swap update)
# ----------------------------------------------------------------------------------------------


def fuzz_case(seed):
    """A small random problem: continuous, duplicated or integer-tied distances; random weights
    (some zero) or none; k anywhere in 1..n."""
    rng = np.random.RandomState(seed)
    n = int(rng.randint(4, 36))
    kind = seed % 3
    if kind == 0:
        D = distances(rng.randn(n, 2))
    elif kind == 1:
        D = distances(rng.randint(0, 3, size=(n, 2)).astype(np.float64))
    else:
        D = integer_tie_matrix(seed, n, 3)
    k = int(rng.randint(1, n + 1))
    w = None
    if rng.rand() < 0.6:
        w = rng.uniform(0.0, 3.0, n)
        w[rng.rand(n) < 0.2] = 0.0
        w[rng.randint(n)] = 1.0  # positive sum
    return D, k, w, rng


@pytest.mark.parametrize("seed", range(200, 260))
def test_fuzz_against_oracle_several_threads(seed):
    D, k, w, rng = fuzz_case(seed)
    n = D.shape[0]
    m0 = rng.choice(n, k, replace=False)
    max_iter = int(rng.choice([1, 2, 100]))
    for t in (1, 3):
        assert fit(
            D, k, init="build", max_iter=0, w=w, n_jobs=t
        ).medoid_indices_.tolist() == om.build(D, k, w)
    for method in METHODS:
        ref = by_the_rule(run_oracle(D, method, m0, max_iter, w), D)
        for t in (1, 3):
            ours = result_of(fit(D, k, method=method, init=m0, max_iter=max_iter, w=w, n_jobs=t))
            assert_same(ours, ref, exact_loss=method == "fasterpam" and w is None)
            check_partition(ours, D, k, w)


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_k1_and_small_k_match_peer_with_threads(peer, k):
    D = dataset("gauss-16-90-3")
    m0 = np.random.RandomState(k).choice(90, k, replace=False)
    for method in METHODS:
        ref = run_peer(peer, D, method, m0, 100)
        for t in (1, 2, 3):
            ours = result_of(fit(D, k, method=method, init=m0, n_jobs=t))
            assert_same(
                ours, ref, exact_loss=method == "fasterpam", check_swaps=method != "alternate"
            )


@pytest.mark.parametrize("k_minus", [1, 2, 5])
def test_k_close_to_n(k_minus, peer):
    D = dataset("gauss-17-40-2")
    k = 40 - k_minus
    m0 = np.random.RandomState(k).choice(40, k, replace=False)
    for method in METHODS:
        ref = run_oracle(D, method, m0, 100)
        for t in (1, 3):
            assert_same(
                result_of(fit(D, k, method=method, init=m0, n_jobs=t)),
                ref,
                exact_loss=method == "fasterpam",
            )
        assert_same(
            result_of(fit(D, k, method=method, init=m0)),
            run_peer(peer, D, method, m0, 100),
            check_swaps=method != "alternate",
        )
    assert fit(D, k, init="build", max_iter=0).medoid_indices_.tolist() == om.build(D, k)


@pytest.fixture(scope="module")
def large_float32():
    X, _ = make_blobs(n_samples=4300, centers=12, n_features=3, random_state=95)
    D = pairwise_distances(X.astype(np.float32))
    D = np.ascontiguousarray((D + D.T) / 2)
    np.fill_diagonal(D, 0.0)
    assert D.dtype == np.float32
    return D


def test_large_n_parallel_swap_update(large_float32, peer):
    # n > 4096: the swap update itself runs on several threads.
    D = large_float32
    n, k = D.shape[0], 12
    m0 = np.random.RandomState(96).choice(n, k, replace=False)
    ref = peer_result(peer.fasterpam(D, m0, max_iter=100, n_cpu=1))
    for t in (1, 2, 3):
        assert_same(result_of(fit(D, k, init=m0, n_jobs=t)), ref, exact_loss=True)
    ref = run_peer(peer, D, "alternate", m0, 100)
    a = [result_of(fit(D, k, method="alternate", init=m0, n_jobs=t)) for t in (1, 2)]
    assert_same(a[0], ref, check_swaps=False)
    assert_bit_identical(a[0], a[1])
    w = np.random.RandomState(97).uniform(0.1, 2.0, n)
    r = [result_of(fit(D, k, method="fastpam1", init=m0, w=w, n_jobs=t)) for t in (1, 2)]
    assert_bit_identical(r[0], r[1])
    b = [fit(D, k, init="build", max_iter=0, n_jobs=t).medoid_indices_ for t in (1, 2)]
    np.testing.assert_array_equal(b[0], b[1])
    np.testing.assert_array_equal(b[0], np.asarray(peer.pam_build(D, k).medoids, dtype=np.int64))


def test_memory_layouts_give_the_same_result():
    D = np.array(dataset("blobs-98-150"))
    m0 = np.random.RandomState(98).choice(150, 6, replace=False)
    ref = result_of(fit(D, 6, init=m0))
    ro = D.copy()
    ro.flags.writeable = False
    big = np.zeros((300, 300))
    big[::2, ::2] = D
    for variant in (np.asfortranarray(D), ro, big[::2, ::2], D.tolist()):
        assert_bit_identical(result_of(fit(variant, 6, init=m0)), ref)
    # init as a float array or a list of indices
    assert_bit_identical(result_of(fit(D, 6, init=m0.astype(np.float64))), ref)
    assert_bit_identical(result_of(fit(D, 6, init=m0.tolist())), ref)
    # n_jobs=None and -1 (all cores) do not change it either
    for nj in (None, -1):
        assert_bit_identical(result_of(fit(D, 6, init=m0, n_jobs=nj)), ref)


@pytest.mark.parametrize("method", METHODS)
def test_weighted_swap_with_a_duplicate_is_not_an_improvement(method):
    # Points at x = 3, 3, 0 with weights 0.3, 0.3, 0.1 and medoids [2, 1]: every point sits on a
    # medoid (TD = 0), so no swap can lower TD. Swapping medoid 1 for its duplicate 0 has
    # delta = removal[1] + 0.3 * (0 - 3) + 0.3 * (0 - 3) with removal[1] = 0.3 * 3 + 0.3 * 3:
    # exactly 0 in the specification's float64 arithmetic (each product rounded, so the terms
    # cancel), hence no swap, as the oracle and the plain loop compute.
    x = np.array([3.0, 3.0, 0.0])
    D = np.ascontiguousarray(np.abs(x[:, None] - x[None, :]))
    w = np.array([0.3, 0.3, 0.1])
    m0 = np.array([2, 1])
    ref = run_oracle(D, method, m0, 100, w)
    assert ref["n_swaps"] == 0 and ref["loss"] == 0.0
    km = fit(D, 2, method=method, init=m0, w=w)
    assert km.inertia_ == 0.0
    assert km.n_swaps_ == 0, f"{method} made {km.n_swaps_} swap(s) from an optimal start (TD = 0)"
    assert_same(result_of(km), ref, exact_loss=True)


def test_weighted_duplicates_match_oracle():
    # Positive weights (no zeros) on grid data full of duplicates: exact ties in the scoring.
    for seed in (3, 6, 11):
        rng = np.random.RandomState(seed)
        n = int(rng.randint(4, 30))
        D = distances(rng.randint(0, 3, size=(n, 2)).astype(np.float64))
        k = int(rng.randint(2, min(n, 6) + 1))
        w = rng.uniform(0.5, 2.0, n)
        m0 = rng.choice(n, k, replace=False)
        compare_with_oracle(D, k, m0, w=w, methods=("fasterpam", "fastpam1"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_precomputed_matrix_is_not_copied_or_upcast(big_blobs, dtype):
    # A float32 matrix runs in float32: no float64 (or any n x n) copy is made by fit.
    import tracemalloc

    D = np.ascontiguousarray(big_blobs.astype(dtype))
    fit(D, 10, init="build", max_iter=5)  # warm-up (imports, caches)
    tracemalloc.start()
    try:
        fit(D, 10, init="build", max_iter=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < D.nbytes / 4, f"fit allocated {peak} bytes for a {D.nbytes}-byte matrix"
