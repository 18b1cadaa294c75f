"""Arrays for the GPU kernels: device arrays read in place, NumPy arrays copied once.

A GPU array (CuPy, PyTorch, Numba, JAX...) is described by ``__cuda_array_interface__``
(version 2 or 3) or by DLPack (``__dlpack__`` / ``__dlpack_device__``); either way the kernels get
its device pointer, shape, strides (in elements) and dtype, and read it where it is. The producer's
pending work on the array is waited for first: the interface's ``stream`` is synchronised, and
DLPack is asked to order its work before the legacy default stream, on which partita's kernels
run. An interface of version 2 (PyTorch's) names no stream, so an array that offers DLPack as well
is read through DLPack. Anything else goes through ``numpy.asarray`` and is copied to the device
once by the kernel.

Python validates here; ``partita._cuda.ArrayRef`` (built by :meth:`DeviceArray.array_ref`)
carries the result to C++.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

SUPPORTED_DTYPES = (
    np.dtype(np.float32),
    np.dtype(np.float64),
    np.dtype(np.int32),
    np.dtype(np.int64),
)

# DLPack device types (dlpack.h)
DL_CPU, DL_CUDA, DL_CUDA_HOST, DL_CUDA_MANAGED = 1, 2, 3, 13
# __cuda_array_interface__ stream values with a meaning of their own
LEGACY_DEFAULT_STREAM, PER_THREAD_DEFAULT_STREAM = 1, 2


@dataclass(frozen=True)
class DeviceArray:
    """A view the kernels can read: ``ptr`` (device memory when ``on_device``, else host memory
    to be copied once), ``shape``, ``strides`` in elements, ``dtype``. ``owner`` keeps the memory
    alive for as long as this object lives."""

    ptr: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    dtype: np.dtype
    on_device: bool
    owner: Any = field(default=None, repr=False, compare=False)

    @property
    def ndim(self):
        return len(self.shape)

    def array_ref(self, module):
        """The ``ArrayRef`` of a compiled CUDA module (``partita._cuda`` or its emulated twin)."""
        return module.ArrayRef(
            self.ptr,
            list(self.shape),
            list(self.strides),
            getattr(module.DType, self.dtype.name),
            self.on_device,
        )


def _check_dtype(dtype, name):
    dtype = np.dtype(dtype)
    if not dtype.isnative:
        raise TypeError(f"{name}: byte order {dtype.str!r} is not the machine's")
    if dtype not in SUPPORTED_DTYPES:
        raise TypeError(
            f"{name}: unsupported dtype {dtype} (expected one of "
            f"{', '.join(d.name for d in SUPPORTED_DTYPES)})"
        )
    return dtype


def _element_strides(shape, byte_strides, itemsize, name):
    if byte_strides is None:  # C-contiguous
        strides, step = [], 1
        for n in reversed(shape):
            strides.append(step)
            step *= n
        return tuple(reversed(strides))
    if len(byte_strides) != len(shape):
        raise ValueError(f"{name}: {len(shape)} dimensions but {len(byte_strides)} strides")
    if any(int(s) % itemsize for s in byte_strides):
        raise ValueError(
            f"{name}: strides {tuple(byte_strides)} are not multiples of the item size {itemsize}"
        )
    return tuple(int(s) // itemsize for s in byte_strides)


def _default_synchronize(stream):
    from . import _backend

    if _backend._cuda is None:
        raise RuntimeError("cannot synchronise a CUDA stream: partita was built without CUDA")
    _backend._cuda.synchronize_stream(stream)


def from_cuda_array_interface(obj, synchronize: Callable[[int], None] | None = None, name="array"):
    """The :class:`DeviceArray` of an object exposing ``__cuda_array_interface__``.

    ``synchronize(stream)`` is called with the interface's stream (version 3) unless that is
    absent / None or the legacy default stream, which partita's kernels run on and so follow
    anyway. The default waits with ``cudaStreamSynchronize``.
    """
    iface = obj.__cuda_array_interface__
    if not isinstance(iface, dict):
        raise TypeError(f"{name}: __cuda_array_interface__ must be a dict")
    missing = {"shape", "typestr", "data", "version"} - set(iface)
    if missing:
        raise ValueError(f"{name}: __cuda_array_interface__ lacks {sorted(missing)}")
    version = iface["version"]
    if not isinstance(version, int) or version < 2:
        raise ValueError(
            f"{name}: __cuda_array_interface__ version {version!r} is not supported (2 or later)"
        )
    if iface.get("mask") is not None:
        raise ValueError(f"{name}: masked arrays are not supported")
    shape = tuple(int(n) for n in iface["shape"])
    if any(n < 0 for n in shape):
        raise ValueError(f"{name}: negative extent in shape {shape}")
    dtype = _check_dtype(iface["typestr"], name)
    data = iface["data"]
    if not (isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], int)):
        raise ValueError(f"{name}: 'data' must be a (pointer, read_only) tuple")
    ptr = data[0]
    if ptr == 0 and 0 not in shape:
        raise ValueError(f"{name}: null device pointer for a non-empty array")
    strides = _element_strides(shape, iface.get("strides"), dtype.itemsize, name)
    stream = iface.get("stream") if version >= 3 else None
    if stream is not None:
        if isinstance(stream, bool) or not isinstance(stream, int):
            raise ValueError(f"{name}: 'stream' must be an integer or None, got {stream!r}")
        if stream == 0:
            raise ValueError(f"{name}: 'stream' 0 is ambiguous and disallowed by the interface")
        if stream != LEGACY_DEFAULT_STREAM:
            (synchronize or _default_synchronize)(stream)
    return DeviceArray(ptr, shape, strides, dtype, True, owner=obj)


# ---- DLPack --------------------------------------------------------------------------------------


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [
        ("dl_tensor", _DLTensor),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", ctypes.c_void_p),
    ]


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_capsule_valid = ctypes.pythonapi.PyCapsule_IsValid
_capsule_valid.restype = ctypes.c_int
_capsule_valid.argtypes = [ctypes.py_object, ctypes.c_char_p]

_DL_CODES = {0: "int", 2: "float"}  # kDLInt, kDLFloat


def parse_dlpack_capsule(capsule, name="array"):
    """(device_type, device_id, pointer, shape, strides in elements, dtype) of an unconsumed
    DLPack capsule. The capsule is left as it is: when it is collected, its destructor releases
    the producer's tensor."""
    if not _capsule_valid(capsule, b"dltensor"):
        raise ValueError(f"{name}: __dlpack__ did not return an unconsumed 'dltensor' capsule")
    managed = _DLManagedTensor.from_address(_capsule_pointer(capsule, b"dltensor"))
    t = managed.dl_tensor
    if t.dtype.lanes != 1 or t.dtype.code not in _DL_CODES:
        raise TypeError(
            f"{name}: unsupported DLPack dtype (code {t.dtype.code}, "
            f"{t.dtype.bits} bits, {t.dtype.lanes} lanes)"
        )
    dtype = _check_dtype(f"{_DL_CODES[t.dtype.code]}{t.dtype.bits}", name)
    shape = tuple(int(t.shape[i]) for i in range(t.ndim))
    if t.strides:
        strides = tuple(int(t.strides[i]) for i in range(t.ndim))
    else:
        strides = _element_strides(shape, None, dtype.itemsize, name)
    if t.byte_offset % dtype.itemsize:
        raise ValueError(f"{name}: DLPack byte offset not a multiple of the item size")
    ptr = (t.data or 0) + int(t.byte_offset)
    return int(t.device.device_type), int(t.device.device_id), ptr, shape, strides, dtype


