// Helpers shared by the register_<family>.cpp files of partita._cuda (and of its emulated twin):
// arrays in (NumPy, or a device ArrayRef made by partita/_gpu_arrays.py), the GIL released
// around the GPU work, Ctrl-C polled between launches.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "partita/cuda/arrays.hpp"

namespace partita::cuda::bindings {

namespace py = pybind11;

inline DType numpy_dtype(const py::array& a, const char* name) {
    if (py::isinstance<py::array_t<float>>(a)) return DType::float32;
    if (py::isinstance<py::array_t<double>>(a)) return DType::float64;
    if (py::isinstance<py::array_t<std::int32_t>>(a)) return DType::int32;
    if (py::isinstance<py::array_t<std::int64_t>>(a)) return DType::int64;
    throw std::invalid_argument(std::string(name) + ": unsupported dtype");
}

// An ArrayRef as given, or a host view of a NumPy array (which the caller keeps alive).
inline ArrayRef array_ref(const py::handle& obj, const char* name) {
    if (py::isinstance<ArrayRef>(obj)) return obj.cast<ArrayRef>();
    if (!py::isinstance<py::array>(obj))
        throw std::invalid_argument(std::string(name) + ": expected a NumPy array or an ArrayRef");
    const auto a = py::reinterpret_borrow<py::array>(obj);
    ArrayRef r;
    r.data = a.data();
    r.dtype = numpy_dtype(a, name);
    r.on_device = false;
    for (py::ssize_t i = 0; i < a.ndim(); ++i) {
        if (a.strides(i) % py::ssize_t(a.itemsize()) != 0)
            throw std::invalid_argument(std::string(name) +
                                        ": strides not a multiple of the itemsize");
        r.shape.push_back(a.shape(i));
        r.strides.push_back(a.strides(i) / py::ssize_t(a.itemsize()));
    }
    return r;
}

inline std::vector<double> float64_vector(const py::handle& obj, const char* name) {
    if (obj.is_none()) return {};
    const auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(obj);
    if (!a) throw std::invalid_argument(std::string(name) + ": expected a float64 array");
    return std::vector<double>(a.data(), a.data() + a.size());
}

template <class T>
py::array_t<T> to_numpy(const std::vector<T>& v) {
    py::array_t<T> out(py::ssize_t(v.size()));
    std::copy(v.begin(), v.end(), out.mutable_data());
    return out;
}

// A float32 result is held as double (exactly): back to the dtype it came in.
inline py::array values_array(const std::vector<double>& v, DType dtype) {
    if (dtype == DType::float32) {
        py::array_t<float> out(py::ssize_t(v.size()));
        std::copy(v.begin(), v.end(), out.mutable_data());
        return std::move(out);
    }
    return to_numpy(v);
}

// Ctrl-C between kernel launches (the launches run without the GIL).
inline InterruptPoll python_interrupt_poll() {
    return [] {
        py::gil_scoped_acquire gil;
        return PyErr_CheckSignals() != 0;
    };
}

template <class F>
auto without_gil(F&& work) {
    try {
        py::gil_scoped_release release;
        return work();
    } catch (const Interrupted&) {
        throw py::error_already_set();
    }
}

}  // namespace partita::cuda::bindings
