// Bindings of the transport family (cpp/include/partita/transport/): the submodule
// partita._core.transport.
//
// Python (src/partita/transport.py) validates everything and passes C-contiguous arrays: the
// costs as (B, n, m) float32 / float64, log-marginals and potentials as float64. The potentials
// are updated in place.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "partita/transport/epsilon_scaling.hpp"
#include "partita/transport/newton.hpp"
#include "partita/transport/row_blocks.hpp"
#include "partita/transport/sinkhorn.hpp"
#include "partita/transport/sinkhorn_kmeans.hpp"

namespace partita::bindings {

namespace {

using namespace partita::transport;

template <class T>
Problem<T> make_problem(const py::array& C, const py::array& log_a, const py::array& log_b,
                        const py::object& log_av, const py::object& log_bv) {
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
    return pb;
}

double* mutable_vector(const py::array& a, index_t n, const char* name) {
    vector_data<double>(a, n, name);
    if (!a.writeable()) throw std::invalid_argument(std::string(name) + ": must be writeable");
    return static_cast<double*>(const_cast<void*>(a.data()));
}

template <class T>
SinkhornResult run_sinkhorn(const py::array& C, const py::array& log_a, const py::array& log_b,
                            const py::array& f, const py::array& g, const py::array& fv,
                            const py::array& gv, const SinkhornParams& params,
                            const py::object& log_av, const py::object& log_bv,
                            const py::object& buffer, const AccelerationParams* acc = nullptr) {
    const Problem<T> pb = make_problem<T>(C, log_a, log_b, log_av, log_bv);
    require(params.eps > 0, "eps must be positive");
    require(params.phi_a > 0 && params.phi_a <= 1 && params.phi_b > 0 && params.phi_b <= 1,
            "phi must be in (0, 1]");
    T* buf = nullptr;
    if (!buffer.is_none()) {
        const py::array arr = buffer.cast<py::array>();
        if (!py::isinstance<py::array_t<T>>(arr) || !(arr.flags() & py::array::c_style) ||
            !arr.writeable() || arr.size() != pb.B * pb.n * pb.m)
            throw std::invalid_argument(
                "buffer: expected a writeable C-contiguous array of C's "
                "dtype and size");
        buf = static_cast<T*>(const_cast<void*>(arr.data()));
    }
    require(buf != nullptr || (params.method == Method::sinkhorn_log && !params.write_plan),
            "the stabilised method and write_plan need a buffer");
    Potentials st;
    st.f = mutable_vector(f, pb.B * pb.n, "f");
    st.g = mutable_vector(g, pb.B * pb.m, "g");
    st.fv = mutable_vector(fv, pb.B, "fv");
    st.gv = mutable_vector(gv, pb.B, "gv");
    const int threads = resolve_threads(params.n_threads);
    return without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        return acc ? solve_accelerated(pb, st, params, *acc, buf, threads, interrupt)
                   : solve(pb, st, params, buf, threads, interrupt);
    });
}

NewtonResult run_newton(const py::array& C, const py::array& a, const py::array& log_b,
                        const py::array& g, const NewtonParams& params) {
    if (C.ndim() != 2 || !py::isinstance<py::array_t<double>>(C) ||
        !(C.flags() & py::array::c_style))
        throw std::invalid_argument("C: expected a C-contiguous float64 (n, k) array");
    const index_t n = C.shape(0), k = C.shape(1);
    const double* ap = vector_data<double>(a, n, "a");
    const double* lbp = vector_data<double>(log_b, k, "log_b");
    double* gp = mutable_vector(g, k + (params.virtual_column ? 1 : 0), "g");
    require(params.eps > 0, "eps must be positive");
    require(params.rho > 0, "rho must be positive (inf for hard columns)");
    require(params.max_iter >= 0, "max_iter must be >= 0");
    const double* Cp = static_cast<const double*>(C.data());
    const int threads = resolve_threads(params.n_threads);
    return without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        return semidual_newton(Cp, n, k, ap, lbp, gp, params, threads, interrupt);
    });
}

// Points (n, d) and centres (k, d), both C-contiguous float64 with the same d.
void check_points_and_centres(const MatrixView<double>& X, const MatrixView<double>& centres) {
    require(X.rows >= 1 && X.cols >= 1, "X: expected at least one point and one feature");
    require(centres.rows >= 1 && centres.cols == X.cols,
            "centres: expected (k, d) with k >= 1 and X's d");
}

