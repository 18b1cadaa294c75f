"""Validate the k-medoids oracle (tests/oracles/medoids.py) against the peer `kmedoids` and itself.

The peer is run single-threaded with no random processing order (``n_cpu=1``,
``random_state=None``), so it scans candidates in index order as the specification does.
"""

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from oracles import medoids as om

kmedoids = pytest.importorskip("kmedoids")


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def euclidean_matrix(X):
    """Exactly symmetric float64 euclidean distance matrix with a zero diagonal."""
    return np.ascontiguousarray(squareform(pdist(np.asarray(X, dtype=np.float64))))


def random_case(seed, n, k, dim=3):
    """Random float64 distance matrix and k distinct random initial medoids."""
    rng = np.random.RandomState(seed)
    D = euclidean_matrix(rng.randn(n, dim))
    medoids = rng.choice(n, k, replace=False)
    return D, medoids


def assert_matches_peer(peer, ours, check_swaps=True):
    """Equal medoids, labels, n_iter (and n_swaps), loss within 1e-9 relative."""
    np.testing.assert_array_equal(np.asarray(peer.medoids, dtype=np.int64), ours["medoids"])
    np.testing.assert_array_equal(np.asarray(peer.labels, dtype=np.int64), ours["labels"])
    assert ours["medoids"].dtype == np.int64 and ours["labels"].dtype == np.int64
    assert isinstance(ours["loss"], float)
    assert peer.n_iter == ours["n_iter"]
    if check_swaps:
        assert peer.n_swap == ours["n_swaps"]
    assert ours["loss"] == pytest.approx(peer.loss, rel=1e-9, abs=1e-12)


def peer_fasterpam(D, medoids, max_iter):
    return kmedoids.fasterpam(D, np.array(medoids), max_iter=max_iter, n_cpu=1)


RANDOM_CASES = [
    # (seed, n, k)
    (0, 30, 1),
    (1, 30, 2),
    (2, 45, 3),
    (3, 60, 5),
    (4, 80, 4),
    (5, 100, 7),
    (6, 120, 10),
    (7, 150, 3),
    (8, 200, 6),
    (9, 200, 10),
    (10, 64, 1),
    (11, 90, 8),
]


@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris

    return euclidean_matrix(load_iris().data)  # 150 points, contains duplicates / exact ties


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X = load_digits().data
    idx = np.random.RandomState(0).choice(len(X), 160, replace=False)
    return euclidean_matrix(X[np.sort(idx)])  # integer pixels: many tied distances


# ----------------------------------------------------------------------------------------------
# FasterPAM
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed,n,k", RANDOM_CASES)
def test_fasterpam_matches_peer(seed, n, k):
    D, m0 = random_case(seed, n, k)
    assert_matches_peer(peer_fasterpam(D, m0, 100), om.fasterpam(D, m0, max_iter=100))


@pytest.mark.parametrize("max_iter", [1, 2, 3])
@pytest.mark.parametrize("seed,n,k", [(20, 120, 6), (21, 80, 3), (22, 150, 9)])
def test_fasterpam_pass_cap_matches_peer(seed, n, k, max_iter):
    D, m0 = random_case(seed, n, k)
    assert_matches_peer(peer_fasterpam(D, m0, max_iter), om.fasterpam(D, m0, max_iter=max_iter))


@pytest.mark.parametrize("k", [2, 5])
def test_max_iter_zero_matches_peer_for_k_ge_2(k):
    D, m0 = random_case(30, 50, k)
    near_i, near_d, _, _ = om.initial_assignment(D, m0)
    for peer_fn, oracle_fn in [
        (lambda D, m: peer_fasterpam(D, m, 0), om.fasterpam),
        (lambda D, m: kmedoids.fastpam1(D, np.array(m), max_iter=0), om.fastpam1),
        (lambda D, m: kmedoids.pam(D, np.array(m), max_iter=0), om.pam),
    ]:
        ours = oracle_fn(D, m0, max_iter=0)
        assert_matches_peer(peer_fn(D, m0), ours)
        np.testing.assert_array_equal(ours["medoids"], m0)
        np.testing.assert_array_equal(ours["labels"], near_i)
        assert ours["n_iter"] == 0 and ours["n_swaps"] == 0
    ours = om.alternate(D, m0, max_iter=0)
    assert_matches_peer(kmedoids.alternating(D, np.array(m0), max_iter=0), ours, check_swaps=False)
    assert ours["n_iter"] == 0 and ours["n_swaps"] == 0


