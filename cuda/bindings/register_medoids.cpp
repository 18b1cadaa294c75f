// partita._cuda.medoids: the k-medoids GPU kernels.
#include "cuda_bindings.hpp"
#include "partita/cuda/medoids.hpp"

namespace partita::cuda::bindings {

void register_medoids(py::module_& top) {
    using medoids::Assignment;
    py::module_ m = top.def_submodule("medoids", "k-medoids kernels on the GPU");
    // The estimators whose fit runs on these kernels (partita._backend.supported_devices):
    // none yet, the kernels are building blocks tested on their own.
    m.attr("estimators") = py::tuple();
    py::class_<Assignment>(m, "Assignment", py::module_local(),
                           "Nearest and second-nearest medoid slot of every point, with distances.")
        .def_property_readonly("near_i", [](const Assignment& a) { return to_numpy(a.near_i); })
        .def_property_readonly("seco_i", [](const Assignment& a) { return to_numpy(a.seco_i); })
        .def_property_readonly("near_d",
                               [](const Assignment& a) { return values_array(a.near_d, a.dtype); })
        .def_property_readonly("seco_d",
                               [](const Assignment& a) { return values_array(a.seco_d, a.dtype); });
    m.def(
        "assign",
        [](const py::object& D, const py::array_t<std::int64_t, py::array::forcecast>& medoids) {
            const ArrayRef d = array_ref(D, "D");
            const std::vector<std::int64_t> med(medoids.data(), medoids.data() + medoids.size());
            return without_gil([&] { return medoids::assign(d, med); });
        },
        py::arg("D"), py::arg("medoids"),
        "Nearest and second-nearest medoid of every point from a stored distance matrix (ties to "
        "the lower slot, a medoid its own nearest), as the CPU's assignment.");
}

}  // namespace partita::cuda::bindings