double* mutable_matrix(const py::array& a, const MatrixView<double>& view, const char* name) {
    if (!a.writeable()) throw std::invalid_argument(std::string(name) + ": must be writeable");
    return const_cast<double*>(view.data);
}

LloydResult run_lloyd(const py::array& X, const py::array& a, const py::array& log_b,
                      const py::array& centres, const py::array& g,
                      const py::object& previous_labels, const LloydParams& params) {
    const MatrixView<double> Xv = matrix_view<double>(X, "X");
    const MatrixView<double> cv = matrix_view<double>(centres, "centres");
    check_points_and_centres(Xv, cv);
    const index_t n = Xv.rows, k = cv.rows;
    const double* ap = vector_data<double>(a, n, "a");
    const double* lbp = vector_data<double>(log_b, k, "log_b");
    double* cp = mutable_matrix(centres, cv, "centres");
    double* gp = mutable_vector(g, k + (params.virtual_column ? 1 : 0), "g");
    const std::int64_t* labels = nullptr;
    if (!previous_labels.is_none())
        labels = vector_data<std::int64_t>(previous_labels.cast<py::array>(), n, "previous_labels");
    require(params.eps > 0, "eps must be positive");
    require(params.rho > 0, "rho must be positive (inf for hard clusters)");
    require(params.first_iteration >= 1, "first_iteration must be >= 1");
    require(params.final_only || params.first_iteration <= params.max_iter,
            "first_iteration must be at most max_iter (or final_only)");
    require(params.newton_max_iter >= 0, "newton_max_iter must be >= 0");
    const int threads = resolve_threads(params.n_threads);
    return without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        return lloyd(Xv.data, n, Xv.cols, ap, lbp, k, cp, gp, labels, params, threads, interrupt);
    });
}

py::array_t<double> run_centre_distances(const py::array& X, const py::array& centres,
                                         int n_threads) {
    const MatrixView<double> Xv = matrix_view<double>(X, "X");
    const MatrixView<double> cv = matrix_view<double>(centres, "centres");
    check_points_and_centres(Xv, cv);
    py::array_t<double> D({Xv.rows, cv.rows});
    double* out = D.mutable_data();
    const int threads = resolve_threads(n_threads);
    without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        const std::vector<double> cols = feature_tiles::feature_major(Xv.data, Xv.rows, Xv.cols);
        centre_distances(cols.data(), Xv.rows, Xv.cols, cv.data, cv.rows, out, threads, interrupt);
        return 0;
    });
    return D;
}

double run_update_centres(const py::array& X, const py::array& plan, const py::array& centres,
                          int n_threads) {
    const MatrixView<double> Xv = matrix_view<double>(X, "X");
    const MatrixView<double> cv = matrix_view<double>(centres, "centres");
    check_points_and_centres(Xv, cv);
    const MatrixView<double> pv = matrix_view<double>(plan, "plan");
    require(pv.rows == Xv.rows && pv.cols == cv.rows, "plan: expected (n, k)");
    double* cp = mutable_matrix(centres, cv, "centres");
    const int threads = resolve_threads(n_threads);
    return without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        return update_centres(Xv.data, Xv.rows, Xv.cols, pv.data, cv.rows, cp, threads, interrupt);
    });
}

// A NumPy view of a result's vector, kept alive by the result object (no copy).
template <class T>
py::array vector_view(const py::object& owner, const std::vector<T>& v,
                      std::vector<py::ssize_t> shape) {
    return py::array_t<T>(shape, v.data(), owner);
}

// The per-problem flags as a bool array (uint8 0 / 1 has bool's layout).
py::array flags_view(const py::object& owner, const std::vector<std::uint8_t>& v) {
    return py::array(py::dtype::of<bool>(), {py::ssize_t(v.size())}, v.data(), owner);
}

// The steps of Sinkhorn scaling on one block of rows (row_blocks.hpp), for row blocks held by
// different processes.
template <class T>
py::tuple column_pieces(const py::array& C, const py::array& log_a, const py::array& f, double eps,
                        int n_threads) {
    const MatrixView<T> c = matrix_view<T>(C, "C");
    const double* la = vector_data<double>(log_a, c.rows, "log_a");
    const double* pf = vector_data<double>(f, c.rows, "f");
    py::array_t<double> mx(c.cols), s(c.cols);
    double *pm = mx.mutable_data(), *ps = s.mutable_data();
    const int threads = resolve_threads(n_threads);
    without_gil([&] {
        block_column_lse(c.data, c.rows, c.cols, la, pf, eps, pm, ps, threads);
        return 0;
    });
    return py::make_tuple(mx, s);
}

