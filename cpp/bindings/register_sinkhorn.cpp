// Bindings of the batched log-domain Sinkhorn kernels (cpp/include/partita/sinkhorn.hpp).
//
// Python (src/partita/transport.py) validates everything and passes C-contiguous arrays: the
// costs as (B, n, m) float32 / float64, log-marginals and potentials as float64. The potentials
// are updated in place.
#include <cstdint>
#include <string>

#include "bindings.hpp"
#include "partita/sinkhorn.hpp"

namespace partita::bindings {

namespace {

using namespace partita::sinkhorn;

template <class T>
Problem<T> make_problem(const py::array& C, const py::array& log_a, const py::array& log_b,
                        const py::object& log_av, const py::object& log_bv, double eps,
                        double phi_a, double phi_b) {
    if (C.ndim() != 3 || !(C.flags() & py::array::c_style))
        throw std::invalid_argument("C: expected a C-contiguous (B, n, m) array");
    Problem<T> pb;
    pb.C = static_cast<const T*>(C.data());
    pb.B = C.shape(0);
    pb.n = C.shape(1);
    pb.m = C.shape(2);
    pb.log_a = vector_data<double>(log_a, pb.B * pb.n, "log_a");
    pb.log_b = vector_data<double>(log_b, pb.B * pb.m, "log_b");
    if (!log_av.is_none()) {
        pb.vrow = true;
        pb.log_av = vector_data<double>(log_av.cast<py::array>(), pb.B, "log_av");
    }
    if (!log_bv.is_none()) {
        pb.vcol = true;
        pb.log_bv = vector_data<double>(log_bv.cast<py::array>(), pb.B, "log_bv");
    }
    require(eps > 0, "eps must be positive");
    require(phi_a > 0 && phi_a <= 1 && phi_b > 0 && phi_b <= 1, "phi must be in (0, 1]");
    pb.eps = eps;
    pb.phi_a = phi_a;
    pb.phi_b = phi_b;
    return pb;
}

double* mutable_vector(const py::array& a, index_t n, const char* name) {
    vector_data<double>(a, n, name);
    if (!a.writeable()) throw std::invalid_argument(std::string(name) + ": must be writeable");
    return static_cast<double*>(const_cast<void*>(a.data()));
}

template <class T>
py::dict run_solve(const py::array& C, const py::array& log_a, const py::array& log_b,
                   const py::object& log_av, const py::object& log_bv, const py::array& f,
                   const py::array& g, const py::array& fv, const py::array& gv, double eps,
                   double phi_a, double phi_b, index_t max_iter, double tol,
                   const py::object& buffer, bool absorb, bool write_plan, int n_threads) {
    const Problem<T> pb = make_problem<T>(C, log_a, log_b, log_av, log_bv, eps, phi_a, phi_b);
    T* buf = nullptr;
    if (!buffer.is_none()) {
        const py::array arr = buffer.cast<py::array>();
        if (!py::isinstance<py::array_t<T>>(arr) || !(arr.flags() & py::array::c_style) ||
            !arr.writeable() || arr.size() != pb.B * pb.n * pb.m)
            throw std::invalid_argument("buffer: expected a writeable C-contiguous array of C's "
                                        "dtype and size");
        buf = static_cast<T*>(const_cast<void*>(arr.data()));
    }
    require(buf != nullptr || (!absorb && !write_plan), "absorb and write_plan need a buffer");
    py::array_t<std::int64_t> n_iter(pb.B);
    py::array_t<double> err(pb.B);
    py::array_t<std::uint8_t> converged(pb.B);
    py::array_t<std::int64_t> n_log_sweeps(pb.B);
    State st;
    st.f = mutable_vector(f, pb.B * pb.n, "f");
    st.g = mutable_vector(g, pb.B * pb.m, "g");
    st.fv = mutable_vector(fv, pb.B, "fv");
    st.gv = mutable_vector(gv, pb.B, "gv");
    st.n_iter = n_iter.mutable_data();
    st.err = err.mutable_data();
    st.converged = converged.mutable_data();
    st.n_log_sweeps = n_log_sweeps.mutable_data();
    const int threads = resolve_threads(n_threads);
    without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        solve(pb, st, max_iter, tol, buf, absorb, write_plan, threads, interrupt);
        return 0;
    });
    py::dict d;
    d["n_iter"] = n_iter;
    d["err"] = err;
    d["converged"] = converged;
    d["n_log_sweeps"] = n_log_sweeps;
    return d;
}