def from_dlpack(obj, name="array"):
    """The :class:`DeviceArray` of a CUDA array exposing DLPack. The producer is asked to order
    its pending work before the legacy default stream (``stream=1``), where the kernels run."""
    device_type, _ = obj.__dlpack_device__()
    if device_type not in (DL_CUDA, DL_CUDA_MANAGED):
        raise ValueError(f"{name}: DLPack device type {device_type} is not CUDA memory")
    capsule = obj.__dlpack__(stream=LEGACY_DEFAULT_STREAM)
    device_type, _, ptr, shape, strides, dtype = parse_dlpack_capsule(capsule, name)
    if device_type not in (DL_CUDA, DL_CUDA_MANAGED):
        raise ValueError(f"{name}: the DLPack tensor is not in CUDA memory")
    return DeviceArray(ptr, shape, strides, dtype, True, owner=(obj, capsule))


def _dlpack_device_type(obj):
    try:
        return obj.__dlpack_device__()[0]
    except (AttributeError, TypeError, ValueError, IndexError):  # not a DLPack producer after all
        return None


def _interface_version(obj):
    iface = getattr(obj, "__cuda_array_interface__", None)
    version = iface.get("version") if isinstance(iface, dict) else None
    return version if isinstance(version, int) else 0


def as_device_array(x, synchronize=None, name="array", dtype=None):
    """A :class:`DeviceArray` for any array: GPU arrays in place (``__cuda_array_interface__``
    version 3, then DLPack on a CUDA device, then an older ``__cuda_array_interface__``), anything
    else through ``numpy.asarray`` (``dtype`` applied,
    rows made contiguous), to be copied to the device once by the kernel."""
    cuda_dlpack = hasattr(x, "__dlpack__") and _dlpack_device_type(x) in (DL_CUDA, DL_CUDA_MANAGED)
    if hasattr(x, "__cuda_array_interface__") and not (cuda_dlpack and _interface_version(x) < 3):
        arr = from_cuda_array_interface(x, synchronize, name)
    elif cuda_dlpack:
        # Also when the interface is version 2 (PyTorch's): it names no stream, so the producer's
        # pending work on another stream would not be waited for; DLPack orders it.
        arr = from_dlpack(x, name)
    else:
        host = np.asarray(x, dtype=dtype)
        if host.ndim and (host.strides[-1] != host.itemsize or host.dtype not in SUPPORTED_DTYPES):
            host = np.ascontiguousarray(host)
        _check_dtype(host.dtype, name)
        strides = _element_strides(host.shape, host.strides, host.itemsize, name)
        return DeviceArray(host.ctypes.data, host.shape, strides, host.dtype, False, owner=host)
    if dtype is not None and arr.dtype != np.dtype(dtype):
        raise TypeError(
            f"{name}: expected {np.dtype(dtype)} on the device, got {arr.dtype} "
            "(device arrays are not converted: convert it first)"
        )
    return arr