def test_max_iter_zero_k1_keeps_medoid():
    # Documented deviation: the peer solves k = 1 even with max_iter=0 (n_iter=1); the oracle
    # does no swap pass at all.
    D, _ = random_case(31, 40, 1)
    m0 = np.array([3])
    for fn in (om.fasterpam, om.fastpam1, om.pam, om.alternate):
        ours = fn(D, m0, max_iter=0)
        np.testing.assert_array_equal(ours["medoids"], m0)
        assert ours["n_iter"] == 0 and ours["n_swaps"] == 0
        assert ours["loss"] == om.total_deviation(D, m0)


def test_fasterpam_real_data_matches_peer(iris, digits):
    for D, seed, ks in [(iris, 40, (1, 3, 8)), (digits, 41, (2, 10))]:
        rng = np.random.RandomState(seed)
        for k in ks:
            m0 = rng.choice(len(D), k, replace=False)
            assert_matches_peer(peer_fasterpam(D, m0, 100), om.fasterpam(D, m0))


def test_fasterpam_duplicates_and_ties_match_peer():
    # Many exact duplicates: distances 0 everywhere, ties in every comparison.
    rng = np.random.RandomState(50)
    X = rng.randint(0, 4, size=(60, 2)).astype(np.float64)
    D = euclidean_matrix(X)
    for k in (2, 4, 7):
        m0 = rng.choice(len(D), k, replace=False)
        assert_matches_peer(peer_fasterpam(D, m0, 100), om.fasterpam(D, m0))
        assert_matches_peer(kmedoids.fastpam1(D, m0), om.fastpam1(D, m0))
        assert_matches_peer(kmedoids.pam(D, m0), om.pam(D, m0))
        assert_matches_peer(kmedoids.alternating(D, m0), om.alternate(D, m0), check_swaps=False)
    # a medoid whose duplicate sits in a lower slot is still its own nearest
    dup = np.array([[0.0], [0.0], [5.0]])
    near_i, near_d, seco_i, seco_d = om.initial_assignment(euclidean_matrix(dup), [0, 1])
    np.testing.assert_array_equal(near_i, [0, 1, 0])
    np.testing.assert_array_equal(seco_i, [1, 0, 1])
    np.testing.assert_array_equal(seco_d, [0.0, 0.0, 5.0])


# ----------------------------------------------------------------------------------------------
# FastPAM1, PAM, Alternate
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed,n,k", RANDOM_CASES[:10])
def test_fastpam1_matches_peer(seed, n, k):
    D, m0 = random_case(seed, n, k)
    assert_matches_peer(kmedoids.fastpam1(D, m0, max_iter=100), om.fastpam1(D, m0, max_iter=100))


@pytest.mark.parametrize("seed,n,k", [(0, 30, 1), (1, 30, 2), (2, 45, 3), (3, 60, 5), (12, 70, 8)])
def test_pam_matches_peer_and_fastpam1(seed, n, k):
    D, m0 = random_case(seed, n, k)
    ours = om.pam(D, m0, max_iter=100)
    assert_matches_peer(kmedoids.pam(D, m0, max_iter=100), ours)
    # FastPAM1 performs exactly PAM's swaps
    fast = om.fastpam1(D, m0, max_iter=100)
    np.testing.assert_array_equal(ours["medoids"], fast["medoids"])
    assert (ours["n_iter"], ours["n_swaps"]) == (fast["n_iter"], fast["n_swaps"])


