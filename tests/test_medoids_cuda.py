"""The k-medoids GPU kernels (partita._cuda.medoids) against the CPU kernels and the oracle,
on the CPU emulator under its three thread schedules and on a real GPU when there is one."""

import warnings

import numpy as np
import pytest
from cuda_backends import CUDA_BACKENDS, EMULATED_BACKENDS

import partita
from partita import _core

from oracles import medoids as oracle


def cpu_labels_and_loss(D, medoids):
    """The CPU assignment (labels, weighted loss with unit weights)."""
    med = np.asarray(medoids, dtype=np.int64)
    w = np.ones(D.shape[0])
    if hasattr(_core, "medoids"):
        r = _core.medoids.assign(D, med, w, 1)
        return np.asarray(r.labels), r.loss
    labels, _, loss = _core.kmedoids_assign(D, med, w, 1)
    return np.asarray(labels), loss


def random_matrix(n, dtype, seed):
    x = np.random.default_rng(seed).random((n, 3))
    D = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    return np.ascontiguousarray(D.astype(dtype))


def tied_matrix(n, seed):
    """Small integer distances: many ties, and duplicate points (zero off the diagonal)."""
    v = np.random.default_rng(seed).integers(0, 4, size=n)
    return np.abs(v[:, None] - v[None, :]).astype(np.float64)


def check_against_references(a, D, med):
    near_i, near_d, seco_i, seco_d = oracle.initial_assignment(D, med)
    np.testing.assert_array_equal(a.near_i, near_i)
    np.testing.assert_array_equal(a.near_d, near_d.astype(D.dtype))
    assert a.near_d.dtype == D.dtype
    if len(med) > 1:
        np.testing.assert_array_equal(a.seco_i, seco_i)
        np.testing.assert_array_equal(a.seco_d, seco_d.astype(D.dtype))
    else:  # no second medoid: unset, as the CPU leaves it
        assert (a.seco_i == -1).all() and (a.seco_d == 0).all()
    labels, loss = cpu_labels_and_loss(D, med)
    np.testing.assert_array_equal(a.near_i, labels)
    assert float(np.sum(a.near_d.astype(np.float64))) == pytest.approx(loss, rel=1e-12)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, k", [(1, 1), (33, 1), (33, 2), (70, 5), (70, 19), (45, 45)])
def test_assign_matches_cpu_and_oracle(backend, dtype, n, k):
    mod = backend.module()
    D = random_matrix(n, dtype, seed=n + k)
    med = np.random.default_rng(k).permutation(n)[:k]
    check_against_references(mod.medoids.assign(D, med), D, med)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
@pytest.mark.parametrize("seed", range(4))
def test_assign_ties_go_to_the_lower_slot_and_a_medoid_is_its_own_nearest(backend, seed):
    mod = backend.module()
    D = tied_matrix(50, seed)
    med = np.random.default_rng(seed).permutation(50)[:11]
    a = mod.medoids.assign(D, med)
    check_against_references(a, D, med)
    np.testing.assert_array_equal(a.near_i[med], np.arange(len(med)))


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_assign_reads_padded_rows(backend):
    mod = backend.module()
    D = random_matrix(40, np.float64, seed=3)
    padded = np.zeros((40, 47))
    padded[:, :40] = D
    med = np.array([5, 0, 39])
    a = mod.medoids.assign(padded[:, :40], med)
    check_against_references(a, D, med)


@pytest.mark.parametrize("backend", EMULATED_BACKENDS)
def test_assign_reads_device_arrays_in_place(backend):
    # The emulator's device memory is host memory: an ArrayRef marked on_device points at it.
    mod = backend.module()
    D = random_matrix(30, np.float32, seed=4)
    ref = mod.ArrayRef(D.ctypes.data, D.shape, (30, 1), mod.DType.float32, True)
    med = np.array([1, 2, 3])
    check_against_references(mod.medoids.assign(ref, med), D, med)


