// Bindings of the k-medoids kernels (cpp/include/partita/medoids.hpp).
#include <string>

#include "bindings.hpp"
#include "partita/medoids.hpp"

namespace partita::bindings {

namespace {

using namespace partita::medoids;

py::dict result_dict(Result&& r) {
    py::dict d;
    d["medoids"] = to_numpy(r.medoids);
    d["labels"] = to_numpy(r.labels);
    d["loss"] = r.loss;
    d["n_iter"] = r.n_iter;
    d["n_swaps"] = r.n_swaps;
    return d;
}

template <class T>
py::dict optimise_impl(const py::array& dist, const py::array& medoids, const py::array& weights,
                       const std::string& method, index_t max_iter, int n_threads) {
    const MatrixView<T> D = matrix_view<T>(dist, "dist");
    const index_t k = medoids.shape(0);
    const index_t* m = vector_data<index_t>(medoids, k, "medoids");
    const double* w = vector_data<double>(weights, D.rows, "weights");
    std::vector<index_t> med(m, m + k);
    const int threads = resolve_threads(n_threads);
    return result_dict(without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        if (method == "fasterpam") return fasterpam(D, med, w, max_iter, threads, interrupt);
        if (method == "fastpam1") return fastpam1(D, med, w, max_iter, threads, interrupt);
        if (method == "pam") return pam(D, med, w, max_iter, threads, interrupt);
        if (method == "alternate") return alternate(D, med, w, max_iter, threads, interrupt);
        throw std::invalid_argument("unknown k-medoids method: " + method);
    }));
}

template <class T>
py::array_t<index_t> build_impl(const py::array& dist, index_t k, const py::array& weights,
                                int n_threads) {
    const MatrixView<T> D = matrix_view<T>(dist, "dist");
    const double* w = vector_data<double>(weights, D.rows, "weights");
    const int threads = resolve_threads(n_threads);
    return to_numpy(without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        return build(D, k, w, threads, interrupt);
    }));
}

template <class T>
py::array_t<index_t> lab_impl(const py::array& dist, const py::array& samples,
                              const py::array& weights) {
    const MatrixView<T> D = matrix_view<T>(dist, "dist");
    const MatrixView<index_t> S = matrix_view<index_t>(samples, "samples");
    const double* w = vector_data<double>(weights, D.rows, "weights");
    return to_numpy(without_gil([&] { return lab(D, S, w); }));
}

template <class T>
py::array_t<index_t> plusplus_impl(const py::array& dist, index_t k, const py::array& weights,
                                   std::uint64_t seed, int n_threads) {
    const MatrixView<T> D = matrix_view<T>(dist, "dist");
    const double* w = vector_data<double>(weights, D.rows, "weights");
    const int threads = resolve_threads(n_threads);
    return to_numpy(without_gil([&] { return kmedoids_plusplus(D, k, w, seed, threads); }));
}

template <class T>
py::dict inspect_impl(const py::array& dist, int n_threads) {
    const MatrixView<T> D = matrix_view<T>(dist, "dist");
    const int threads = resolve_threads(n_threads);
    const MatrixReport r = without_gil([&] { return inspect_matrix(D, threads); });
    py::dict d;
    d["min"] = r.min_value;
    d["max"] = r.max_value;
    d["max_abs_diagonal"] = r.max_abs_diagonal;
    d["max_asymmetry"] = r.max_asymmetry;
    d["n_nonfinite"] = r.n_nonfinite;
    return d;
}

template <class T>
void symmetrize_impl(py::array& dist, int n_threads) {
    if (!dist.writeable())
        throw std::invalid_argument("symmetrize: the matrix must be writeable");
    const MatrixView<T> D = matrix_view<T>(dist, "dist");
    T* data = static_cast<T*>(dist.mutable_data());
    const int threads = resolve_threads(n_threads);
    without_gil([&] {
        symmetrize(data, D.rows, threads);
        return 0;
    });
}

}  // namespace

void register_medoids(py::module_& m) {
    m.def(
        "kmedoids_optimise",
        [](const py::array& dist, const py::array& medoids, const py::array& weights,
           const std::string& method, index_t max_iter, int n_threads) {
            return is_float32(dist)
                       ? optimise_impl<float>(dist, medoids, weights, method, max_iter, n_threads)
                       : optimise_impl<double>(dist, medoids, weights, method, max_iter, n_threads);
        },
        py::arg("dist"), py::arg("medoids"), py::arg("weights"), py::arg("method"),
        py::arg("max_iter"), py::arg("n_threads"),
        "Optimise the medoids (fasterpam | fastpam1 | pam | alternate) from the given initial ones.");
    m.def(
        "kmedoids_build",
        [](const py::array& dist, index_t k, const py::array& weights, int n_threads) {
            return is_float32(dist) ? build_impl<float>(dist, k, weights, n_threads)
                                    : build_impl<double>(dist, k, weights, n_threads);
        },
        py::arg("dist"), py::arg("k"), py::arg("weights"), py::arg("n_threads"),
        "PAM BUILD initialisation: k medoid indices.");
    m.def(
        "kmedoids_lab",
        [](const py::array& dist, const py::array& samples, const py::array& weights) {
            return is_float32(dist) ? lab_impl<float>(dist, samples, weights)
                                    : lab_impl<double>(dist, samples, weights);
        },
        py::arg("dist"), py::arg("samples"), py::arg("weights"),
        "LAB initialisation from k rows of sample indices.");
    m.def(
        "kmedoids_plusplus",
        [](const py::array& dist, index_t k, const py::array& weights, std::uint64_t seed,
           int n_threads) {
            return is_float32(dist) ? plusplus_impl<float>(dist, k, weights, seed, n_threads)
                                    : plusplus_impl<double>(dist, k, weights, seed, n_threads);
        },
        py::arg("dist"), py::arg("k"), py::arg("weights"), py::arg("seed"), py::arg("n_threads"),
        "k-medoids++ initialisation.");
    m.def(
        "inspect_distance_matrix",
        [](const py::array& dist, int n_threads) {
            return is_float32(dist) ? inspect_impl<float>(dist, n_threads)
                                    : inspect_impl<double>(dist, n_threads);
        },
        py::arg("dist"), py::arg("n_threads"),
        "min, max, largest |diagonal| and largest |d(i,j) - d(j,i)| of a square matrix.");
    m.def(
        "symmetrize_distance_matrix",
        [](py::array& dist, int n_threads) {
            if (is_float32(dist))
                symmetrize_impl<float>(dist, n_threads);
            else
                symmetrize_impl<double>(dist, n_threads);
        },
        py::arg("dist"), py::arg("n_threads"),
        "In place: copy the upper triangle onto the lower one and zero the diagonal.");
}

}  // namespace partita::bindings
