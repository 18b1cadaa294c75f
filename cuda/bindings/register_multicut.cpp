// partita._cuda.multicut: the dense multicut GPU kernels.
#include <pybind11/stl.h>

#include <cstdint>

#include "cuda_bindings.hpp"
#include "partita/cuda/multicut.hpp"

namespace partita::cuda::bindings {

namespace {

// The rows of a (m, d) float64 C-contiguous array, copied.
std::vector<double> float64_rows(const py::object& obj, const char* name, std::int64_t& m,
                                 std::int64_t& d) {
    const auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(obj);
    if (!a || a.ndim() != 2) throw std::invalid_argument(std::string(name) + ": expected (m, d)");
    m = a.shape(0);
    d = a.shape(1);
    return std::vector<double>(a.data(), a.data() + a.size());
}

}  // namespace

void register_multicut(py::module_& top) {
    py::module_ m = top.def_submodule("multicut", "dense multicut kernels on the GPU");
    // The estimators and functions that run on these kernels (partita._backend.supported_devices).
    m.attr("estimators") = py::make_tuple("DenseMulticut", "multicut_objective");
    m.def(
        "knn_positive",
        [](const py::object& F, const py::object& sizes, double offset, std::int64_t k) {
            std::int64_t rows = 0, d = 0;
            const auto f = float64_rows(F, "F", rows, d);
            const auto s = float64_vector(sizes, "sizes");
            if (k < 0) throw std::invalid_argument("k must be >= 0");
            std::vector<std::int64_t> nbr;
            std::vector<double> cost;
            without_gil([&] {
                multicut::knn_positive(f, s, rows, d, offset, k, nbr, cost,
                                       python_interrupt_poll());
                return 0;
            });
            auto idx = to_numpy(nbr);
            auto val = to_numpy(cost);
            idx.resize({py::ssize_t(rows), py::ssize_t(k)});
            val.resize({py::ssize_t(rows), py::ssize_t(k)});
            return py::make_tuple(idx, val);
        },
        py::arg("F"), py::arg("sizes"), py::arg("offset"), py::arg("k"),
        "Exact kNN with positive costs <F_i, F_j> - offset * s_i * s_j of the float64 rows F: "
        "(indices, costs) of shape (m, k), ordered by cost (ties to the smaller index), -1 (cost "
        "0) past the last positive one; the CPU's float64 costs, bit for bit.");
    m.def(
        "objective",
        [](const py::object& X, const py::object& labels, std::int64_t n_clusters, double offset,
           const py::object& weights) {
            std::int64_t n = 0, d = 0;
            const auto x = float64_rows(X, "X", n, d);
            const auto l =
                py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(
                    labels);
            if (!l || l.ndim() != 1) throw std::invalid_argument("labels: expected (n,)");
            const std::vector<std::int64_t> lv(l.data(), l.data() + l.size());
            const auto w = float64_vector(weights, "weights");
            return without_gil(
                [&] { return multicut::objective(x, n, d, lv, n_clusters, offset, w); });
        },
        py::arg("X"), py::arg("labels"), py::arg("n_clusters"), py::arg("offset"),
        py::arg("weights") = py::none(),
        "The multicut objective of labels (0..n_clusters-1) of the float64 rows X (the features, "
        "unscaled; node weights None for 1), the CPU's value bit for bit.");
}

}  // namespace partita::cuda::bindings