@pytest.mark.parametrize("backend", CUDA_BACKENDS)
def test_assign_rejects_bad_input(backend):
    mod = backend.module()
    D = random_matrix(10, np.float64, seed=0)
    with pytest.raises(ValueError, match="square"):
        mod.medoids.assign(D[:, :9].copy(), np.array([0]))
    with pytest.raises(ValueError, match="repeated"):
        mod.medoids.assign(D, np.array([1, 1]))
    with pytest.raises(ValueError, match="out of range"):
        mod.medoids.assign(D, np.array([10]))
    with pytest.raises(ValueError, match="at least one"):
        mod.medoids.assign(D, np.array([], dtype=np.int64))
    with pytest.raises(ValueError, match="float32 or float64"):
        mod.medoids.assign(D.astype(np.int64), np.array([0]))


@pytest.mark.parametrize("backend", EMULATED_BACKENDS[:1])
def test_assign_indexes_past_two_to_the_31_entries(backend):
    # Entry (j, o) of an n x n matrix is at j * n + o, past 2^31 in the last rows for n > 46341:
    # 32-bit index arithmetic would read elsewhere. The 10 GB matrix is a lazily mapped region
    # of which only the medoids' rows are ever touched (written here, read by the kernel).
    import mmap

    mod = backend.module()
    n = 50_000
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_NORESERVE", 0)
    try:
        region = mmap.mmap(-1, n * n * 4, flags=flags)
    except (OSError, OverflowError, ValueError):
        pytest.skip("no 10 GB of address space to map")
    D = np.frombuffer(region, dtype=np.float32).reshape(n, n)
    med = np.array([n - 1, 7])
    rows = np.random.default_rng(0).random((2, n)).astype(np.float32) + 0.5
    rows[0, n - 1] = rows[1, 7] = 0
    D[med] = rows
    ref = mod.ArrayRef(D.ctypes.data, [n, n], [n, 1], mod.DType.float32, True)
    a = mod.medoids.assign(ref, med)
    np.testing.assert_array_equal(a.near_i, np.argmin(rows, axis=0))
    np.testing.assert_array_equal(a.near_d, rows.min(axis=0))
    np.testing.assert_array_equal(a.seco_d, rows.max(axis=0))


@pytest.mark.cuda
@pytest.mark.skipif(not partita.cuda_available(), reason="no usable CUDA GPU")
def test_assign_on_the_gpu_indexes_past_two_to_the_31_entries():
    # As above, on the GPU: a 10 GB matrix made there by PyTorch, of which only the medoids'
    # rows are set and read.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch = pytest.importorskip("torch")
    from partita import _backend
    from partita._gpu_arrays import as_device_array

    cuda = _backend._cuda
    n = 50_000
    med = np.array([n - 1, 7])
    rows = np.random.default_rng(0).random((2, n)).astype(np.float32) + 0.5
    rows[0, n - 1] = rows[1, 7] = 0
    D = torch.empty((n, n), dtype=torch.float32, device="cuda")
    D[torch.as_tensor(med, device="cuda")] = torch.as_tensor(rows, device="cuda")
    try:
        a = cuda.medoids.assign(as_device_array(D).array_ref(cuda), med)
    finally:
        del D
        torch.cuda.empty_cache()
    np.testing.assert_array_equal(a.near_i, np.argmin(rows, axis=0))
    np.testing.assert_array_equal(a.near_d, rows.min(axis=0))
    np.testing.assert_array_equal(a.seco_d, rows.max(axis=0))


@pytest.mark.parametrize("backend", EMULATED_BACKENDS)
def test_an_allocation_beyond_free_device_memory_is_a_memory_error(backend):
    mod = backend.module()
    D = random_matrix(64, np.float64, seed=0)
    total = mod.device_memory()
    mod.set_device_memory(16 * 1024)
    try:
        with pytest.raises(MemoryError, match=r"32768 bytes") as info:
            mod.medoids.assign(D, np.array([0, 1]))
        assert isinstance(info.value, mod.OutOfDeviceMemory)
    finally:
        mod.set_device_memory(total)
    assert mod.allocated_bytes() == 0  # the RAII buffers gave everything back
