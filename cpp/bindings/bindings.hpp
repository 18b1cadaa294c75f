// Helpers shared by the register_<family>.cpp files: zero-copy array views, releasing the GIL
// around a kernel, and turning Ctrl-C into KeyboardInterrupt.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "partita/common.hpp"

namespace partita::bindings {

namespace py = pybind11;

// Python validates and converts; a kernel only ever sees C-contiguous arrays of its own dtype.
template <class T>
MatrixView<T> matrix_view(const py::array& a, const char* name) {
    if (a.ndim() != 2 || !py::isinstance<py::array_t<T>>(a) || !(a.flags() & py::array::c_style))
        throw std::invalid_argument(std::string(name) + ": expected a C-contiguous 2-d array");
    return MatrixView<T>{static_cast<const T*>(a.data()), a.shape(0), a.shape(1)};
}

template <class T>
const T* vector_data(const py::array& a, index_t n, const char* name) {
    if (a.ndim() != 1 || a.shape(0) != n || !py::isinstance<py::array_t<T>>(a) ||
        !(a.flags() & py::array::c_style))
        throw std::invalid_argument(
            std::string(name) + ": expected a contiguous vector of length " + std::to_string(n));
    return static_cast<const T*>(a.data());
}

inline bool is_float32(const py::array& a) { return py::isinstance<py::array_t<float>>(a); }

// Indices a kernel will dereference: every one in [0, n), and no two equal when `distinct` (the
// swap optimisers keep one slot per medoid). Python passes valid ones; checking here keeps the
// private `_core` functions memory-safe for any caller, at O(k log k).
inline void check_indices(const index_t* idx, index_t count, index_t n, const char* name,
                          bool distinct) {
    for (index_t i = 0; i < count; ++i)
        if (idx[i] < 0 || idx[i] >= n)
            throw std::invalid_argument(std::string(name) + ": index " + std::to_string(idx[i]) +
                                        " is out of range for " + std::to_string(n) + " points");
    if (!distinct) return;
    std::vector<index_t> sorted(idx, idx + count);
    std::sort(sorted.begin(), sorted.end());
    const auto repeated = std::adjacent_find(sorted.begin(), sorted.end());
    if (repeated != sorted.end())
        throw std::invalid_argument(std::string(name) + ": index " + std::to_string(*repeated) +
                                    " is repeated; the medoids must be distinct points");
}

// A number of medoids (or seeds) between 1 and the number of points.
inline void check_count(index_t k, index_t n, const char* name) {
    if (k < 1 || k > n)
        throw std::invalid_argument(std::string(name) + " must be in [1, " + std::to_string(n) +
                                    "] (the number of points), got " + std::to_string(k));
}

template <class T>
py::array_t<T> to_numpy(const std::vector<T>& v) {
    py::array_t<T> out(v.size());
    std::copy(v.begin(), v.end(), out.mutable_data());
    return out;
}

// Polls for Ctrl-C from inside a GIL-free kernel.
inline InterruptCheck python_interrupt_check() {
    return InterruptCheck([] {
        py::gil_scoped_acquire gil;
        return PyErr_CheckSignals() != 0;
    });
}

// Runs `kernel` without the GIL; a Ctrl-C seen by the kernel becomes the pending
// KeyboardInterrupt that PyErr_CheckSignals already set.
template <class F>
auto without_gil(F&& kernel) {
    try {
        py::gil_scoped_release release;
        return kernel();
    } catch (const Interrupted&) {
        throw py::error_already_set();
    }
}

}  // namespace partita::bindings
