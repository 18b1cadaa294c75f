// partita._cuda: the optional CUDA module. For now it answers whether a GPU can be used; the
// GPU kernels of each family register here as they arrive.
#include <pybind11/pybind11.h>

#include "device.cuh"

namespace py = pybind11;

PYBIND11_MODULE(_cuda, m) {
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
}
