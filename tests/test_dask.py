"""partita.dask on a distributed.LocalCluster: results equal the local estimators' for any
chunking (aligned, unaligned, with empty chunks) and number of workers (docs/algorithms.md,
"Chunked loss")."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

import partita  # noqa: E402
from partita import medoids as local_medoids  # noqa: E402
from partita.dask import (  # noqa: E402
    CLARA,
    KernelKMeans,
    ParallelPostFit,
    SinkhornKMeans,
    sinkhorn,
)
from partita.transport import sinkhorn as _sinkhorn  # noqa: E402


def sinkhorn_local(*args, **kwargs):
    # The Dask solver runs the plain iterations (no epsilon-scaling, no Newton tail).
    return _sinkhorn(*args, epsilon_scaling=False, newton=False, **kwargs)


from conftest import assert_unfitted  # noqa: E402

DTYPES = (np.float64, np.float32)


def blobs(n, d=3, centers=4, seed=0, dtype=np.float64):
    X, _ = make_blobs(n, n_features=d, centers=centers, cluster_std=1.5, random_state=seed)
    return X.astype(dtype)


def some_weights(n, seed):
    return np.random.RandomState(seed).uniform(0.1, 3.0, n)


def chunkings(n):
    """Row chunks: aligned (equal), unaligned (odd sizes), and with empty chunks."""
    third = n // 3
    return {
        "aligned": (n // 4,) * 3 + (n - 3 * (n // 4),),
        "unaligned": (7, third - 7, 13, n - third - 13),
        "empty": (0, third, 0, n - third, 0),
    }


CHUNKINGS = ("aligned", "unaligned", "empty")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def chunked(X, name):
    return da.from_array(X, chunks=(chunkings(X.shape[0])[name], X.shape[1]))


# ---- ParallelPostFit ----------------------------------------------------------------------------


def fitted_estimators(X):
    yield partita.KMedoids(4, random_state=0).fit(X)
    yield partita.KMedoids(4, metric="cosine", random_state=0).fit(X)
    yield partita.CLARA(4, random_state=0).fit(X)
    yield partita.SinkhornKMeans(4, random_state=0).fit(X)
    yield partita.KernelKMeans(4, random_state=0).fit(X)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_parallel_post_fit_equals_local(client, dtype, chunking):
    X = blobs(240, seed=1, dtype=dtype)
    new = blobs(150, seed=2, dtype=dtype)
    Xd = chunked(new, chunking)
    cases, lazy = [], []
    for est in fitted_estimators(X):
        for method in ("predict", "transform", "predict_proba"):
            if hasattr(est, method):
                got = getattr(ParallelPostFit(est), method)(Xd)
                assert isinstance(got, da.Array)
                assert got.chunks[0] == Xd.chunks[0]
                cases.append((est, method))
                lazy.append(got)
    for (est, method), out in zip(cases, client.compute(lazy, sync=True)):  # one round trip
        want = getattr(est, method)(new)
        assert out.dtype == want.dtype
        np.testing.assert_array_equal(out, want, err_msg=f"{est!r}.{method}")
    est = cases[0][0]
    np.testing.assert_array_equal(ParallelPostFit(est).predict(new), est.predict(new))
    w = some_weights(150, 3)
    wd = da.from_array(w, chunks=7)  # chunked unlike X: aligned by the wrapper
    for est in {id(e): e for e, _ in cases}.values():
        got = ParallelPostFit(est).score(Xd, sample_weight=wd if chunking != "aligned" else None)
        want = est.score(new, sample_weight=w if chunking != "aligned" else None)
        assert got == pytest.approx(want, rel=1e-12)


def test_parallel_post_fit_fit_and_errors(client):
    X = blobs(120, seed=4)
    post = ParallelPostFit(partita.KMedoids(3, random_state=0)).fit(da.from_array(X, chunks=50))
    ref = partita.KMedoids(3, random_state=0).fit(X)
    np.testing.assert_array_equal(post.estimator_.medoid_indices_, ref.medoid_indices_)
    with pytest.raises(AttributeError, match="predict_proba"):
        post.predict_proba(da.from_array(X, chunks=50))
    multicut = partita.DenseMulticut(offset=0.5, metric="cosine").fit(X)
    with pytest.raises(ValueError, match="not a sum over the samples"):
        ParallelPostFit(multicut).score(da.from_array(X, chunks=50))
    np.testing.assert_array_equal(
        ParallelPostFit(multicut).predict(da.from_array(X, chunks=50)).compute(),
        multicut.predict(X),
    )


# ---- CLARA ------------------------------------------------------------------------------------


def assert_same_clara(dask_est, local):
    np.testing.assert_array_equal(dask_est.medoid_indices_, local.medoid_indices_)
    np.testing.assert_array_equal(dask_est.labels_.compute(), local.labels_)
    np.testing.assert_array_equal(dask_est.sample_losses_, local.sample_losses_)
    assert dask_est.inertia_ == local.inertia_
    np.testing.assert_array_equal(dask_est.cluster_centers_, local.cluster_centers_)
    assert dask_est.cluster_centers_.dtype == local.cluster_centers_.dtype
    assert (dask_est.n_iter_, dask_est.n_swaps_, dask_est.converged_) == (
        local.n_iter_,
        local.n_swaps_,
        local.converged_,
    )


@pytest.fixture
def small_blocks(monkeypatch):
    """Loss blocks of 16 points, so that small data has many blocks split between chunks."""
    monkeypatch.setattr(local_medoids, "LOSS_BLOCK", 16)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_clara_equals_local(client, small_blocks, dtype, chunking, weighted):
    n = 400
    X = blobs(n, seed=5, dtype=dtype)
    w = some_weights(n, 5) if weighted else None
    params = dict(n_clusters=4, n_sampling=2, sample_size=40, random_state=7, n_jobs=1)
    local = partita.CLARA(**params).fit(X, sample_weight=w)
    wd = None if w is None else da.from_array(w, chunks=33)
    got = CLARA(**params).fit(chunked(X, chunking), sample_weight=wd)
    assert isinstance(got.labels_, da.Array)
    assert got.labels_.chunks[0] == chunkings(n)[chunking]
    assert isinstance(got.medoid_indices_, np.ndarray)
    assert_same_clara(got, local)


@pytest.mark.parametrize(
    "metric, init", [("sqeuclidean", "lab"), ("manhattan", "k-medoids++"), ("cosine", "random")]
)
def test_clara_metrics_and_inits(client, small_blocks, metric, init):
    X = blobs(300, seed=6)
    X[10] = X[200]  # a duplicate: ties between coincident points
    params = dict(n_clusters=5, metric=metric, init=init, n_sampling=2, random_state=3)
    local = partita.CLARA(**params).fit(X)
    assert_same_clara(CLARA(**params).fit(chunked(X, "unaligned")), local)


def test_clara_default_block_and_methods(client):
    # More points than one loss block (4096), in chunks that cut blocks.
    X = blobs(5000, d=2, centers=3, seed=8, dtype=np.float32)
    for method in ("fasterpam", "alternate"):
        params = dict(n_clusters=3, method=method, n_sampling=2, random_state=0)
        local = partita.CLARA(**params).fit(X)
        got = CLARA(**params).fit(da.from_array(X, chunks=(1500, 2)))
        assert_same_clara(got, local)


def test_clara_to_local_predict_transform_score(client):
    X = blobs(200, seed=9)
    Xd = chunked(X, "unaligned")
    est = CLARA(3, random_state=1).fit(Xd)
    local = est.to_local()
    assert type(local) is partita.CLARA
    ref = partita.CLARA(3, random_state=1).fit(X)
    np.testing.assert_array_equal(local.labels_, ref.labels_)
    np.testing.assert_array_equal(est.predict(Xd).compute(), ref.predict(X))
    np.testing.assert_array_equal(est.transform(Xd).compute(), ref.transform(X))
    assert est.score(Xd) == pytest.approx(ref.score(X), rel=1e-12)
    np.testing.assert_array_equal(est.fit_predict(Xd).compute(), ref.labels_)


def test_clara_bad_input_leaves_unfitted(client):
    X = blobs(100, seed=10)
    bad = X.copy()
    bad[50, 1] = np.nan
    cases = [
        (CLARA(3), chunked(bad, "unaligned"), None, "NaN or infinity"),
        (CLARA(3, metric="chebyshev"), chunked(X, "aligned"), None, "built into partita"),
        (CLARA(3), chunked(X, "aligned"), -np.ones(100), "non-negative"),
        (CLARA(3), chunked(X, "aligned"), np.zeros(100), "positive sum"),
        (CLARA(3), chunked(X, "aligned"), np.ones(99), "one weight per sample"),
        (CLARA(101), chunked(X, "aligned"), None, "n_clusters=101"),
        (CLARA(3, init=np.arange(3)), chunked(X, "aligned"), None, "draws its own samples"),
        (CLARA(3, n_sampling=0), chunked(X, "aligned"), None, "n_sampling"),
    ]
    for est, data, w, match in cases:
        with pytest.raises(ValueError, match=match):
            est.fit(data, sample_weight=w)
        assert_unfitted(est)


def test_clara_sample_is_not_linear_in_n():
    # 10^12 points: listing them (O(n)) could not even allocate; rejection draws only s.
    rng = np.random.RandomState(0)
    keep = np.array([5, 999_999_999_999], dtype=np.int64)
    sample = local_medoids._clara_sample(rng, 10**12, keep, 100)
    assert len(sample) == len(np.unique(sample)) == 100
    assert set(keep) <= set(sample.tolist())
    assert np.all(np.diff(sample) > 0)
    # Half or more of the points: every one of them can be drawn.
    small = local_medoids._clara_sample(np.random.RandomState(1), 10, np.array([3]), 10)
    np.testing.assert_array_equal(small, np.arange(10))


def test_blocked_loss_order():
    # The loss of CLARA is the sum of blocks summed one by one (docs/algorithms.md, "Chunked
    # loss"): a Python fold of the same terms in that order gives the same bits.
    X = blobs(9000, d=2, seed=11)
    w = some_weights(9000, 11)
    est = partita.CLARA(3, n_sampling=1, random_state=0, n_jobs=2).fit(X, sample_weight=w)
    terms = w * est.transform(X).min(axis=1)
    blocks = []
    for b0 in range(0, 9000, local_medoids.LOSS_BLOCK):
        s = 0.0
        for t in terms[b0 : b0 + local_medoids.LOSS_BLOCK]:
            s += t
        blocks.append(s)
    total = 0.0
    for s in blocks:
        total += s
    assert est.inertia_ == total


# ---- sinkhorn -----------------------------------------------------------------------------------


def transport_problem(n, m, seed, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X, Y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
    C = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(axis=2)
    return C.astype(dtype), rng.uniform(0.5, 2.0, n), rng.uniform(0.5, 2.0, m)


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize("reg_m", [None, 0.5], ids=["balanced", "relaxed"])
def test_sinkhorn_equals_local(client, chunking, reg_m):
    C, a, b = transport_problem(120, 7, 20)
    b *= a.sum() / b.sum()
    local = sinkhorn_local(C, a, b, reg=0.2, reg_m=reg_m, tol=1e-11)
    Cd = da.from_array(C, chunks=(chunkings(120)[chunking], 7))
    got = sinkhorn(Cd, da.from_array(a, chunks=50), b, reg=0.2, reg_m=reg_m, tol=1e-11)
    assert (got.n_iter, got.converged) == (local.n_iter, local.converged)
    np.testing.assert_allclose(got.f, local.f, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got.g, local.g, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got.err, local.err, rtol=1e-2, atol=1e-13)
    assert isinstance(got.plan, da.Array)
    np.testing.assert_allclose(got.plan.compute(), local.plan, rtol=1e-9, atol=1e-15)


def test_sinkhorn_float32_warm_start_and_max_iter(client):
    C, a, b = transport_problem(90, 5, 21, dtype=np.float32)
    Cd = da.from_array(C, chunks=(31, 5))
    local = sinkhorn_local(C, reg=0.5, max_iter=7, tol=0.0)
    got = sinkhorn(Cd, reg=0.5, max_iter=7, tol=0.0)
    assert got.n_iter == local.n_iter == 7 and not got.converged
    assert got.plan.dtype == np.float32
    # float32 costs: the local solver exponentiates in float32, this one in float64.
    np.testing.assert_allclose(got.f, local.f, rtol=0, atol=1e-5)
    warm = sinkhorn(Cd, reg=0.5, f0=local.f, g0=local.g, tol=1e-9)
    assert warm.converged and warm.n_iter < sinkhorn(Cd, reg=0.5, tol=1e-9).n_iter


def test_sinkhorn_without_a_client():
    C, a, b = transport_problem(60, 4, 22)
    local = sinkhorn_local(C, reg=0.3)
    import dask

    with dask.config.set(scheduler="threads"):
        got = sinkhorn(da.from_array(C, chunks=(25, 4)), reg=0.3, return_plan=False)
    assert got.plan is None and got.n_iter == local.n_iter
    np.testing.assert_allclose(got.f, local.f, rtol=0, atol=1e-10)


def test_sinkhorn_bad_input(client):
    C, _, _ = transport_problem(30, 4, 23)
    bad = C.copy()
    bad[3, 1] = np.inf
    for args, kwargs, match in [
        ((da.from_array(bad, chunks=10),), dict(reg=0.1), "NaN or infinity"),
        ((da.from_array(-C, chunks=10),), dict(reg=0.1), "non-negative"),
        ((da.from_array(C, chunks=10),), dict(reg=0.0), "reg must be positive"),
        ((da.from_array(C, chunks=10), np.ones(30), np.ones(4)), dict(reg=0.1), "sum"),
        ((da.from_array(C, chunks=10), np.ones(29)), dict(reg=0.1), "a.shape"),
    ]:
        with pytest.raises(ValueError, match=match):
            sinkhorn(*args, **kwargs)


def test_two_worker_processes():
    # One cluster of processes (slow to start): sinkhorn's ranks talk over sockets, CLARA's
    # chunks are scored in other processes; both as the local estimators.
    C, a, b = transport_problem(200, 6, 24)
    local = sinkhorn_local(C, reg=0.1, tol=1e-10)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        with distributed.Client(cluster):
            Cd = da.from_array(C, chunks=(50, 6))
            got = sinkhorn(Cd, reg=0.1, tol=1e-10, return_plan=False)
            X = C.astype(np.float32)
            clara_local = partita.CLARA(4, n_sampling=2, random_state=2).fit(X, sample_weight=a)
            clara = CLARA(4, n_sampling=2, random_state=2).fit(
                da.from_array(X, chunks=(70, 6)), sample_weight=da.from_array(a, chunks=70)
            )
            assert_same_clara(clara, clara_local)
    assert got.n_iter == local.n_iter
    np.testing.assert_allclose(got.f, local.f, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got.g, local.g, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ["_post_fit", "_medoids", "_transport"])
def test_docstring_examples(name):
    # The classes live in private modules, which tests/test_docstrings.py does not walk.
    import doctest
    import importlib

    module = importlib.import_module(f"partita.dask.{name}")
    assert doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_socket_comm_allgather_in_rank_order():
    # Three ranks in threads: every rank gets every rank's object, in rank order, every round.
    import socket
    import threading

    from partita.dask._comm import SerialComm, SocketComm

    assert SerialComm().allgather("x") == ["x"]
    address, results = {}, {}
    published = threading.Event()

    def publish(host, port):
        address["at"] = (host, port)
        published.set()

    def lookup():
        assert published.wait(30)
        return address["at"]

    def rank(r):
        if r == 0:
            comm = SocketComm(0, 3, server=socket.create_server(("127.0.0.1", 0)), publish=publish)
        else:
            comm = SocketComm(r, 3, lookup=lookup, timeout=30)
        results[r] = [comm.allgather((r, round_, np.full(2, r))) for round_ in range(3)]
        comm.close()

    threads = [threading.Thread(target=rank, args=(r,)) for r in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [0, 1, 2]
    for r in range(3):
        for round_, got in enumerate(results[r]):
            assert [(a, b) for a, b, _ in got] == [(0, round_), (1, round_), (2, round_)]
            np.testing.assert_array_equal(np.stack([c for _, _, c in got])[:, 0], [0, 1, 2])


# ---- KernelKMeans --------------------------------------------------------------------------------


def assert_same_kernel_kmeans(dask_km, local_km):
    np.testing.assert_array_equal(dask_km.labels_.compute(), local_km.labels_)
    assert dask_km.inertia_ == local_km.inertia_
    assert dask_km.n_iter_ == local_km.n_iter_
    assert dask_km.n_reseeded_ == local_km.n_reseeded_
    np.testing.assert_array_equal(dask_km._centre_labels, local_km._centre_labels)
    np.testing.assert_array_equal(dask_km._centre_weights, local_km._centre_weights)
    np.testing.assert_array_equal(dask_km._centre_norms, local_km._centre_norms)


@pytest.mark.parametrize("name", CHUNKINGS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "params",
    [
        dict(kernel="rbf"),
        dict(kernel="linear", n_init=2),
        dict(kernel="poly", gamma=0.1, tol=0.0),
    ],
)
def test_kernel_kmeans_equals_local_bit_for_bit(client, name, dtype, params):
    X, w = blobs(200, centers=5, seed=2, dtype=dtype), some_weights(200, 3)
    params = dict(n_clusters=5, random_state=0, **params)
    local_km = partita.KernelKMeans(**params).fit(X, sample_weight=w)
    dask_km = KernelKMeans(**params).fit(chunked(X, name), sample_weight=w)
    assert_same_kernel_kmeans(dask_km, local_km)
    assert dask_km.labels_.chunks[0] == chunkings(200)[name]
    np.testing.assert_array_equal(dask_km.predict(chunked(X, name)).compute(), local_km.labels_)
    np.testing.assert_array_equal(dask_km.to_local().labels_, local_km.labels_)


def test_kernel_kmeans_reseeds_and_stops_like_local(client):
    # Seeds on copies of one point leave clusters empty (re-seeded); max_iter=1 stops early.
    X = np.repeat(blobs(50, centers=5, seed=4), 4, axis=0)
    for params in (
        dict(n_clusters=6, init=[0, 1, 2, 3, 40, 80]),
        dict(n_clusters=9, max_iter=1, init="random", tol=0.0, kernel="linear"),
    ):
        params = dict(dict(n_clusters=5, random_state=1), **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            local_km = partita.KernelKMeans(**params).fit(X)
            dask_km = KernelKMeans(**params).fit(chunked(X, "unaligned"))
        assert_same_kernel_kmeans(dask_km, local_km)
        assert local_km.n_reseeded_ > 0 or not local_km.converged_


def test_kernel_kmeans_without_distributed_client():
    X = blobs(60, centers=3, seed=5)
    local_km = partita.KernelKMeans(n_clusters=3, random_state=0).fit(X)
    dask_km = KernelKMeans(n_clusters=3, random_state=0)
    with dask.config.set(scheduler="threads"):
        dask_km.fit(da.from_array(X, chunks=(25, 3)))
    assert_same_kernel_kmeans(dask_km, local_km)


@pytest.mark.parametrize(
    "params, match",
    [(dict(kernel="cosine"), "kernels built into partita"), (dict(gram="blocked"), "gram")],
)
def test_kernel_kmeans_bad_parameters(client, params, match):
    km = KernelKMeans(n_clusters=2, **params)
    with pytest.raises(ValueError, match=match):
        km.fit(chunked(blobs(40), "aligned"))
    assert_unfitted(km)


# ---- SinkhornKMeans ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, dtype, params",
    [
        ("aligned", np.float64, dict(reg=0.2)),
        ("empty", np.float32, dict(reg=0.1, reg_m=1.0, n_init=2)),
        ("unaligned", np.float64, dict(reg=0.2, tol=0.0)),
    ],
)
def test_sinkhorn_kmeans_equals_local_sinkhorn_path(client, monkeypatch, name, dtype, params):
    # The local estimator on its Sinkhorn path (the one above 64 clusters): the same
    # iterations, so the same labels, and centres and potentials within 1e-10.
    X, w = blobs(120, centers=4, seed=6, dtype=dtype), some_weights(120, 7)
    params = dict(n_clusters=4, random_state=0, **params)
    monkeypatch.setattr(partita.transport, "_NEWTON_MAX_COLUMNS", 0)
    local_km = partita.SinkhornKMeans(**params).fit(X, sample_weight=w)
    monkeypatch.undo()
    dask_km = SinkhornKMeans(**params).fit(chunked(X, name), sample_weight=w)
    np.testing.assert_array_equal(dask_km.labels_.compute(), local_km.labels_)
    assert dask_km.labels_.chunks[0] == chunkings(120)[name]
    assert dask_km.n_iter_ == local_km.n_iter_
    assert dask_km.converged_ == local_km.converged_
    np.testing.assert_allclose(dask_km.cluster_centers_, local_km.cluster_centers_, atol=1e-10)
    np.testing.assert_allclose(
        dask_km.cluster_potentials_, local_km.cluster_potentials_, rtol=0, atol=1e-10
    )
    np.testing.assert_allclose(dask_km.cluster_sizes_, local_km.cluster_sizes_, rtol=1e-10)
    np.testing.assert_allclose(dask_km.inertia_, local_km.inertia_, rtol=1e-10)
    local = dask_km.to_local()
    assert type(local) is partita.SinkhornKMeans
    np.testing.assert_array_equal(dask_km.predict(chunked(X, name)).compute(), local.predict(X))
    # score and transform chunk by chunk, like the other Dask estimators
    assert isinstance(dask_km.transform(chunked(X, name)), da.Array)
    assert dask_km.score(chunked(X, name)) == pytest.approx(local.score(X), rel=1e-12)


def test_sinkhorn_kmeans_refuses_partial_transport(client):
    km = SinkhornKMeans(n_clusters=2, mass=0.5)
    with pytest.raises(ValueError, match="mass must be 1"):
        km.fit(chunked(blobs(40), "aligned"))
    assert_unfitted(km)
