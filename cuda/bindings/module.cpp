// partita._cuda: the optional CUDA module, one submodule per family with GPU kernels (made in
// that family's register_<family>.cpp). The same bindings over the same kernel sources compiled
// for the CPU emulator make partita._cuda_emulated (PARTITA_CUDA_EMULATOR).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "cuda_bindings.hpp"
#include "partita/cuda/device.hpp"

#ifndef PARTITA_CUDA_MODULE
#define PARTITA_CUDA_MODULE _cuda
#endif

namespace py = pybind11;

namespace partita::cuda::bindings {
void register_medoids(py::module_& m);
void register_transport(py::module_& m);
void register_multicut(py::module_& m);
void register_kernel_kmeans(py::module_& m);
#ifdef PARTITA_CUDA_EMULATOR
void register_emulator(py::module_& m);
#endif

// Types are module-local: partita._cuda and partita._cuda_emulated bind the same C++ types and
// can be loaded together.
void register_arrays(py::module_& m) {
    py::enum_<DType>(m, "DType", py::module_local())
        .value("float32", DType::float32)
        .value("float64", DType::float64)
        .value("int32", DType::int32)
        .value("int64", DType::int64);
    py::class_<ArrayRef>(m, "ArrayRef", py::module_local(),
                         "An array in device (or host) memory that the caller keeps alive.")
        .def(py::init([](std::uintptr_t data, std::vector<std::int64_t> shape,
                         std::vector<std::int64_t> strides, DType dtype, bool on_device) {
                 if (shape.size() != strides.size())
                     throw std::invalid_argument("shape and strides differ in length");
                 ArrayRef r;
                 r.data = reinterpret_cast<const void*>(data);
                 r.shape = std::move(shape);
                 r.strides = std::move(strides);
                 r.dtype = dtype;
                 r.on_device = on_device;
                 return r;
             }),
             py::arg("data"), py::arg("shape"), py::arg("strides"), py::arg("dtype"),
             py::arg("on_device"))
        .def_property_readonly(
            "data", [](const ArrayRef& r) { return reinterpret_cast<std::uintptr_t>(r.data); })
        .def_readonly("shape", &ArrayRef::shape)
        .def_readonly("strides", &ArrayRef::strides)
        .def_readonly("dtype", &ArrayRef::dtype)
        .def_readonly("on_device", &ArrayRef::on_device);
    py::register_local_exception<OutOfDeviceMemory>(m, "OutOfDeviceMemory", PyExc_MemoryError);
    py::register_local_exception<CudaError>(m, "CudaError", PyExc_RuntimeError);
}

}  // namespace partita::cuda::bindings

PYBIND11_MODULE(PARTITA_CUDA_MODULE, m) {
    namespace b = partita::cuda::bindings;
    m.doc() = "partita's CUDA kernels";
    m.def("device_count", &partita::cuda::device_count,
          "Number of usable CUDA devices (0 without a driver or device).");
    m.def("runtime_version", &partita::cuda::runtime_version);
    m.def(
        "device_info",
        [](int index) {
            const auto info = partita::cuda::device_info(index);
            py::dict d;
            d["name"] = info.name;
            d["compute_capability"] = py::make_tuple(info.major, info.minor);
            d["total_memory"] = info.total_memory;
            return d;
        },
        py::arg("index") = 0);
    m.def("synchronize_stream", &partita::cuda::synchronize_stream, py::arg("handle"),
          "Wait for the work queued on a CUDA stream given by its handle (an integer).");
    b::register_arrays(m);
    b::register_medoids(m);
    b::register_transport(m);
    b::register_multicut(m);
    b::register_kernel_kmeans(m);
#ifdef PARTITA_CUDA_EMULATOR
    b::register_emulator(m);
#endif
}