@pytest.mark.parametrize("seed,n,k", [(13, 50, 3), (14, 80, 6)])
def test_pam_with_build_init_matches_peer(seed, n, k):
    D, _ = random_case(seed, n, k)
    ours = om.pam(D, om.build(D, k), max_iter=100)
    assert_matches_peer(kmedoids.pam(D, k, max_iter=100, init="build"), ours)


def test_pam_fastpam1_real_data(iris):
    m0 = np.random.RandomState(42).choice(len(iris), 4, replace=False)
    assert_matches_peer(kmedoids.pam(iris, m0), om.pam(iris, m0))
    assert_matches_peer(kmedoids.fastpam1(iris, m0), om.fastpam1(iris, m0))


@pytest.mark.parametrize("seed,n,k", RANDOM_CASES)
def test_alternate_matches_peer(seed, n, k):
    D, m0 = random_case(seed, n, k)
    ours = om.alternate(D, m0, max_iter=100)
    peer = kmedoids.alternating(D, m0, max_iter=100)
    assert peer.n_swap is None  # the peer does not count medoid changes
    assert_matches_peer(peer, ours, check_swaps=False)
    assert ours["n_swaps"] >= ours["n_iter"] - 1  # every iteration but the last changed a medoid


@pytest.mark.parametrize("max_iter", [1, 2])
def test_alternate_iteration_cap_and_real_data(iris, digits, max_iter):
    for D, seed, k in [(iris, 43, 3), (digits, 44, 10)]:
        m0 = np.random.RandomState(seed).choice(len(D), k, replace=False)
        peer = kmedoids.alternating(D, m0, max_iter=max_iter)
        assert_matches_peer(peer, om.alternate(D, m0, max_iter=max_iter), check_swaps=False)
        assert_matches_peer(kmedoids.alternating(D, m0), om.alternate(D, m0), check_swaps=False)


# ----------------------------------------------------------------------------------------------
# BUILD
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed,n,k", RANDOM_CASES)
def test_build_matches_peer(seed, n, k):
    D, _ = random_case(seed, n, k)
    ours = om.build(D, k)
    peer = kmedoids.pam_build(D, k)
    assert isinstance(ours, list) and len(ours) == k
    np.testing.assert_array_equal(np.asarray(peer.medoids, dtype=np.int64), ours)
    near_i, _, _, _ = om.initial_assignment(D, ours)
    np.testing.assert_array_equal(np.asarray(peer.labels, dtype=np.int64), near_i)
    assert om.total_deviation(D, ours) == pytest.approx(peer.loss, rel=1e-9)


def test_build_real_data_matches_peer(iris, digits):
    for D, k in [(iris, 3), (iris, 10), (digits, 10)]:
        np.testing.assert_array_equal(
            np.asarray(kmedoids.pam_build(D, k).medoids, dtype=np.int64), om.build(D, k)
        )


@pytest.mark.parametrize("seed", range(80, 92))
def test_build_exact_ties_match_peer(seed):
    # Grid data: many duplicate points, so BUILD gains tie exactly and the summation order decides.
    # Where the peer stops early (no candidate lowers TD) it returns fewer than k medoids; the
    # oracle's list must start with the peer's.
    rng = np.random.RandomState(seed)
    n = rng.randint(20, 70)
    X = rng.randint(0, 3, size=(n, 2)).astype(np.float64)
    D = euclidean_matrix(X)
    for k in (2, 4, 7, 10):
        ours = om.build(D, k)
        peer = np.asarray(kmedoids.pam_build(D, k).medoids, dtype=np.int64).tolist()
        assert len(ours) == k and len(set(ours)) == k
        assert ours[: len(peer)] == peer
        if len(peer) < k:  # only when the peer could not lower TD any further
            assert om.total_deviation(D, peer) == 0.0


