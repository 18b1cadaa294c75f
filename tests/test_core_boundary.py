"""The private compiled functions check the indices they dereference (a ValueError, never an
out-of-bounds read), so that no caller of ``partita._core`` can corrupt memory, and touch
their Python arguments only while they hold the GIL."""

import sys
import threading

import numpy as np
import pytest

from partita import _core

med = _core.medoids
kkm = _core.kernel_kmeans
mc = _core.multicut

N = 10
X = np.random.RandomState(0).rand(N, 3)
ONES = np.ones(N)


def idx(*values):
    return np.array(values, dtype=np.int64)


def sources():
    space = med.FeatureSpace64(X, med.Metric.euclidean)
    return {"matrix": space.distance_matrix(1), "on the fly": space}


@pytest.fixture(params=["matrix", "on the fly"])
def source(request):
    return sources()[request.param]


@pytest.mark.parametrize(
    "method", list(med.Method.__members__.values()), ids=list(med.Method.__members__)
)
@pytest.mark.parametrize(
    "medoids, match",
    [
        (idx(0, 50, 3), "out of range"),
        (idx(-1, 2), "out of range"),
        (idx(1, 1, 2), "repeated"),
        (idx(), r"number of medoids must be in \[1, 10\]"),
        (np.arange(N + 1, dtype=np.int64), r"number of medoids must be in \[1, 10\]"),
    ],
)
def test_optimise_checks_its_medoids(source, method, medoids, match):
    with pytest.raises(ValueError, match=match):
        med.optimise(source, medoids, ONES, method, 10, 1)


def test_optimise_checks_max_iter(source):
    with pytest.raises(ValueError, match="max_iter"):
        med.optimise(source, idx(0, 1), ONES, med.Method.fasterpam, -1, 1)


@pytest.mark.parametrize("medoids", [idx(0, 50), idx(-3), idx()])
def test_assign_checks_its_medoids(source, medoids):
    with pytest.raises(ValueError, match="out of range|at least one"):
        med.assign(source, medoids, ONES, 1)


def test_assign_accepts_a_repeated_medoid(source):
    labels = med.assign(source, idx(2, 2, 5), ONES, 1).labels
    assert labels[2] in (0, 1) and labels[5] == 2


@pytest.mark.parametrize("k", [0, -1, N + 1, 2**62])
def test_initialisations_check_k(source, k):
    with pytest.raises(ValueError, match=r"k must be in \[1, 10\]"):
        med.build(source, k, ONES, 1)
    with pytest.raises(ValueError, match=r"k must be in \[1, 10\]"):
        med.kmedoids_plusplus(source, k, ONES, 0, 1)
    params = med.ClaransParams(n_clusters=k, n_local=1, max_neighbors=5, seed=0)
    with pytest.raises(ValueError, match=r"n_clusters must be in \[1, 10\]"):
        med.clarans(source, ONES, params, 1)


def test_clarans_checks_its_search(source):
    with pytest.raises(ValueError, match="n_local"):
        med.clarans(source, ONES, med.ClaransParams(n_clusters=2, n_local=0), 1)
    with pytest.raises(ValueError, match="max_neighbors"):
        med.clarans(source, ONES, med.ClaransParams(n_clusters=2, max_neighbors=-1), 1)


@pytest.mark.parametrize(
    "samples, match",
    [
        (np.array([[0, 1, 99], [2, 3, 4]]), "out of range"),
        (np.array([[0, 1, 2], [-1, 3, 4]]), "out of range"),
        (np.zeros((N + 1, 2), dtype=np.int64), "number of sample rows"),
        (np.zeros((0, 2), dtype=np.int64), "number of sample rows"),
    ],
)
def test_lab_checks_its_samples(source, samples, match):
    with pytest.raises(ValueError, match=match):
        med.lab(source, np.ascontiguousarray(samples, dtype=np.int64), ONES, 1)


@pytest.mark.parametrize("indices", [idx(0, N), idx(-1), idx(2**40)])
def test_distance_rows_check_their_indices(indices):
    space = med.FeatureSpace64(X, med.Metric.euclidean)
    with pytest.raises(ValueError, match="out of range"):
        space.distances_to(indices, 1)


@pytest.mark.parametrize("indices", [idx(0, N), idx(-1), idx(2**40)])
def test_gram_rows_check_their_indices(indices):
    features = kkm.KernelFeatures64(X, kkm.KernelParams())
    with pytest.raises(ValueError, match="out of range"):
        features.rows(indices, 1)


@pytest.mark.parametrize("seeds", [idx(0, N), idx(-1, 2), idx()])
def test_lloyd_checks_its_seeds(seeds):
    features = kkm.KernelFeatures64(X, kkm.KernelParams())
    with pytest.raises(ValueError, match="seed"):
        kkm.lloyd(features, seeds, ONES, kkm.LloydParams())


def test_knn_checks_k():
    with pytest.raises(ValueError, match="k must be >= 0"):
        mc.knn_positive(X, ONES, 0.0, -1, mc.Metric.dot, 1)


def test_multicut_objective_checks_its_labels():
    with pytest.raises(ValueError, match="out of range"):
        mc.objective(X, np.full(N, 3, dtype=np.int64), 3, 0.0, mc.Metric.dot)


def test_valid_indices_still_run(source):
    r = med.optimise(source, idx(0, 1, 2), ONES, med.Method.fasterpam, 10, 1)
    assert sorted(r.medoids) == sorted(set(r.medoids)) and len(r.labels) == N
    assert len(med.build(source, N, ONES, 1)) == N


def test_multicut_bindings_leave_numpy_reference_counts_alone_under_threads():
    """The bindings read their arrays with the GIL held: touching them after releasing it
    raced with other threads on the reference counts of NumPy's dtypes (a drift here)."""
    Xd = np.random.RandomState(0).rand(200, 8)
    X32, ones, zeros = Xd.astype(np.float32), np.ones(200), np.zeros(200, dtype=np.int64)
    params = mc.Params(offset=2.0, n_threads=1)
    expected = mc.solve(Xd, params).labels
    wrong = []

    def call_kernels():
        for _ in range(300):
            if not np.array_equal(mc.solve(Xd, params).labels, expected):
                wrong.append(1)
            mc.objective(X32, zeros, 1, 2.0, mc.Metric.dot)
            mc.knn_positive(Xd, ones, 2.0, 5, mc.Metric.dot, 1)

    def copy_arrays():  # takes and drops references to the same dtypes meanwhile
        for _ in range(40000):
            Xd[::2].copy()
            X32[::2].copy()

    dtypes = np.dtype(np.float64), np.dtype(np.float32)
    before = [sys.getrefcount(d) for d in dtypes]
    threads = [threading.Thread(target=call_kernels) for _ in range(3)]
    threads += [threading.Thread(target=copy_arrays) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [sys.getrefcount(d) for d in dtypes] == before
    assert not wrong
