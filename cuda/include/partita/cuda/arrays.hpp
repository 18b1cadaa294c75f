// Arrays and errors at the boundary of partita's CUDA kernels (plain C++, no CUDA types, so the
// pybind11 bindings compile with the host compiler).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace partita::cuda {

enum class DType { float32, float64, int32, int64 };

inline std::size_t itemsize(DType t) { return (t == DType::float32 || t == DType::int32) ? 4 : 8; }
inline const char* dtype_name(DType t) {
    switch (t) {
        case DType::float32: return "float32";
        case DType::float64: return "float64";
        case DType::int32: return "int32";
        case DType::int64: return "int64";
    }
    return "?";
}

// An array the caller owns, in host memory or already on the device (CuPy, PyTorch: see
// partita/_gpu_arrays.py). Strides are in elements. A kernel copies host arrays to the device
// once; device arrays are read in place.
struct ArrayRef {
    const void* data = nullptr;
    DType dtype = DType::float64;
    bool on_device = false;
    std::vector<std::int64_t> shape, strides;

    std::int64_t dim(std::size_t i) const { return shape.at(i); }
    std::int64_t size() const {
        std::int64_t s = 1;
        for (auto d : shape) s *= d;
        return s;
    }
    // Rows may be padded (any row stride >= the row length), entries within a row are not.
    bool rows_contiguous() const {
        if (shape.empty()) return true;
        if (strides.back() != 1 && shape.back() > 1) return false;
        for (std::size_t i = shape.size() - 1; i-- > 0;)
            if (shape[i] > 1 && strides[i] < strides[i + 1] * shape[i + 1]) return false;
        return true;
    }
    bool contiguous() const {
        std::int64_t expect = 1;
        for (std::size_t i = shape.size(); i-- > 0;) {
            if (shape[i] > 1 && strides[i] != expect) return false;
            expect *= shape[i];
        }
        return true;
    }
};

// A device allocation larger than the free device memory; Python sees a MemoryError.
struct OutOfDeviceMemory : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A CUDA runtime error, naming the kernel or call that failed; Python sees a RuntimeError.
struct CudaError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Ctrl-C between kernel launches: returns true when the caller should stop (then the host
// code throws Interrupted, which the bindings turn into KeyboardInterrupt).
using InterruptPoll = std::function<bool()>;
struct Interrupted : std::exception {
    const char* what() const noexcept override { return "interrupted"; }
};

}  // namespace partita::cuda