def test_build_duplicates_returns_k_distinct():
    # 3 distinct locations, 12 points: BUILD cannot lower TD after 3 medoids.
    X = np.array([[0.0], [1.0], [5.0]])[np.arange(12) % 3]
    D = euclidean_matrix(X)
    for k in range(1, 13):
        meds = om.build(D, k)
        assert len(meds) == k and len(set(meds)) == k
        if k >= 3:
            assert om.total_deviation(D, meds) == 0.0
    # the first three are the real choices, then the lowest-index non-medoids in order
    meds = om.build(D, 6)
    assert sorted(X[meds[:3], 0].tolist()) == [0.0, 1.0, 5.0]
    assert meds[3:] == [i for i in range(12) if i not in meds[:3]][:3]
    # the peer stops early here (returns fewer than k medoids): the known defect
    peer = kmedoids.pam_build(D, 6)
    np.testing.assert_array_equal(
        np.asarray(peer.medoids, dtype=np.int64), meds[: len(peer.medoids)]
    )
    # FasterPAM from these k distinct medoids stays at TD 0 and keeps k distinct medoids
    res = om.fasterpam(D, meds)
    assert res["loss"] == 0.0 and len(set(res["medoids"].tolist())) == 6


# ----------------------------------------------------------------------------------------------
# oracle self-checks: k = 1, scoring, swap update, weights
# ----------------------------------------------------------------------------------------------


def test_k1_is_exact_and_keeps_incumbent_on_ties():
    D, _ = random_case(60, 50, 1)
    col = D.sum(axis=0)
    best = int(np.argmin(col))
    for fn in (om.fasterpam, om.fastpam1, om.pam):
        res = fn(D, [best])
        assert res["medoids"].tolist() == [best] and res["n_iter"] == 1 and res["n_swaps"] == 0
        res = fn(D, [(best + 1) % 50])
        assert res["medoids"].tolist() == [best] and res["n_iter"] == 1 and res["n_swaps"] == 1
        assert res["labels"].tolist() == [0] * 50
    # 4 points on a square: every column sum ties, so the incumbent stays
    Dsq = euclidean_matrix([[0, 0], [1, 0], [0, 1], [1, 1]])
    assert om.fasterpam(Dsq, [2])["medoids"].tolist() == [2]
    assert om.fasterpam(Dsq, [2])["n_swaps"] == 0


def test_scoring_equals_brute_force_weighted():
    rng = np.random.RandomState(61)
    D, m0 = random_case(61, 25, 4)
    w = rng.uniform(0.5, 3.0, size=25)
    td0 = om.total_deviation(D, m0, w)
    for j in range(25):
        if j in m0:
            continue
        deltas = []
        for b in range(4):
            m = m0.copy()
            m[b] = j
            deltas.append(om.total_deviation(D, m, w) - td0)
        delta, b = om.score_candidate(D, m0, j, w)
        assert b == int(np.argmin(deltas))
        assert delta == pytest.approx(deltas[b], rel=1e-9, abs=1e-9)
    # removal loss equals the TD increase of deleting each slot
    removal = om.removal_loss(D, m0, w)
    for b in range(4):
        assert removal[b] == pytest.approx(
            om.total_deviation(D, np.delete(m0, b), w) - td0, abs=1e-9
        )


def test_swap_update_equals_fresh_assignment():
    # Without distance ties the incremental update (incl. the second-nearest rescan) must agree
    # with an assignment computed from scratch.
    D, m0 = random_case(62, 30, 5)
    w = np.random.RandomState(62).uniform(0.5, 2.0, size=30)
    for b in range(5):
        for j in range(30):
            if j in m0:
                continue
            meds, state, loss = om.apply_swap(D, m0, b, j, w)
            expected = m0.copy()
            expected[b] = j
            np.testing.assert_array_equal(meds, expected)
            fresh = om.initial_assignment(D, meds)
            for got, want in zip(state, fresh):
                np.testing.assert_array_equal(got, want)
            assert loss == om.total_deviation(D, meds, w)


