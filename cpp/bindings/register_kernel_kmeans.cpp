// Bindings of the kernel k-means kernels (cpp/include/partita/kernel_kmeans/): the submodule
// _core.kernel_kmeans.
//
// lloyd() takes a Gram source as its first argument: a C-contiguous float32/float64 symmetric
// n x n matrix, or a KernelFeatures32/KernelFeatures64 object whose Gram rows are recomputed in
// blocks every iteration.
#include <cstdint>
#include <string>

#include "bindings.hpp"
#include "partita/kernel_kmeans/gram.hpp"
#include "partita/kernel_kmeans/lloyd.hpp"

namespace partita::bindings {

namespace {

using namespace partita::kernel_kmeans;

std::vector<index_t> index_vector(const py::array& a, const char* name) {
    const index_t* p = vector_data<index_t>(a, a.shape(0), name);
    return std::vector<index_t>(p, p + a.shape(0));
}

template <class T>
py::array_t<T> gram_rows(const KernelFeatures<T>& X, const std::vector<index_t>& js, int threads) {
    const index_t n = X.size(), m = index_t(js.size());
    py::array_t<T> out({m, n});
    T* data = out.mutable_data();
    without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        BlockedGram<T> src(&X);
        chunked_pass<T>(n, threads, interrupt, [&](index_t b, index_t e, std::vector<T>& scratch) {
            src.rows(js.data(), m, b, e, scratch, [&](index_t r, const T* seg) {
                std::copy(seg, seg + (e - b), data + r * n + b);
            });
        });
        return 0;
    });
    return out;
}

template <class T>
py::array_t<T> full_gram(const KernelFeatures<T>& X, int n_threads) {
    const index_t n = X.size();
    py::array_t<T> out({n, n});
    T* data = out.mutable_data();
    const int threads = resolve_threads(n_threads);
    without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        fill_gram(X, data, threads, interrupt);
        return 0;
    });
    return out;
}

template <class T>
py::tuple new_data_sums(const KernelFeatures<T>& X, const py::array& Y, const py::array& centres,
                        const py::array& weights, index_t k, int n_threads) {
    const MatrixView<T> y = matrix_view<T>(Y, "Y");
    const index_t n = X.size();
    const auto* L = vector_data<std::int32_t>(centres, n, "centres");
    const double* w = vector_data<double>(weights, n, "weights");
    for (index_t j = 0; j < n; ++j) require(L[j] >= 0 && L[j] < k, "centres: label out of range");
    py::array_t<double> sums({y.rows, k});
    py::array_t<T> self(y.rows);
    double* s = sums.mutable_data();
    T* d = self.mutable_data();
    const int threads = resolve_threads(n_threads);
    without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        cross_sums(X, y, L, w, k, threads, interrupt, s, d);
        return 0;
    });
    return py::make_tuple(sums, self);
}

template <class T>
void register_features(py::module_& m, const char* name) {
    py::class_<KernelFeatures<T>>(m, name,
                                  "Feature rows and a kernel: Gram rows computed on demand.")
        .def(py::init([](const py::array& X, const KernelParams& params) {
                 return new KernelFeatures<T>(matrix_view<T>(X, "X"), params);
             }),
             py::arg("X"), py::arg("params"))
        .def_property_readonly("n_samples", &KernelFeatures<T>::size)
        .def(
            "diagonal", [](const KernelFeatures<T>& X) { return to_numpy(X.diagonal()); },
            "K(x_i, x_i) for every point.")
        .def("gram", &full_gram<T>, py::arg("n_threads"),
             "The full n x n Gram matrix (equal to the recomputed rows).")
        .def(
            "rows",
            [](const KernelFeatures<T>& X, const py::array& idx, int n_threads) {
                const std::vector<index_t> js = index_vector(idx, "indices");
                check_indices(js.data(), index_t(js.size()), X.size(), "indices", false);
                return gram_rows(X, js, resolve_threads(n_threads));
            },
            py::arg("indices"), py::arg("n_threads"),
            "Rows of the Gram matrix for the given points, shape (len(indices), n).")
        .def(
            "cross_sums", &new_data_sums<T>, py::arg("Y"), py::arg("centres"), py::arg("weights"),
            py::arg("k"), py::arg("n_threads"),
            "For new rows Y: (sum_{j: centres_j = c} w_j K(y_i, x_j), shape (m, k); K(y_i, y_i)).");
}

template <class Src>
Result run_lloyd(const Src& src, const std::vector<index_t>& seeds, const double* w,
                 const LloydParams& params, const py::object& progress) {
    Progress report;
    if (!progress.is_none())
        report = [&progress](index_t it, index_t changed, double inertia) {
            py::gil_scoped_acquire gil;
            progress(it, changed, inertia);
        };
    return without_gil([&] {
        InterruptCheck interrupt = python_interrupt_check();
        return lloyd(src, seeds, w, params, interrupt, report);
    });
}