template <class T>
double row_update(const py::array& C, const py::array& log_b, const py::array& g, double eps,
                  double phi, py::array& f, int n_threads) {
    const MatrixView<T> c = matrix_view<T>(C, "C");
    const double* lb = vector_data<double>(log_b, c.cols, "log_b");
    const double* pg = vector_data<double>(g, c.cols, "g");
    double* pf = const_cast<double*>(vector_data<double>(f, c.rows, "f"));
    const int threads = resolve_threads(n_threads);
    return without_gil(
        [&] { return block_row_update(c.data, c.rows, c.cols, lb, pg, eps, phi, pf, threads); });
}

void register_row_blocks(py::module_& m) {
    m.def(
        "block_column_lse",
        [](const py::array& C, const py::array& log_a, const py::array& f, double eps,
           int n_threads) {
            return is_float32(C) ? column_pieces<float>(C, log_a, f, eps, n_threads)
                                 : column_pieces<double>(C, log_a, f, eps, n_threads);
        },
        py::arg("C"), py::arg("log_a"), py::arg("f"), py::arg("eps"), py::arg("n_threads"),
        "Per column of the row block C (n, m): (max_i alpha_i - C_ij / eps, sum_i exp(alpha_i - "
        "C_ij / eps - max)), alpha = log_a + f / eps.");
    m.def(
        "combine_column_lse",
        [](const py::array& mx, const py::array& s) {
            const MatrixView<double> M = matrix_view<double>(mx, "mx");
            const MatrixView<double> S = matrix_view<double>(s, "s");
            require(S.rows == M.rows && S.cols == M.cols, "mx and s must have the same shape");
            py::array_t<double> lse(M.cols);
            combine_column_lse(M.data, S.data, M.rows, M.cols, lse.mutable_data());
            return lse;
        },
        py::arg("mx"), py::arg("s"),
        "Column log-sum-exps of all rows from the (count, m) pieces of the blocks, in order.");
    m.def(
        "block_row_update",
        [](const py::array& C, const py::array& log_b, const py::array& g, double eps, double phi,
           py::array& f, int n_threads) {
            return is_float32(C) ? row_update<float>(C, log_b, g, eps, phi, f, n_threads)
                                 : row_update<double>(C, log_b, g, eps, phi, f, n_threads);
        },
        py::arg("C"), py::arg("log_b"), py::arg("g"), py::arg("eps"), py::arg("phi"), py::arg("f"),
        py::arg("n_threads"),
        "f_i <- -phi eps LSE_j(log_b_j + (g_j - C_ij) / eps) in place for the row block C; "
        "returns the largest change of f.");
}

}  // namespace

