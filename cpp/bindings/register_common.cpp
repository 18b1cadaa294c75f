// Bindings of what the families share: checks of dense n x n matrices
// (cpp/include/partita/matrix_checks.hpp), as the submodule _core.common.
#include "bindings.hpp"
#include "partita/matrix_checks.hpp"

namespace partita::bindings {

namespace {

using matrix_checks::MatrixReport;

MatrixReport inspect(const py::array& matrix, int n_threads) {
    const int threads = resolve_threads(n_threads);
    auto run = [&](const auto& D) {
        return without_gil([&] { return matrix_checks::inspect_matrix(D, threads); });
    };
    return is_float32(matrix) ? run(matrix_view<float>(matrix, "matrix"))
                              : run(matrix_view<double>(matrix, "matrix"));
}

void register_matrix_checks(py::module_& common) {
    py::class_<MatrixReport>(common, "MatrixReport", "What one pass over a square matrix found.")
        .def_readonly("n_nonfinite", &MatrixReport::n_nonfinite,
                      "NaN or infinite entries (the other fields are then moot)")
        .def_readonly("min", &MatrixReport::min_value)
        .def_readonly("max", &MatrixReport::max_value)
        .def_readonly("max_abs_diagonal", &MatrixReport::max_abs_diagonal)
        .def_readonly("max_asymmetry", &MatrixReport::max_asymmetry, "max |m[i, j] - m[j, i]|");

    common.def(
        "inspect_matrix", &inspect, py::arg("matrix"), py::arg("n_threads"),
        "min, max, largest |diagonal|, largest |m[i, j] - m[j, i]| and the count of NaN / inf.");

    common.def(
        "symmetrize_matrix",
        [](py::array& matrix, int n_threads) {
            if (!matrix.writeable())
                throw std::invalid_argument("symmetrize: the matrix must be writeable");
            const int threads = resolve_threads(n_threads);
            auto run = [&](auto* data, index_t n) {
                without_gil([&] {
                    matrix_checks::symmetrize(data, n, threads);
                    return 0;
                });
            };
            if (is_float32(matrix)) {
                matrix_view<float>(matrix, "matrix");
                run(static_cast<float*>(matrix.mutable_data()), matrix.shape(0));
            } else {
                matrix_view<double>(matrix, "matrix");
                run(static_cast<double*>(matrix.mutable_data()), matrix.shape(0));
            }
        },
        py::arg("matrix"), py::arg("n_threads"),
        "In place: copy the upper triangle onto the lower one and zero the diagonal.");
}

}  // namespace

void register_common(py::module_& core) {
    py::module_ common = core.def_submodule("common", "Checks shared by the families");
    register_matrix_checks(common);
}

}  // namespace partita::bindings
