// partita._cuda.kernel_kmeans: the kernel k-means GPU kernels.
#include <pybind11/stl.h>

#include "cuda_bindings.hpp"
#include "partita/cuda/kernel_kmeans.hpp"

namespace partita::cuda::bindings {

namespace {
// A NumPy array (any dtype that converts) as a vector, without a Python object per element.
template <class T>
std::vector<T> as_vector(const py::array_t<T, py::array::c_style | py::array::forcecast>& a) {
    return std::vector<T>(a.data(), a.data() + a.size());
}
template <class T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;
}  // namespace

void register_kernel_kmeans(py::module_& top) {
    namespace kk = kernel_kmeans;
    py::module_ m = top.def_submodule("kernel_kmeans", "kernel k-means kernels on the GPU");
    // The estimators whose fit runs on these kernels (partita._backend.supported_devices).
    m.attr("estimators") = py::make_tuple("KernelKMeans");
    m.def("free_device_memory", &kk::free_device_memory,
          "Free bytes of device memory (whether a Gram matrix can be stored).");
    py::enum_<kk::Kernel>(m, "Kernel", py::module_local())
        .value("linear", kk::Kernel::linear)
        .value("rbf", kk::Kernel::rbf)
        .value("polynomial", kk::Kernel::polynomial)
        .value("sigmoid", kk::Kernel::sigmoid)
        .value("laplacian", kk::Kernel::laplacian);
    py::class_<kk::KernelParams>(m, "KernelParams", py::module_local())
        .def(py::init([](kk::Kernel kernel, double gamma, double degree, double coef0) {
                 return kk::KernelParams{kernel, gamma, degree, coef0};
             }),
             py::arg("kernel"), py::arg("gamma"), py::arg("degree") = 3.0, py::arg("coef0") = 1.0);
    py::class_<kk::Assignment>(m, "Assignment", py::module_local(),
                               "Nearest cluster of every point and its distance.")
        .def_property_readonly("labels", [](const kk::Assignment& a) { return to_numpy(a.labels); })
        .def_property_readonly("distances",
                               [](const kk::Assignment& a) { return to_numpy(a.distances); });
    py::class_<kk::Problem>(
        m, "Problem", py::module_local(),
        "A Gram matrix on the device (stored, or recomputed in tiles from the features) and the "
        "cluster sums E = K Z of kernel k-means.")
        .def(py::init([](const py::object& X, const kk::KernelParams& p, bool store) {
                 const ArrayRef x = array_ref(X, "X");
                 return without_gil([&] { return kk::Problem(x, p, store); });
             }),
             py::arg("X"), py::arg("params"), py::arg("store"))
        .def_static(
            "precomputed",
            [](const py::object& K) {
                const ArrayRef g = array_ref(K, "K");
                return without_gil([&] { return kk::Problem(g); });
            },
            py::arg("K"), "A precomputed n x n Gram matrix (the caller keeps it alive).")
        .def_property_readonly("size", &kk::Problem::size)
        .def_property_readonly("stored", &kk::Problem::stored)
        .def_property_readonly("dtype", [](const kk::Problem& p) { return dtype_name(p.dtype()); })
        .def("diagonal",
             [](const kk::Problem& p) {
                 return values_array(without_gil([&] { return p.diagonal(); }), p.dtype());
             })
        .def(
            "rows",
            [](const kk::Problem& p, const py::array_t<std::int64_t, py::array::forcecast>& js) {
                const std::vector<std::int64_t> j(js.data(), js.data() + js.size());
                auto out = values_array(without_gil([&] { return p.rows(j); }), p.dtype());
                out.resize({py::ssize_t(j.size()), py::ssize_t(p.size())});
                return out;
            },
            py::arg("js"), "Gram rows js (count x n) in the Gram's dtype.")
        .def("reset_sums", &kk::Problem::reset_sums, py::arg("k"))
        .def(
            "accumulate",
            [](kk::Problem& p, const Array<std::int64_t>& js, const Array<std::int32_t>& from,
               const Array<std::int32_t>& to, const Array<double>& w) {
                const auto j = as_vector(js);
                const auto f = as_vector(from), t = as_vector(to);
                const auto wv = as_vector(w);
                without_gil([&] {
                    p.accumulate(j, f, t, wv, python_interrupt_poll());
                    return 0;
                });
            },
            py::arg("js"), py::arg("from_"), py::arg("to"), py::arg("w"),
            "E[from] -= w K[j], E[to] += w K[j] for each row j in order (from -1: none).")
        .def(
            "assign",
            [](const kk::Problem& p, const Array<double>& s, const Array<double>& norms) {
                const auto sv = as_vector(s), nv = as_vector(norms);
                return without_gil([&] { return p.assign(sv, nv); });
            },
            py::arg("s"), py::arg("norms"))
        .def(
            "own_sums",
            [](const kk::Problem& p, const Array<std::int32_t>& labels) {
                const auto l = as_vector(labels);
                return to_numpy(without_gil([&] { return p.own_sums(l); }));
            },
            py::arg("labels"));
}

}  // namespace partita::cuda::bindings