def test_swap_rescan_new_medoid_wins_ties():
    # Points on a line; the rescan of the second nearest is seeded with (b, d(o, j)) and only a
    # strictly closer slot replaces it.
    x = np.array([0.0, 1.0, -3.0, 3.0, -3.0, 2.0, 3.0])
    D = euclidean_matrix(x[:, None])
    # point 0: nearest slot 0 (x=1), second slot 1 (x=-3, d=3; slot 2 at x=3 ties and loses).
    near_i, near_d, seco_i, seco_d = om.initial_assignment(D, [1, 2, 3])
    assert (near_i[0], near_d[0], seco_i[0], seco_d[0]) == (0, 1.0, 1, 3.0)
    # second nearest replaced (slot 1 gets point 4, also at x=-3): seeded rescan keeps slot 1
    _, (near_i, near_d, seco_i, seco_d), _ = om.apply_swap(D, [1, 2, 3], 1, 4)
    assert (near_i[0], near_d[0], seco_i[0], seco_d[0]) == (0, 1.0, 1, 3.0)
    # nearest replaced (slot 0 gets point 6 at x=3, farther than the second nearest at x=2):
    # near becomes the old second, the rescan seeded with (0, 3) beats slot 2 (x=-3, d=3)
    _, (near_i, near_d, seco_i, seco_d), _ = om.apply_swap(D, [1, 5, 2], 0, 6)
    assert (near_i[0], near_d[0], seco_i[0], seco_d[0]) == (1, 2.0, 0, 3.0)


def test_unit_weights_are_bit_identical_to_no_weights():
    D, m0 = random_case(63, 70, 5)
    ones = np.ones(70)
    assert om.build(D, 5, ones) == om.build(D, 5)
    assert om.total_deviation(D, m0, ones) == om.total_deviation(D, m0)
    for fn in (om.fasterpam, om.fastpam1, om.alternate):
        a, b = fn(D, m0, w=ones), fn(D, m0)
        for key in ("medoids", "labels"):
            np.testing.assert_array_equal(a[key], b[key])
        assert (a["loss"], a["n_iter"], a["n_swaps"]) == (b["loss"], b["n_iter"], b["n_swaps"])


@pytest.mark.parametrize("seed", [70, 71, 72])
def test_integer_weights_equal_duplicated_points(seed):
    rng = np.random.RandomState(seed)
    n, k = 40, 4
    X = rng.randn(n, 2)
    w = rng.randint(1, 4, size=n)
    idx = np.repeat(np.arange(n), w)  # point i appears w_i times, copies adjacent
    D, Ddup = euclidean_matrix(X), euclidean_matrix(X[idx])
    # BUILD: the weighted choice equals the choice on the duplicated data
    meds_w = om.build(D, k, w)
    meds_dup = om.build(Ddup, k)
    assert idx[meds_dup].tolist() == meds_w
    # loss
    m0 = rng.choice(n, k, replace=False)
    first_copy = np.searchsorted(idx, m0)
    assert om.total_deviation(D, m0, w) == pytest.approx(
        om.total_deviation(Ddup, first_copy), rel=1e-12
    )
    # k = 1: exact weighted medoid equals the medoid of the duplicated data
    r1 = om.fasterpam(D, [0], w=w)
    r1_dup = om.fasterpam(Ddup, [0])
    assert idx[r1_dup["medoids"]].tolist() == r1["medoids"].tolist()
    assert r1["loss"] == pytest.approx(r1_dup["loss"], rel=1e-12)
    # weighted FasterPAM / FastPAM1 end in a weighted local optimum: no single swap helps
    for fn in (om.fasterpam, om.fastpam1):
        res = fn(D, m0, w=w)
        assert res["loss"] == pytest.approx(om.total_deviation(D, res["medoids"], w), rel=1e-12)
        for j in range(n):
            if j in res["medoids"]:
                continue
            delta, _ = om.score_candidate(D, res["medoids"], j, w)
            assert delta >= -1e-9 * res["loss"]
