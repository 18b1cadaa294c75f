// partita._cuda.transport: the optimal-transport GPU kernels.
#include <pybind11/stl.h>

#include "cuda_bindings.hpp"
#include "partita/cuda/transport.hpp"

namespace partita::cuda::bindings {

void register_transport(py::module_& top) {
    py::module_ m = top.def_submodule("transport", "optimal-transport kernels on the GPU");
    // The estimators and functions that run on these kernels (partita._backend.supported_devices).
    m.attr("estimators") =
        py::make_tuple("sinkhorn", "sinkhorn_points", "equipartition", "SinkhornKMeans");
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

    py::class_<transport::SinkhornParams>(m, "SinkhornParams", py::module_local(),
                                          "Parameters of sinkhorn(); phi = rho / (rho + eps).")
        .def(py::init<>())
        .def_readwrite("eps", &transport::SinkhornParams::eps)
        .def_readwrite("phi_a", &transport::SinkhornParams::phi_a)
        .def_readwrite("phi_b", &transport::SinkhornParams::phi_b)
        .def_readwrite("max_iter", &transport::SinkhornParams::max_iter)
        .def_readwrite("tol", &transport::SinkhornParams::tol);
    using State = transport::SinkhornState;
    py::class_<State>(m, "SinkhornResult", py::module_local(),
                      "Potentials and per-problem report of sinkhorn().")
        .def_property_readonly("f", [](const State& s) { return to_numpy(s.f); })
        .def_property_readonly("g", [](const State& s) { return to_numpy(s.g); })
        .def_property_readonly("fv", [](const State& s) { return to_numpy(s.fv); })
        .def_property_readonly("gv", [](const State& s) { return to_numpy(s.gv); })
        .def_property_readonly("n_iter", [](const State& s) { return to_numpy(s.n_iter); })
        .def_property_readonly("err", [](const State& s) { return to_numpy(s.err); })
        .def_property_readonly("converged", [](const State& s) {
            std::vector<bool> c(s.converged.begin(), s.converged.end());
            py::array_t<bool> out(py::ssize_t(c.size()));
            std::copy(c.begin(), c.end(), out.mutable_data());
            return out;
        });
    m.def(
        "sinkhorn",
        [](const py::object& C, const py::object& Y, const py::object& log_a,
           const py::object& log_b, const py::object& log_av, const py::object& log_bv,
           const py::object& f, const py::object& g, const py::object& fv, const py::object& gv,
           const transport::SinkhornParams& params, const py::object& plan) {
            transport::SinkhornProblem pb;
            pb.points = !Y.is_none();
            (pb.points ? pb.X : pb.C) = array_ref(C, pb.points ? "X" : "C");
            if (pb.points) pb.Y = array_ref(Y, "Y");
            pb.log_a = float64_vector(log_a, "log_a");
            pb.log_b = float64_vector(log_b, "log_b");
            pb.log_av = float64_vector(log_av, "log_av");
            pb.log_bv = float64_vector(log_bv, "log_bv");
            State st;
            st.f = float64_vector(f, "f");
            st.g = float64_vector(g, "g");
            st.fv = float64_vector(fv, "fv");
            st.gv = float64_vector(gv, "gv");
            ArrayRef out;
            if (!plan.is_none()) {
                if (py::isinstance<py::array>(plan) &&
                    !py::reinterpret_borrow<py::array>(plan).writeable())
                    throw std::invalid_argument("plan: expected a writable array");
                out = array_ref(plan, "plan");
            }
            without_gil([&] {
                transport::sinkhorn(pb, params, st, plan.is_none() ? nullptr : &out,
                                    python_interrupt_poll());
                return 0;
            });
            return st;
        },
        py::arg("C"), py::arg("Y"), py::arg("log_a"), py::arg("log_b"), py::arg("log_av"),
        py::arg("log_bv"), py::arg("f"), py::arg("g"), py::arg("fv"), py::arg("gv"),
        py::arg("params"), py::arg("plan") = py::none(),
        "Batched log-domain Sinkhorn on the device. C: stored costs (B, n, m), or with Y the "
        "points X (B, n, d) and Y (B, m, d) of a squared euclidean cost; log-marginals flat "
        "(log_av / log_bv: virtual row / column, or None); warm-start potentials flat; plan: a "
        "(B, n, m) array (host or device) to receive the plan, or None.");
}

}  // namespace partita::cuda::bindings