void register_transport(py::module_& core) {
    py::module_ m = core.def_submodule(
        "transport",
        "Optimal transport: batched log-domain Sinkhorn scaling and Newton's method "
        "on the semi-dual");

    py::enum_<Method>(m, "Method", "How a Sinkhorn iteration is computed")
        .value("sinkhorn_log", Method::sinkhorn_log, "an exp per entry and iteration")
        .value("sinkhorn_stabilized", Method::sinkhorn_stabilized,
               "a stored Gibbs kernel with the potentials absorbed; no exp per entry");

    py::class_<SinkhornParams>(m, "SinkhornParams",
                               "Parameters of sinkhorn(); phi = rho / (rho + eps), 1 for a hard "
                               "side")
        .def(py::init<>())
        .def_readwrite("eps", &SinkhornParams::eps)
        .def_readwrite("phi_a", &SinkhornParams::phi_a)
        .def_readwrite("phi_b", &SinkhornParams::phi_b)
        .def_readwrite("max_iter", &SinkhornParams::max_iter)
        .def_readwrite("tol", &SinkhornParams::tol)
        .def_readwrite("method", &SinkhornParams::method)
        .def_readwrite("write_plan", &SinkhornParams::write_plan)
        .def_readwrite("n_threads", &SinkhornParams::n_threads)
        .def_readwrite("omega", &SinkhornParams::omega,
                       "overrelaxation: each potential moves omega times its Sinkhorn step, "
                       "omega in [1, 2) (balanced problems without virtual points)");

    py::class_<SinkhornResult>(m, "SinkhornResult", "Per problem of the batch")
        .def_property_readonly("n_iter",
                               [](const py::object& self) {
                                   const auto& r = self.cast<const SinkhornResult&>();
                                   return vector_view(self, r.n_iter,
                                                      {py::ssize_t(r.n_iter.size())});
                               })
        .def_property_readonly("err",
                               [](const py::object& self) {
                                   const auto& r = self.cast<const SinkhornResult&>();
                                   return vector_view(self, r.err, {py::ssize_t(r.err.size())});
                               })
        .def_property_readonly("converged",
                               [](const py::object& self) {
                                   return flags_view(self,
                                                     self.cast<const SinkhornResult&>().converged);
                               })
        .def_property_readonly(
            "n_log_sweeps",
            [](const py::object& self) {
                const auto& r = self.cast<const SinkhornResult&>();
                return vector_view(self, r.n_log_sweeps, {py::ssize_t(r.n_log_sweeps.size())});
            },
            "sweeps that evaluated an exp per entry");

    m.def(
        "sinkhorn",
        [](const py::array& C, const py::array& log_a, const py::array& log_b, const py::array& f,
           const py::array& g, const py::array& fv, const py::array& gv,
           const SinkhornParams& params, const py::object& log_av, const py::object& log_bv,
           const py::object& buffer) {
            if (is_float32(C))
                return run_sinkhorn<float>(C, log_a, log_b, f, g, fv, gv, params, log_av, log_bv,
                                           buffer);
            if (!py::isinstance<py::array_t<double>>(C))
                throw std::invalid_argument("C: expected float32 or float64");
            return run_sinkhorn<double>(C, log_a, log_b, f, g, fv, gv, params, log_av, log_bv,
                                        buffer);
        },
        py::arg("C"), py::arg("log_a"), py::arg("log_b"), py::arg("f"), py::arg("g"), py::arg("fv"),
        py::arg("gv"), py::arg("params"), py::kw_only(), py::arg("log_av") = py::none(),
        py::arg("log_bv") = py::none(), py::arg("buffer") = py::none(),
        "Batched log-domain Sinkhorn (KL convention) on C (B, n, m); updates the float64 "
        "potentials f (B*n), g (B*m), fv (B), gv (B) in place. log_av / log_bv (B): log masses "
        "of a virtual row / column. buffer (C's shape and dtype): the stored Gibbs kernel of the "
        "stabilised method, and the plans at the end when params.write_plan.");

    py::class_<AccelerationParams>(m, "AccelerationParams",
                                   "Parameters of sinkhorn_accelerated(): epsilon-scaling stages "
                                   "and the Newton tail")
        .def(py::init<>())
        .def_readwrite("rho_a", &AccelerationParams::rho_a, "KL penalty of the rows; inf: hard")
        .def_readwrite("rho_b", &AccelerationParams::rho_b, "KL penalty of the columns; inf: hard")
        .def_readwrite("eps_start", &AccelerationParams::eps_start,
                       "eps of the first stage; <= params.eps: no stages")
        .def_readwrite("factor", &AccelerationParams::factor,
                       "eps ratio of successive Sinkhorn stages")
        .def_readwrite("newton_factor", &AccelerationParams::newton_factor,
                       "eps ratio of successive Newton stages")
        .def_readwrite("stage_tol", &AccelerationParams::stage_tol)
        .def_readwrite("stage_max_iter", &AccelerationParams::stage_max_iter)
        .def_readwrite("newton_max_columns", &AccelerationParams::newton_max_columns,
                       "Newton up to this many unknowns; 0: none")
        .def_readwrite("newton_max_work", &AccelerationParams::newton_max_work,
                       "Newton only where (other side) x unknowns^2 is at most this")
        .def_readwrite("probe_max_iter", &AccelerationParams::probe_max_iter,
                       "where Newton would run: plain Sinkhorn first, kept if it converges "
                       "within this many iterations (stopped early when its rate says it will "
                       "not); 0: no probe")
        .def_readwrite("probe_chunk", &AccelerationParams::probe_chunk,
                       "iterations between the probe's rate estimates")
        .def_readwrite("overrelax", &AccelerationParams::overrelax,
                       "the overrelaxed tail of balanced problems: 0 never, 1 where no problem "
                       "takes Newton's tail, 2 always");

    m.def(
        "sinkhorn_accelerated",
        [](const py::array& C, const py::array& log_a, const py::array& log_b, const py::array& f,
           const py::array& g, const py::array& fv, const py::array& gv,
           const SinkhornParams& params, const AccelerationParams& acc, const py::object& log_av,
           const py::object& log_bv, const py::object& buffer) {
            require(
                acc.factor > 0 && acc.factor < 1 && acc.newton_factor > 0 && acc.newton_factor < 1,
                "factor and newton_factor must be in (0, 1)");
            require(acc.stage_max_iter >= 1, "stage_max_iter must be >= 1");
            require(acc.newton_max_columns >= 0, "newton_max_columns must be >= 0");
            require(acc.probe_max_iter >= 0 && acc.probe_chunk >= 1,
                    "probe_max_iter must be >= 0 and probe_chunk >= 1");
            require(acc.overrelax >= 0 && acc.overrelax <= 2, "overrelax must be 0, 1 or 2");
            require(acc.rho_a > 0 && acc.rho_b > 0, "rho must be positive (inf: hard)");
            if (is_float32(C))
                return run_sinkhorn<float>(C, log_a, log_b, f, g, fv, gv, params, log_av, log_bv,
                                           buffer, &acc);
            if (!py::isinstance<py::array_t<double>>(C))
                throw std::invalid_argument("C: expected float32 or float64");
            return run_sinkhorn<double>(C, log_a, log_b, f, g, fv, gv, params, log_av, log_bv,
                                        buffer, &acc);
        },
        py::arg("C"), py::arg("log_a"), py::arg("log_b"), py::arg("f"), py::arg("g"), py::arg("fv"),
        py::arg("gv"), py::arg("params"), py::arg("acc"), py::kw_only(),
        py::arg("log_av") = py::none(), py::arg("log_bv") = py::none(),
        py::arg("buffer") = py::none(),
        "sinkhorn() with a probe of plain Sinkhorn, epsilon-scaling stages from acc.eps_start "
        "down to params.eps, a Newton and / or an overrelaxed tail, then Sinkhorn at "
        "params.eps; n_iter counts every part, and all parts together run at most "
        "params.max_iter.");

    py::class_<NewtonParams>(m, "NewtonParams", "Parameters of semidual_newton()")
        .def(py::init<>())
        .def_readwrite("eps", &NewtonParams::eps)
        .def_readwrite("rho", &NewtonParams::rho, "KL relaxation of the real columns; inf: hard")
        .def_readwrite("virtual_column", &NewtonParams::virtual_column,
                       "a hard virtual column of cost 0 (the last potential)")
        .def_readwrite("log_bv", &NewtonParams::log_bv, "log mass of the virtual column")
        .def_readwrite("max_iter", &NewtonParams::max_iter)
        .def_readwrite("tol", &NewtonParams::tol)
        .def_readwrite("want_plan", &NewtonParams::want_plan)
        .def_readwrite("n_threads", &NewtonParams::n_threads);

    py::class_<NewtonResult>(m, "NewtonResult")
        .def_property_readonly("f",
                               [](const py::object& self) {
                                   const auto& r = self.cast<const NewtonResult&>();
                                   return vector_view(self, r.f, {py::ssize_t(r.f.size())});
                               })
        .def_property_readonly("plan",
                               [](const py::object& self) -> py::object {
                                   const auto& r = self.cast<const NewtonResult&>();
                                   if (r.plan.empty()) return py::none();
                                   const py::ssize_t n = py::ssize_t(r.f.size());
                                   return vector_view(self, r.plan,
                                                      {n, py::ssize_t(r.plan.size()) / n});
                               })
        .def_readonly("n_iter", &NewtonResult::n_iter)
        .def_readonly("err", &NewtonResult::err, "L1 norm of the gradient")
        .def_readonly("converged", &NewtonResult::converged);

    py::class_<LloydParams>(m, "LloydParams", "Parameters of lloyd()")
        .def(py::init<>())
        .def_readwrite("eps", &LloydParams::eps)
        .def_readwrite("rho", &LloydParams::rho, "KL relaxation of the cluster sizes; inf: hard")
        .def_readwrite("virtual_column", &LloydParams::virtual_column,
                       "a virtual cluster of cost 0 (mass < 1; the last potential)")
        .def_readwrite("log_bv", &LloydParams::log_bv, "log mass of the virtual cluster")
        .def_readwrite("first_iteration", &LloydParams::first_iteration,
                       "the first Lloyd iteration to run (the caller ran the ones before)")
        .def_readwrite("max_iter", &LloydParams::max_iter)
        .def_readwrite("final_only", &LloydParams::final_only,
                       "only the final assignment, with the given centres")
        .def_readwrite("shift_tol", &LloydParams::shift_tol,
                       "stop when the squared centre shift is at most this")
        .def_readwrite("labels_rule", &LloydParams::labels_rule,
                       "stop instead when the labels repeat")
        .def_readwrite("newton_max_iter", &LloydParams::newton_max_iter)
        .def_readwrite("assign_tol", &LloydParams::assign_tol)
        .def_readwrite("n_threads", &LloydParams::n_threads);

    py::class_<LloydResult>(m, "LloydResult")
        .def_readonly("n_iter", &LloydResult::n_iter, "the last Lloyd iteration")
        .def_readonly("converged", &LloydResult::converged, "the stopping rule was met")
        .def_readonly("final", &LloydResult::final, "the last assignment is the final one")
        .def_property_readonly(
            "assignment",
            [](const py::object& self) {
                return py::cast(&self.cast<const LloydResult&>().assignment,
                                py::return_value_policy::reference_internal, self);
            },
            "the last assignment (Newton's result)")
        .def_property_readonly("costs",
                               [](const py::object& self) {
                                   const auto& r = self.cast<const LloydResult&>();
                                   const py::ssize_t n = py::ssize_t(r.assignment.f.size());
                                   return vector_view(self, r.costs,
                                                      {n, py::ssize_t(r.costs.size()) / n});
                               })
        .def_property_readonly("labels",
                               [](const py::object& self) -> py::object {
                                   const auto& r = self.cast<const LloydResult&>();
                                   if (r.labels.empty()) return py::none();
                                   return vector_view(self, r.labels,
                                                      {py::ssize_t(r.labels.size())});
                               })
        .def_property_readonly("shift",
                               [](const py::object& self) {
                                   const auto& r = self.cast<const LloydResult&>();
                                   return vector_view(self, r.shift, {py::ssize_t(r.shift.size())});
                               })
        .def_property_readonly("steps",
                               [](const py::object& self) {
                                   const auto& r = self.cast<const LloydResult&>();
                                   return vector_view(self, r.steps, {py::ssize_t(r.steps.size())});
                               })
        .def_property_readonly("err", [](const py::object& self) {
            const auto& r = self.cast<const LloydResult&>();
            return vector_view(self, r.err, {py::ssize_t(r.err.size())});
        });

    m.def("lloyd", &run_lloyd, py::arg("X"), py::arg("a"), py::arg("log_b"), py::arg("centres"),
          py::arg("g"), py::arg("previous_labels"), py::arg("params"),
          "SinkhornKMeans' Lloyd iterations on X (n, d) with Newton assignments; centres (k, d) "
          "and g (k, +1 with the virtual cluster) are updated in place. Stops early when an "
          "assignment does not converge (result.final False, the caller continues).");
    m.def("centre_distances", &run_centre_distances, py::arg("X"), py::arg("centres"),
          py::arg("n_threads"), "Squared distances (n, k) of X (n, d) to centres (k, d).");
    m.def("update_centres", &run_update_centres, py::arg("X"), py::arg("plan"), py::arg("centres"),
          py::arg("n_threads"),
          "centres_j = plan[:, j] X / plan[:, j].sum() in place (columns with mass); returns the "
          "squared shift.");

    m.def("semidual_newton", &run_newton, py::arg("C"), py::arg("a"), py::arg("log_b"),
          py::arg("g"), py::arg("params"),
          "Entropic OT with hard rows (weights a) and few columns (costs C (n, k), log-masses "
          "log_b) by Newton's method on the semi-dual. g (k, +1 with the virtual column) is "
          "updated in place.");
    register_row_blocks(m);
}

}  // namespace partita::bindings
