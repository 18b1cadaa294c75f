// partita._cuda.medoids: the k-medoids GPU kernels.
#include "cuda_bindings.hpp"
#include "partita/cuda/medoids.hpp"

namespace partita::cuda::bindings {

namespace {

// A stored matrix (metric None) or feature rows with the metric computed on the device.
medoids::DistanceSource distance_source(const py::object& data, const py::object& metric) {
    medoids::DistanceSource s;
    s.data = array_ref(data, metric.is_none() ? "D" : "X");
    if (!metric.is_none()) {
        s.on_the_fly = true;
        s.metric = metric.cast<medoids::Metric>();
    }
    return s;
}

std::vector<std::int64_t> index_vector(const py::handle& obj) {
    const auto a =
        py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(obj);
    if (!a) throw std::invalid_argument("expected an array of indices");
    return std::vector<std::int64_t>(a.data(), a.data() + a.size());
}

py::array_t<std::int64_t> index_array(const std::vector<std::int64_t>& v) { return to_numpy(v); }

}  // namespace

void register_search(py::module_& m) {
    using medoids::Labelling;
    using medoids::Result;
    py::enum_<medoids::Metric>(m, "Metric", py::module_local())
        .value("euclidean", medoids::Metric::euclidean)
        .value("sqeuclidean", medoids::Metric::sqeuclidean)
        .value("manhattan", medoids::Metric::manhattan)
        .value("cosine", medoids::Metric::cosine);
    py::enum_<medoids::Method>(m, "Method", py::module_local())
        .value("fasterpam", medoids::Method::fasterpam)
        .value("fastpam1", medoids::Method::fastpam1);
    py::class_<Result>(m, "Result", py::module_local(), "Medoids found on the device.")
        .def_property_readonly("medoids", [](const Result& r) { return index_array(r.medoids); })
        .def_property_readonly("labels", [](const Result& r) { return to_numpy(r.labels); })
        .def_readonly("loss", &Result::loss)
        .def_readonly("n_iter", &Result::n_iter)
        .def_readonly("n_swaps", &Result::n_swaps)
        .def_readonly("converged", &Result::converged)
        .def_property_readonly("pass_loss", [](const Result& r) { return to_numpy(r.pass_loss); })
        .def_property_readonly("pass_swaps",
                               [](const Result& r) { return to_numpy(r.pass_swaps); });
    py::class_<medoids::DeviceCopy>(m, "DeviceCopy", py::module_local(),
                                    "A host array copied to device memory once; keep this object "
                                    "alive while its ref is used.")
        .def_property_readonly("ref", [](const medoids::DeviceCopy& c) { return c.ref; });
    m.def(
        "to_device",
        [](const py::object& data) {
            const ArrayRef a = array_ref(data, "data");
            return without_gil([&] { return medoids::to_device(a); });
        },
        py::arg("data"), "Copy a float32/float64 matrix or feature array to the device once.");
    m.def(
        "distance_matrix",
        [](const py::object& X, medoids::Metric metric) {
            const auto src = distance_source(X, py::cast(metric));
            return without_gil([&] { return medoids::distance_matrix(src); });
        },
        py::arg("X"), py::arg("metric"),
        "The n x n distance matrix of feature rows, computed and kept on the device.");
    py::class_<Labelling>(m, "Labelling", py::module_local(), "Every point's nearest medoid.")
        .def_property_readonly("labels", [](const Labelling& l) { return to_numpy(l.labels); })
        .def_readonly("loss", &Labelling::loss);
    m.def(
        "optimise",
        [](const py::object& data, const py::object& metric, const py::object& medoids,
           const py::object& weights, medoids::Method method, std::int64_t max_iter) {
            const auto src = distance_source(data, metric);
            auto med = index_vector(medoids);
            const auto w = float64_vector(weights, "weights");
            const auto poll = python_interrupt_poll();
            return without_gil(
                [&] { return medoids::optimise(src, std::move(med), w, method, max_iter, poll); });
        },
        py::arg("data"), py::arg("metric"), py::arg("medoids"), py::arg("weights"),
        py::arg("method"), py::arg("max_iter"),
        "FasterPAM or FastPAM1 from the given medoids, the candidates scored on the device.");
    m.def(
        "clarans",
        [](const py::object& data, const py::object& metric, const py::object& weights,
           std::int64_t k, std::int64_t n_local, std::int64_t max_neighbors, std::uint64_t seed) {
            const auto src = distance_source(data, metric);
            const auto w = float64_vector(weights, "weights");
            const auto poll = python_interrupt_poll();
            return without_gil(
                [&] { return medoids::clarans(src, k, w, n_local, max_neighbors, seed, poll); });
        },
        py::arg("data"), py::arg("metric"), py::arg("weights"), py::arg("n_clusters"),
        py::arg("n_local"), py::arg("max_neighbors"), py::arg("seed"));
    m.def(
        "label",
        [](const py::object& data, const py::object& metric, const py::object& medoids,
           const py::object& weights) {
            const auto src = distance_source(data, metric);
            const auto med = index_vector(medoids);
            const auto w = float64_vector(weights, "weights");
            return without_gil([&] { return medoids::label(src, med, w); });
        },
        py::arg("data"), py::arg("metric"), py::arg("medoids"), py::arg("weights"),
        "Nearest medoid of every point (lowest slot on ties) and the weighted loss.");
    m.def(
        "build",
        [](const py::object& data, const py::object& metric, std::int64_t k,
           const py::object& weights) {
            const auto src = distance_source(data, metric);
            const auto w = float64_vector(weights, "weights");
            const auto poll = python_interrupt_poll();
            return index_array(without_gil([&] { return medoids::build(src, k, w, poll); }));
        },
        py::arg("data"), py::arg("metric"), py::arg("k"), py::arg("weights"));
    m.def(
        "lab",
        [](const py::object& data, const py::object& metric, const py::object& samples,
           const py::object& weights) {
            const auto src = distance_source(data, metric);
            const auto a =
                py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(
                    samples);
            if (!a || a.ndim() != 2) throw std::invalid_argument("samples: expected k x m indices");
            const std::vector<std::int64_t> s(a.data(), a.data() + a.size());
            const auto w = float64_vector(weights, "weights");
            return index_array(
                without_gil([&] { return medoids::lab(src, s, std::int64_t(a.shape(1)), w); }));
        },
        py::arg("data"), py::arg("metric"), py::arg("samples"), py::arg("weights"));
    m.def(
        "kmedoids_plusplus",
        [](const py::object& data, const py::object& metric, std::int64_t k,
           const py::object& weights, std::uint64_t seed) {
            const auto src = distance_source(data, metric);
            const auto w = float64_vector(weights, "weights");
            return index_array(
                without_gil([&] { return medoids::kmedoids_plusplus(src, k, w, seed); }));
        },
        py::arg("data"), py::arg("metric"), py::arg("k"), py::arg("weights"), py::arg("seed"));
}

void register_medoids(py::module_& top) {
    using medoids::Assignment;
    py::module_ m = top.def_submodule("medoids", "k-medoids kernels on the GPU");
    // The estimators whose fit runs on these kernels (partita._backend.supported_devices).
    m.attr("estimators") = py::make_tuple("KMedoids", "CLARA", "CLARANS");
    py::class_<Assignment>(m, "Assignment", py::module_local(),
                           "Nearest and second-nearest medoid slot of every point, with distances.")
        .def_property_readonly("near_i", [](const Assignment& a) { return to_numpy(a.near_i); })
        .def_property_readonly("seco_i", [](const Assignment& a) { return to_numpy(a.seco_i); })
        .def_property_readonly("near_d",
                               [](const Assignment& a) { return values_array(a.near_d, a.dtype); })
        .def_property_readonly("seco_d",
                               [](const Assignment& a) { return values_array(a.seco_d, a.dtype); });
    m.def(
        "assign",
        [](const py::object& D, const py::array_t<std::int64_t, py::array::forcecast>& medoids) {
            const ArrayRef d = array_ref(D, "D");
            const std::vector<std::int64_t> med(medoids.data(), medoids.data() + medoids.size());
            return without_gil([&] { return medoids::assign(d, med); });
        },
        py::arg("D"), py::arg("medoids"),
        "Nearest and second-nearest medoid of every point from a stored distance matrix (ties to "
        "the lower slot, a medoid its own nearest), as the CPU's assignment.");
    register_search(m);
}

}  // namespace partita::cuda::bindings