Result lloyd_on(const py::object& source, const py::array& seeds, const py::array& weights,
                const LloydParams& params, const py::object& progress) {
    const std::vector<index_t> s = index_vector(seeds, "seeds");
    if (py::isinstance<KernelFeatures<float>>(source)) {
        const auto& X = source.cast<const KernelFeatures<float>&>();
        const double* w = vector_data<double>(weights, X.size(), "weights");
        return run_lloyd(BlockedGram<float>(&X), s, w, params, progress);
    }
    if (py::isinstance<KernelFeatures<double>>(source)) {
        const auto& X = source.cast<const KernelFeatures<double>&>();
        const double* w = vector_data<double>(weights, X.size(), "weights");
        return run_lloyd(BlockedGram<double>(&X), s, w, params, progress);
    }
    if (!py::isinstance<py::array>(source))
        throw std::invalid_argument("source: expected a Gram matrix or KernelFeatures");
    const py::array K = source.cast<py::array>();
    if (K.ndim() != 2 || K.shape(0) != K.shape(1))
        throw std::invalid_argument("source: the Gram matrix must be square");
    const double* w = vector_data<double>(weights, K.shape(0), "weights");
    if (is_float32(K))
        return run_lloyd(StoredGram<float>{matrix_view<float>(K, "K")}, s, w, params, progress);
    return run_lloyd(StoredGram<double>{matrix_view<double>(K, "K")}, s, w, params, progress);
}

void register_types(py::module_& m) {
    py::enum_<Kernel>(m, "Kernel", "Kernels computed in C++ from the features.")
        .value("linear", Kernel::linear)
        .value("rbf", Kernel::rbf)
        .value("polynomial", Kernel::polynomial)
        .value("sigmoid", Kernel::sigmoid)
        .value("laplacian", Kernel::laplacian);

    py::class_<KernelParams>(m, "KernelParams", "A kernel and its coefficients.")
        .def(py::init([](Kernel kernel, double gamma, double degree, double coef0) {
                 return KernelParams{kernel, gamma, degree, coef0};
             }),
             py::arg("kernel") = Kernel::rbf, py::arg("gamma") = 1.0, py::arg("degree") = 3.0,
             py::arg("coef0") = 1.0)
        .def_readwrite("kernel", &KernelParams::kernel)
        .def_readwrite("gamma", &KernelParams::gamma)
        .def_readwrite("degree", &KernelParams::degree)
        .def_readwrite("coef0", &KernelParams::coef0);

    py::class_<LloydParams>(m, "LloydParams", "Stopping rule and threads of lloyd().")
        .def(py::init([](index_t max_iter, double tol, int n_threads) {
                 return LloydParams{max_iter, tol, n_threads};
             }),
             py::arg("max_iter") = 300, py::arg("tol") = 1e-4, py::arg("n_threads") = 0)
        .def_readwrite("max_iter", &LloydParams::max_iter)
        .def_readwrite("tol", &LloydParams::tol)
        .def_readwrite("n_threads", &LloydParams::n_threads, "<= 0: what OpenMP would use");

    py::class_<Result>(m, "LloydResult", "The outcome of lloyd().")
        .def_property_readonly(
            "labels", [](const Result& r) { return to_numpy(r.labels); },
            "Nearest centre of every point (ties: lowest cluster).")
        .def_property_readonly(
            "centres", [](const Result& r) { return to_numpy(r.centres); },
            "The partition whose means are the final centres.")
        .def_property_readonly(
            "distances", [](const Result& r) { return to_numpy(r.distances); },
            "Squared feature-space distance of every point to its centre.")
        .def_property_readonly(
            "cluster_weights", [](const Result& r) { return to_numpy(r.cluster_weights); },
            "Weight s_c of every cluster of the centre partition.")
        .def_property_readonly(
            "centre_norms", [](const Result& r) { return to_numpy(r.centre_norms); },
            "Squared feature-space norm of every centre.")
        .def_readonly("inertia", &Result::inertia, "The kernel k-means objective of labels.")
        .def_readonly("n_iter", &Result::n_iter)
        .def_readonly("n_reseeded", &Result::n_reseeded)
        .def_readonly("converged", &Result::converged, "No point changed cluster.")
        .def_readonly("tol_reached", &Result::tol_reached,
                      "Stopped because the inertia fell by at most tol.");
}

}  // namespace

void register_kernel_kmeans(py::module_& core) {
    py::module_ m = core.def_submodule("kernel_kmeans", "Kernel k-means: Gram sources and Lloyd.");
    register_types(m);
    register_features<float>(m, "KernelFeatures32");
    register_features<double>(m, "KernelFeatures64");
    m.def("lloyd", &lloyd_on, py::arg("source"), py::arg("seeds"), py::arg("weights"),
          py::arg("params"), py::arg("progress") = py::none(),
          "Kernel k-means (Lloyd's iterations) from the feature-space images of the seed points.");
}

}  // namespace partita::bindings
