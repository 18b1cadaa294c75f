"""partita._gpu_arrays: GPU arrays in place through __cuda_array_interface__ and DLPack, NumPy
copied once. The parsing and validation need no GPU: fake producers stand in for CuPy / PyTorch."""

import warnings

import numpy as np
import pytest
from cuda_backends import EMULATED_BACKENDS

import partita
from partita import _gpu_arrays as ga


class FakeCudaArray:
    """Exposes a NumPy array's memory as if it were device memory (as CuPy would)."""

    def __init__(self, host, version=3, stream=None, strides="auto", **extra):
        self.host = host
        self.__cuda_array_interface__ = {
            "shape": host.shape,
            "typestr": host.dtype.str,
            "data": (host.ctypes.data, False),
            "version": version,
            "strides": None if (strides == "auto" and host.flags.c_contiguous) else host.strides,
            **({"stream": stream} if version >= 3 else {}),
            **extra,
        }


class FakeDLPackCuda:
    """A DLPack producer that claims CUDA memory (the capsule is NumPy's, so it can be parsed)."""

    def __init__(self, host):
        self.host, self.streams = host, []

    def __dlpack_device__(self):
        return (ga.DL_CUDA, 0)

    def __dlpack__(self, stream=None):
        self.streams.append(stream)
        capsule = self.host.__dlpack__()
        # NumPy's capsule says CPU: relabel it as CUDA memory (its deleter does not look).
        address = ga._capsule_pointer(capsule, b"dltensor")
        ga._DLManagedTensor.from_address(address).dl_tensor.device.device_type = ga.DL_CUDA
        return capsule


def test_cuda_array_interface_gives_pointer_shape_strides_dtype():
    host = np.arange(12, dtype=np.float32).reshape(3, 4)
    arr = ga.as_device_array(FakeCudaArray(host))
    assert arr.on_device and arr.ptr == host.ctypes.data
    assert arr.shape == (3, 4) and arr.strides == (4, 1) and arr.dtype == np.float32


def test_cuda_array_interface_strides_are_converted_to_elements():
    host = np.zeros((5, 8))[:, :6]
    arr = ga.as_device_array(FakeCudaArray(host))
    assert arr.strides == (8, 1)
    t = np.zeros((4, 3)).T
    assert ga.as_device_array(FakeCudaArray(t)).strides == (1, 3)


@pytest.mark.parametrize(
    "stream, synchronised", [(None, []), (1, []), (2, [2]), (0x7F00DEAD, [0x7F00DEAD])]
)
def test_the_producers_stream_is_synchronised(stream, synchronised):
    calls = []
    ga.as_device_array(FakeCudaArray(np.zeros(3), stream=stream), synchronize=calls.append)
    assert calls == synchronised


def test_version_2_has_no_stream_to_synchronise():
    calls = []
    ga.as_device_array(FakeCudaArray(np.zeros(3), version=2), synchronize=calls.append)
    assert calls == []


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"stream": 0}, ValueError, "ambiguous"),
        ({"stream": "s"}, ValueError, "stream"),
        ({"version": 1}, ValueError, "version"),
        ({"mask": object()}, ValueError, "masked"),
        ({"typestr": "<f2"}, TypeError, "unsupported dtype"),
        ({"typestr": ">f8"}, TypeError, "byte order"),
        ({"strides": (12, 4)}, ValueError, "multiples"),
        ({"strides": (8,)}, ValueError, "strides"),
        ({"data": (0, False)}, ValueError, "null"),
        ({"data": 5}, ValueError, "pointer"),
    ],
)
def test_cuda_array_interface_is_validated(change, error, match):
    fake = FakeCudaArray(np.zeros((2, 3)))
    fake.__cuda_array_interface__.update(change)
    with pytest.raises(error, match=match):
        ga.as_device_array(fake, synchronize=lambda s: None)


def test_cuda_array_interface_missing_keys():
    fake = FakeCudaArray(np.zeros(2))
    del fake.__cuda_array_interface__["typestr"]
    with pytest.raises(ValueError, match="typestr"):
        ga.as_device_array(fake)


def test_dlpack_capsule_is_parsed():
    host = np.arange(6, dtype=np.int64).reshape(2, 3)
    device_type, _, ptr, shape, strides, dtype = ga.parse_dlpack_capsule(host.__dlpack__())
    assert device_type == ga.DL_CPU and ptr == host.ctypes.data
    assert shape == (2, 3) and strides == (3, 1) and dtype == np.int64


def test_dlpack_cuda_producer_is_read_in_place_on_the_default_stream():
    host = np.arange(20.0).reshape(4, 5)[:, 1:]
    fake = FakeDLPackCuda(host)
    arr = ga.as_device_array(fake)
    assert fake.streams == [ga.LEGACY_DEFAULT_STREAM]
    assert arr.on_device and arr.ptr == host.ctypes.data
    assert arr.shape == (4, 4) and arr.strides == (5, 1) and arr.dtype == np.float64


