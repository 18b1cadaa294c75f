// Device memory owned by RAII buffers, CUDA errors as C++ exceptions naming what failed, and
// inputs that are either copied from the host once or read in place on the device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "partita/cuda/arrays.hpp"
#include "runtime.cuh"

namespace partita::cuda {

// Throws CudaError naming `what` (a kernel or a runtime call) when `err` is not cudaSuccess.
inline void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess) {
        cudaGetLastError();  // clear it, so that the next call does not see it
        throw CudaError(std::string(what) + ": " + cudaGetErrorName(err) + " (" +
                        cudaGetErrorString(err) + ")");
    }
}

// After a launch: a bad configuration shows at once, a fault in the kernel at the next sync.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

inline std::string format_bytes(std::size_t bytes) {
    std::string s = std::to_string(bytes) + " bytes";
    if (bytes >= (std::size_t(1) << 30)) s += " (" + std::to_string(bytes >> 30) + " GiB)";
    else if (bytes >= (std::size_t(1) << 20)) s += " (" + std::to_string(bytes >> 20) + " MiB)";
    return s;
}

// An allocation of `count` T on the current device. Before asking the driver it compares the
// size with the free device memory, so that a request that cannot fit is a MemoryError naming the
// size instead of a failed cudaMalloc deep inside a computation.
template <class T>
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(std::size_t count, const char* what = "device buffer") : count_(count) {
        const std::size_t bytes = count * sizeof(T);
        if (bytes == 0) return;
        std::size_t free_bytes = 0, total_bytes = 0;
        check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
        if (bytes > free_bytes)
            throw OutOfDeviceMemory(std::string(what) + ": cannot allocate " + format_bytes(bytes) +
                                    " on the GPU, " + format_bytes(free_bytes) + " free of " +
                                    format_bytes(total_bytes));
        void* p = nullptr;
        const cudaError_t err = cudaMalloc(&p, bytes);
        if (err == cudaErrorMemoryAllocation) {
            cudaGetLastError();
            throw OutOfDeviceMemory(std::string(what) + ": cudaMalloc of " + format_bytes(bytes) +
                                    " failed");
        }
        check(err, "cudaMalloc");
        data_ = static_cast<T*>(p);
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    DeviceBuffer(DeviceBuffer&& o) noexcept : data_(o.data_), count_(o.count_) {
        o.data_ = nullptr;
        o.count_ = 0;
    }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(count_, o.count_);
        return *this;
    }
    ~DeviceBuffer() {
        if (data_) cudaFree(data_);
    }

    T* get() const { return data_; }
    std::size_t size() const { return count_; }

    // Nothing to copy is not a call: an empty buffer has no device pointer to give cudaMemcpy.
    void upload(const T* host, std::size_t count) {
        if (count == 0) return;
        check(cudaMemcpy(data_, host, count * sizeof(T), cudaMemcpyHostToDevice), "upload");
    }
    void download(T* host, std::size_t count) const {
        if (count == 0) return;
        check(cudaMemcpy(host, data_, count * sizeof(T), cudaMemcpyDeviceToHost), "download");
    }

private:
    T* data_ = nullptr;
    std::size_t count_ = 0;
};

// A kernel input: the caller's device pointer, or a device copy of a host array (its elements
// from the first to the last, padding of rows included, so that strides stay valid).
template <class T>
class DeviceInput {
public:
    DeviceInput(const ArrayRef& a, const char* what) {
        if (a.on_device) {
            ptr_ = static_cast<const T*>(a.data);
            return;
        }
        std::size_t span = a.size() ? 1 : 0;
        for (std::size_t i = 0; i < a.shape.size() && span; ++i)
            span += std::size_t(a.shape[i] - 1) * std::size_t(a.strides[i]);
        copy_ = DeviceBuffer<T>(span, what);
        copy_.upload(static_cast<const T*>(a.data), span);
        ptr_ = copy_.get();
    }
    const T* get() const { return ptr_; }

private:
    const T* ptr_ = nullptr;
    DeviceBuffer<T> copy_;
};

}  // namespace partita::cuda
