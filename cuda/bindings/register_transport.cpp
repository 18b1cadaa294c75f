// partita._cuda.transport: the optimal-transport GPU kernels.
#include "cuda_bindings.hpp"
#include "partita/cuda/transport.hpp"

namespace partita::cuda::bindings {

void register_transport(py::module_& top) {
    py::module_ m = top.def_submodule("transport", "optimal-transport kernels on the GPU");
    // The estimators whose fit runs on these kernels (partita._backend.supported_devices):
    // none yet, the kernels are building blocks tested on their own.
    m.attr("estimators") = py::tuple();
    m.def(
        "row_sweep",
        [](const py::object& C, const py::object& log_a, const py::object& log_b,
           const py::object& g, double eps) {
            const ArrayRef c = array_ref(C, "C");
            const auto la = float64_vector(log_a, "log_a"), lb = float64_vector(log_b, "log_b");
            const auto gv = float64_vector(g, "g");
            auto f = without_gil(
                [&] { return transport::row_sweep(c, la, lb, gv, eps, python_interrupt_poll()); });
            auto out = to_numpy(f);
            if (c.shape.size() == 3) out.resize({c.shape[0], c.shape[1]});
            return out;
        },
        py::arg("C"), py::arg("log_a"), py::arg("log_b"), py::arg("g"), py::arg("eps"),
        "Row sweep of log-domain Sinkhorn for a batch (B, n, m): f = eps * (log_a - "
        "LSE_j(log_b + (g - C) / eps)), float64 accumulation; log_a / log_b may be None (0).");
}

}  // namespace partita::cuda::bindings