class FakeBothInterfaces(FakeDLPackCuda):
    """A producer with DLPack and a __cuda_array_interface__ of the given version (PyTorch: 2)."""

    def __init__(self, host, version):
        super().__init__(host)
        self.__cuda_array_interface__ = FakeCudaArray(
            host, version=version, stream=7
        ).__cuda_array_interface__


def test_an_interface_without_a_stream_gives_way_to_dlpack():
    # Version 2 cannot name the producer's stream: DLPack orders its work before the kernels'.
    fake = FakeBothInterfaces(np.zeros((2, 3)), version=2)
    calls = []
    arr = ga.as_device_array(fake, synchronize=calls.append)
    assert fake.streams == [ga.LEGACY_DEFAULT_STREAM] and calls == []
    assert arr.on_device and arr.ptr == fake.host.ctypes.data
    # Version 3 names it: that stream is synchronised, DLPack is not asked.
    fake = FakeBothInterfaces(np.zeros((2, 3)), version=3)
    ga.as_device_array(fake, synchronize=calls.append)
    assert fake.streams == [] and calls == [7]


def test_a_used_capsule_is_refused():
    class Used(FakeDLPackCuda):
        def __dlpack__(self, stream=None):
            return object()

    with pytest.raises(ValueError, match="capsule"):
        ga.as_device_array(Used(np.zeros(2)))


def test_numpy_and_sequences_are_host_arrays():
    a = ga.as_device_array([[1.0, 2.0], [3.0, 4.0]])
    assert not a.on_device and a.shape == (2, 2) and a.dtype == np.float64
    # a CPU DLPack producer (NumPy itself) stays on the host
    assert not ga.as_device_array(np.zeros(3, np.float32)).on_device
    # rows whose entries are not contiguous are copied once, here
    t = ga.as_device_array(np.zeros((3, 4)).T)
    assert t.strides == (3, 1)
    with pytest.raises(TypeError, match="unsupported dtype"):
        ga.as_device_array(np.zeros(3, np.complex128))


def test_device_arrays_are_not_converted():
    with pytest.raises(TypeError, match="convert it first"):
        ga.as_device_array(FakeCudaArray(np.zeros(3, np.float32)), dtype=np.float64)


@pytest.mark.parametrize("backend", EMULATED_BACKENDS)
def test_a_device_array_reaches_the_kernel_without_a_copy(backend):
    # The emulator's device memory is host memory, so a fake GPU array is a real one there.
    from oracles import medoids as oracle

    mod = backend.module()
    x = np.random.default_rng(0).random((30, 2))
    D = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    fake = FakeCudaArray(D, stream=1)
    before = mod.allocated_bytes()
    a = mod.medoids.assign(ga.as_device_array(fake).array_ref(mod), np.array([4, 9]))
    assert mod.allocated_bytes() == before
    np.testing.assert_array_equal(a.near_i, oracle.initial_assignment(D, [4, 9])[0])


def _gpu_library(name):
    with warnings.catch_warnings():  # a library's own import-time warnings are not under test
        warnings.simplefilter("ignore")
        return pytest.importorskip(name)


def _slow_distances_on(library, x):
    """The distance matrix of x, computed on the current stream of `library` after ~50 ms of
    other work there, so that a reader that does not wait for that stream reads it unwritten."""
    if library == "torch":
        torch = _gpu_library("torch")
        X = torch.as_tensor(x, device="cuda")
        torch.cuda._sleep(100_000_000)
        return torch.cdist(X, X)
    cupy = _gpu_library("cupy")
    busy = cupy.full((4096, 4096), 1 / 4096)  # a fixed point of busy @ busy
    for _ in range(20):
        busy = busy @ busy
    X = cupy.asarray(x)
    return cupy.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)) + 0 * busy[0, 0]


@pytest.mark.cuda
@pytest.mark.skipif(not partita.cuda_available(), reason="no usable CUDA GPU")
@pytest.mark.parametrize("library", ["torch", "cupy"])
def test_an_array_made_on_a_side_stream_is_read_after_its_producer(library):
    # PyTorch's side streams do not wait for the legacy default stream, nor it for them, and its
    # __cuda_array_interface__ (version 2) names no stream: read through DLPack. CuPy's (version 3)
    # names its current stream, which is synchronised.
    from partita import _backend

    cuda = _backend._cuda
    x = np.random.default_rng(0).random((2000, 8))
    med = np.array([3, 700, 1999, 42])
    lib = _gpu_library(library)
    stream = lib.cuda.Stream() if library == "torch" else lib.cuda.Stream(non_blocking=True)
    with lib.cuda.stream(stream) if library == "torch" else stream:
        D = _slow_distances_on(library, x)
        a = cuda.medoids.assign(ga.as_device_array(D, name="D").array_ref(cuda), med)
    stream.synchronize()
    D_host = D.cpu().numpy() if library == "torch" else D.get()
    np.testing.assert_array_equal(a.near_i, np.argmin(D_host[med], axis=0))
    np.testing.assert_array_equal(a.near_d, D_host[med].min(axis=0))
