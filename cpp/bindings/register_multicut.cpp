// Bindings of the dense multicut kernels (cpp/include/partita/multicut.hpp).
//
// Every function takes the features X (C-contiguous float32 or float64, validated in Python:
// finite, offset >= 0, no zero rows when normalise) and converts them once to float64 rows.
#include <cstdint>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "partita/multicut.hpp"

namespace partita::bindings {

namespace {

using namespace partita::multicut;

std::vector<double> features(const py::array& X, bool normalise, index_t& n, index_t& d) {
    if (is_float32(X)) {
        const MatrixView<float> v = matrix_view<float>(X, "X");
        n = v.rows;
        d = v.cols;
        return to_double(v, normalise);
    }
    const MatrixView<double> v = matrix_view<double>(X, "X");
    n = v.rows;
    d = v.cols;
    return to_double(v, normalise);
}

py::array_t<std::int64_t> labels_array(const std::vector<index_t>& labels) {
    py::array_t<std::int64_t> out(labels.size());
    std::copy(labels.begin(), labels.end(), out.mutable_data());
    return out;
}

}  // namespace

void register_multicut(py::module_& m) {
    m.def(
        "multicut_solve",
        [](const py::array& X, double offset, int algorithm, index_t n_neighbors, bool refine,
           index_t max_passes, bool normalise, int n_threads) {
            require(algorithm == 0 || algorithm == 1, "unknown multicut algorithm code");
            require(n_neighbors >= 1, "n_neighbors must be >= 1");
            require(offset >= 0.0, "offset must be >= 0");
            index_t n = 0, d = 0;
            const int threads = resolve_threads(n_threads);
            Result r = without_gil([&] {
                const std::vector<double> F = features(X, normalise, n, d);
                InterruptCheck interrupt = python_interrupt_check();
                return solve(F, n, d, offset, Algorithm(algorithm), n_neighbors, refine,
                             max_passes, threads, interrupt);
            });
            py::dict out;
            out["labels"] = labels_array(r.labels);
            out["n_clusters"] = r.n_clusters;
            out["n_merges"] = r.n_merges;
            out["n_rounds"] = r.n_rounds;
            out["n_queries"] = r.n_queries;
            out["n_moves"] = r.n_moves;
            out["objective"] = r.objective;
            return out;
        },
        py::arg("X"), py::arg("offset"), py::arg("algorithm"), py::arg("n_neighbors"),
        py::arg("refine"), py::arg("max_passes"), py::arg("normalise"), py::arg("n_threads"),
        "Dense multicut of the rows of X (algorithm 0 = exact-order GAEC, 1 = lazy kNN rounds), "
        "optionally refined by node moves; returns labels (0..c-1), n_clusters, n_merges, "
        "n_rounds, n_queries, n_moves, objective.");

    m.def(
        "multicut_objective",
        [](const py::array& X, const py::array& labels, index_t n_clusters, double offset,
           bool normalise) {
            index_t n = 0, d = 0;
            const index_t* L = vector_data<index_t>(labels, X.ndim() == 2 ? X.shape(0) : -1, "labels");
            return without_gil([&] {
                const std::vector<double> F = features(X, normalise, n, d);
                for (index_t i = 0; i < n; ++i)
                    require(L[i] >= 0 && L[i] < n_clusters, "labels: out of range");
                return objective(F.data(), n, d, L, n_clusters, offset);
            });
        },
        py::arg("X"), py::arg("labels"), py::arg("n_clusters"), py::arg("offset"),
        py::arg("normalise"),
        "Sum of the costs <f_i, f_j> - offset of the edges cut by labels (0..n_clusters-1), O(n d).");

    m.def(
        "multicut_knn",
        [](const py::array& X, const py::array& sizes, double offset, index_t k, bool normalise,
           int n_threads) {
            index_t n = 0, d = 0;
            std::vector<index_t> nbr;
            std::vector<double> cost;
            const int threads = resolve_threads(n_threads);
            const double* s = vector_data<double>(sizes, X.ndim() == 2 ? X.shape(0) : -1, "sizes");
            without_gil([&] {
                const std::vector<double> F = features(X, normalise, n, d);
                InterruptCheck interrupt = python_interrupt_check();
                knn_positive(F.data(), s, n, d, offset, k, threads, interrupt, nbr, cost);
                return 0;
            });
            py::array_t<std::int64_t> idx({n, k});
            py::array_t<double> val({n, k});
            std::copy(nbr.begin(), nbr.end(), idx.mutable_data());
            std::copy(cost.begin(), cost.end(), val.mutable_data());
            return py::make_tuple(idx, val);
        },
        py::arg("X"), py::arg("sizes"), py::arg("offset"), py::arg("k"), py::arg("normalise"),
        py::arg("n_threads"),
        "Exact kNN with positive costs <x_i, x_j> - offset * s_i * s_j: (indices, costs), shape "
        "(n, k), ordered by cost (ties to the smaller index), -1 past the last positive one.");
}

}  // namespace partita::bindings