py::dict run_newton(const py::array& C, const py::array& a, const py::array& log_b,
                    const py::object& log_bv, double eps, double rho, const py::array& g,
                    index_t max_iter, double tol, bool want_plan, int n_threads) {
    if (C.ndim() != 2 || !py::isinstance<py::array_t<double>>(C) ||
        !(C.flags() & py::array::c_style))
        throw std::invalid_argument("C: expected a C-contiguous float64 (n, k) array");
    const index_t n = C.shape(0), k = C.shape(1);
    const bool vcol = !log_bv.is_none();
    const double* ap = vector_data<double>(a, n, "a");
    const double* lbp = vector_data<double>(log_b, k, "log_b");
    double* gp = mutable_vector(g, k + (vcol ? 1 : 0), "g");
    require(eps > 0, "eps must be positive");
    require(rho > 0, "rho must be positive (inf for hard columns)");
    require(max_iter >= 0, "max_iter must be >= 0");
    py::array_t<double> f(n);
    py::object plan = py::none();
    double* planp = nullptr;
    if (want_plan) {
        py::array_t<double> p({n, k});
        planp = p.mutable_data();
        plan = p;
    }
    const double lbv = vcol ? log_bv.cast<double>() : 0.0;
    const double* Cp = static_cast<const double*>(C.data());
    double* fp = f.mutable_data();
    const int threads = resolve_threads(n_threads);
    const NewtonReport r = without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        return semidual_newton(Cp, n, k, ap, lbp, vcol, lbv, eps, rho, gp, fp, planp, max_iter,
                               tol, threads, interrupt);
    });
    py::dict d;
    d["f"] = f;
    d["plan"] = plan;
    d["n_iter"] = r.n_iter;
    d["err"] = r.err;
    d["converged"] = r.converged;
    return d;
}

}  // namespace

void register_sinkhorn(py::module_& m) {
    m.def(
        "sinkhorn_solve",
        [](const py::array& C, const py::array& log_a, const py::array& log_b,
           const py::object& log_av, const py::object& log_bv, const py::array& f,
           const py::array& g, const py::array& fv, const py::array& gv, double eps,
           double phi_a, double phi_b, index_t max_iter, double tol, const py::object& buffer,
           bool absorb, bool write_plan, int n_threads) {
            if (is_float32(C))
                return run_solve<float>(C, log_a, log_b, log_av, log_bv, f, g, fv, gv, eps, phi_a,
                                        phi_b, max_iter, tol, buffer, absorb, write_plan,
                                        n_threads);
            if (!py::isinstance<py::array_t<double>>(C))
                throw std::invalid_argument("C: expected float32 or float64");
            return run_solve<double>(C, log_a, log_b, log_av, log_bv, f, g, fv, gv, eps, phi_a,
                                     phi_b, max_iter, tol, buffer, absorb, write_plan, n_threads);
        },
        py::arg("C"), py::arg("log_a"), py::arg("log_b"), py::arg("log_av"), py::arg("log_bv"),
        py::arg("f"), py::arg("g"), py::arg("fv"), py::arg("gv"), py::arg("eps"),
        py::arg("phi_a"), py::arg("phi_b"), py::arg("max_iter"), py::arg("tol"),
        py::arg("buffer"), py::arg("absorb"), py::arg("write_plan"), py::arg("n_threads"),
        "Batched log-domain Sinkhorn (KL convention) on C (B, n, m); updates the float64 "
        "potentials f (B*n), g (B*m), fv (B), gv (B) in place; returns n_iter, err, converged, n_log_sweeps (sweeps with an exp per entry). "
        "buffer (None or C's shape and dtype): the stored Gibbs kernel when absorb (stabilised "
        "scaling), and the plans at the end when write_plan.");
    m.def("sinkhorn_semidual_newton", &run_newton, py::arg("C"), py::arg("a"), py::arg("log_b"),
          py::arg("log_bv"), py::arg("eps"), py::arg("rho"), py::arg("g"), py::arg("max_iter"),
          py::arg("tol"), py::arg("want_plan"), py::arg("n_threads"),
          "Entropic OT with hard rows (weights a) and few columns (costs C (n, k), log-masses "
          "log_b, an optional hard virtual column of cost 0 and log-mass log_bv; rho: KL "
          "relaxation of the real columns, inf for hard) by Newton's method on the semi-dual. "
          "g (k, +1 with the virtual column) is updated in place; returns f, plan (n, k) or None, "
          "n_iter, err (L1 norm of the gradient), converged.");
}

}  // namespace partita::bindings
