// Helpers shared by the register_<family>.cpp files: zero-copy array views, releasing the GIL
// around a kernel, and turning Ctrl-C into KeyboardInterrupt.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <utility>

#include "partita/common.hpp"

namespace partita::bindings {

namespace py = pybind11;

// Python validates and converts; a kernel only ever sees C-contiguous arrays of its own dtype.
template <class T>
MatrixView<T> matrix_view(const py::array& a, const char* name) {
    if (a.ndim() != 2 || !py::isinstance<py::array_t<T>>(a) ||
        !(a.flags() & py::array::c_style))
        throw std::invalid_argument(std::string(name) + ": expected a C-contiguous 2-d array");
    return MatrixView<T>{static_cast<const T*>(a.data()), a.shape(0), a.shape(1)};
}

template <class T>
const T* vector_data(const py::array& a, index_t n, const char* name) {
    if (a.ndim() != 1 || a.shape(0) != n || !py::isinstance<py::array_t<T>>(a) ||
        !(a.flags() & py::array::c_style))
        throw std::invalid_argument(std::string(name) + ": expected a contiguous vector of length " +
                                    std::to_string(n));
    return static_cast<const T*>(a.data());
}

inline bool is_float32(const py::array& a) { return py::isinstance<py::array_t<float>>(a); }

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
