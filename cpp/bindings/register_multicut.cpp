// Bindings of the dense multicut kernels (cpp/include/partita/multicut/): the submodule
// partita._core.multicut.
//
// Every function takes the features X (C-contiguous float32 or float64, validated in Python:
// finite, offset >= 0, no zero rows with Metric.cosine) and converts them once to float64 rows;
// optional node weights (None: 1) scale the rows and weigh the sizes.
#include <cstdint>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "partita/multicut/knn.hpp"
#include "partita/multicut/objective.hpp"
#include "partita/multicut/solve.hpp"

namespace partita::bindings {

namespace {

using namespace partita::multicut;

// The kNN lists of knn_positive(): n x k, -1 (cost 0) past the last neighbour.
struct KnnResult {
    index_t n = 0, k = 0;
    std::vector<index_t> indices;
    std::vector<double> costs;
};

// The rows of X, float32 or float64. Made while the GIL is held (it inspects the NumPy array);
// features() then reads only these views, without the GIL.
struct FeatureViews {
    bool is_float32 = false;
    MatrixView<float> f32;
    MatrixView<double> f64;
};

FeatureViews feature_views(const py::array& X) {
    FeatureViews v;
    v.is_float32 = is_float32(X);
    if (v.is_float32) v.f32 = matrix_view<float>(X, "X");
    else v.f64 = matrix_view<double>(X, "X");
    return v;
}

std::vector<double> features(const FeatureViews& X, Metric metric, index_t& n, index_t& d) {
    if (X.is_float32) {
        n = X.f32.rows;
        d = X.f32.cols;
        return to_double(X.f32, metric);
    }
    n = X.f64.rows;
    d = X.f64.cols;
    return to_double(X.f64, metric);
}

// The node weights (null for None), n of them.
const double* node_weights(const py::object& weights, index_t n) {
    if (weights.is_none()) return nullptr;
    const double* w = vector_data<double>(weights.cast<py::array>(), n, "weights");
    for (index_t i = 0; i < n; ++i) require(w[i] >= 0.0, "weights must be >= 0");
    return w;
}

template <class T>
py::array_t<T> matrix_array(const std::vector<T>& values, index_t rows, index_t cols) {
    py::array_t<T> out({rows, cols});
    std::copy(values.begin(), values.end(), out.mutable_data());
    return out;
}

void bind_types(py::module_& m) {
    py::enum_<Algorithm>(m, "Algorithm", "Contraction: exact greedy order or kNN rounds.")
        .value("gaec", Algorithm::gaec)
        .value("lazy", Algorithm::lazy);
    py::enum_<Metric>(m, "Metric", "Features as given (dot) or unit-normalised rows (cosine).")
        .value("dot", Metric::dot)
        .value("cosine", Metric::cosine);

    py::class_<Params>(m, "Params", "Parameters of solve().")
        .def(py::init([](double offset, Metric metric, Algorithm algorithm, index_t n_neighbors,
                         bool refine, index_t max_passes, index_t max_rounds, int n_threads) {
                 return Params{offset, metric,     algorithm,  n_neighbors,
                               refine, max_passes, max_rounds, n_threads};
             }),
             py::kw_only(), py::arg("offset") = 0.0, py::arg("metric") = Metric::dot,
             py::arg("algorithm") = Algorithm::lazy, py::arg("n_neighbors") = 10,
             py::arg("refine") = true, py::arg("max_passes") = 20, py::arg("max_rounds") = 10,
             py::arg("n_threads") = 0)
        .def_readwrite("offset", &Params::offset)
        .def_readwrite("metric", &Params::metric)
        .def_readwrite("algorithm", &Params::algorithm)
        .def_readwrite("n_neighbors", &Params::n_neighbors)
        .def_readwrite("refine", &Params::refine)
        .def_readwrite("max_passes", &Params::max_passes)
        .def_readwrite("max_rounds", &Params::max_rounds)
        .def_readwrite("n_threads", &Params::n_threads);

    py::class_<Result>(m, "Result", "A multicut: labels and what the solver did.")
        .def_property_readonly("labels", [](const Result& r) { return to_numpy(r.labels); })
        .def_readonly("n_clusters", &Result::n_clusters)
        .def_readonly("n_merges", &Result::n_merges)
        .def_readonly("n_rounds", &Result::n_rounds)
        .def_readonly("n_queries", &Result::n_queries)
        .def_readonly("n_moves", &Result::n_moves)
        .def_readonly("objective", &Result::objective)
        .def_readonly("converged", &Result::converged,
                      "False when the alternation of moves and contraction ran out of rounds.")
        .def_readonly("n_threads", &Result::n_threads, "OpenMP threads used.");

    py::class_<KnnResult>(m, "KnnResult", "Exact kNN lists with positive costs.")
        .def_property_readonly("indices",
                               [](const KnnResult& r) { return matrix_array(r.indices, r.n, r.k); })
        .def_property_readonly("costs",
                               [](const KnnResult& r) { return matrix_array(r.costs, r.n, r.k); });
}

// A kNN search done by a Python callable (F, sizes, offset, k) -> (indices, costs), called
// with the GIL held; its lists are checked for shape and range before the contraction uses them.
KnnSearch python_knn_search(const py::object& knn) {
    return [knn](const double* F, const double* s, index_t m, index_t d, double a, index_t k,
                 std::vector<index_t>& nbr, std::vector<double>& cost) {
        py::gil_scoped_acquire gil;
        py::array_t<double> Fa({py::ssize_t(m), py::ssize_t(d)});
        std::copy(F, F + std::size_t(m) * d, Fa.mutable_data());
        py::array_t<double> sa(static_cast<py::ssize_t>(m));
        std::copy(s, s + m, sa.mutable_data());
        const py::tuple out = knn(Fa, sa, a, k);
        const auto idx = py::array_t<index_t, py::array::c_style | py::array::forcecast>(out[0]);
        const auto val = py::array_t<double, py::array::c_style | py::array::forcecast>(out[1]);
        require(idx.size() == m * k && val.size() == m * k, "knn: expected (m, k) lists");
        nbr.assign(idx.data(), idx.data() + idx.size());
        cost.assign(val.data(), val.data() + val.size());
        for (index_t j : nbr) require(j >= -1 && j < m, "knn: index out of range");
    };
}

}  // namespace

void register_multicut(py::module_& core) {
    py::module_ m = core.def_submodule("multicut", "Dense multicut kernels");
    bind_types(m);

    m.def(
        "solve",
        [](const py::array& X, const Params& params, const py::object& weights,
           const py::object& knn) {
            require(params.n_neighbors >= 1, "n_neighbors must be >= 1");
            require(params.offset >= 0.0, "offset must be >= 0");
            Params p = params;
            p.n_threads = resolve_threads(params.n_threads);
            const double* w = node_weights(weights, X.ndim() == 2 ? X.shape(0) : -1);
            const FeatureViews views = feature_views(X);
            return without_gil([&] {
                index_t n = 0, d = 0;
                std::vector<double> F = features(views, p.metric, n, d);
                if (w) scale_rows(F, n, d, w);
                InterruptCheck interrupt = python_interrupt_check();
                if (knn.is_none()) return solve(F, n, d, p, interrupt, w);
                const KnnSearch search = python_knn_search(knn);
                return solve(F, n, d, p, interrupt, w, &search);
            });
        },
        py::arg("X"), py::arg("params"), py::arg("weights") = py::none(),
        py::arg("knn") = py::none(),
        "Dense multicut of the rows of X (exact-order GAEC or lazy kNN rounds), optionally "
        "refined by node moves; labels 0..c-1. knn: None, or a callable (F, sizes, offset, k) "
        "-> (indices, costs) with knn_positive's contract that does the search of every lazy "
        "round (the GPU's).");

    m.def(
        "objective",
        [](const py::array& X, const py::array& labels, index_t n_clusters, double offset,
           Metric metric, const py::object& weights) {
            index_t n = 0, d = 0;
            const index_t* L =
                vector_data<index_t>(labels, X.ndim() == 2 ? X.shape(0) : -1, "labels");
            const double* w = node_weights(weights, X.ndim() == 2 ? X.shape(0) : -1);
            const FeatureViews views = feature_views(X);
            return without_gil([&] {
                std::vector<double> F = features(views, metric, n, d);
                if (w) scale_rows(F, n, d, w);
                for (index_t i = 0; i < n; ++i)
                    require(L[i] >= 0 && L[i] < n_clusters, "labels: out of range");
                return objective(F.data(), n, d, L, n_clusters, offset, w);
            });
        },
        py::arg("X"), py::arg("labels"), py::arg("n_clusters"), py::arg("offset"),
        py::arg("metric"), py::arg("weights") = py::none(),
        "Sum of the costs <f_i, f_j> - offset of the edges cut by labels (0..n_clusters-1), O(n "
        "d).");

    m.def(
        "knn_positive",
        [](const py::array& X, const py::array& sizes, double offset, index_t k, Metric metric,
           int n_threads) {
            KnnResult r;
            r.k = k;
            const int threads = resolve_threads(n_threads);
            const double* s = vector_data<double>(sizes, X.ndim() == 2 ? X.shape(0) : -1, "sizes");
            require(k >= 0, "k must be >= 0");
            const FeatureViews views = feature_views(X);
            without_gil([&] {
                index_t d = 0;
                const std::vector<double> F = features(views, metric, r.n, d);
                InterruptCheck interrupt = python_interrupt_check();
                knn_positive(F.data(), s, r.n, d, offset, k, threads, interrupt, r.indices,
                             r.costs);
                return 0;
            });
            return r;
        },
        py::arg("X"), py::arg("sizes"), py::arg("offset"), py::arg("k"), py::arg("metric"),
        py::arg("n_threads"),
        "Exact kNN with positive costs <x_i, x_j> - offset * s_i * s_j, shape (n, k), ordered by "
        "cost (ties to the smaller index), -1 past the last positive one.");
}

}  // namespace partita::bindings
