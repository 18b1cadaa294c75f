// Bindings of the k-medoids kernels (cpp/include/partita/medoids.hpp) and of the feature
// distances they can run on (cpp/include/partita/distances.hpp).
//
// Every kernel takes a distance "source" as its first argument: a C-contiguous float32/float64
// n x n matrix, or a FeatureSpace32/FeatureSpace64 object whose rows are computed on the fly.
#include <cstdint>
#include <string>

#include "bindings.hpp"
#include "partita/distances.hpp"
#include "partita/medoids.hpp"

namespace partita::bindings {

namespace {

using namespace partita::medoids;
using distances::FeatureSpace;

// Calls fn(source) with the source matching `obj`.
template <class F>
auto with_source(const py::object& obj, int n_threads, F&& fn) {
    if (py::isinstance<FeatureSpace<float>>(obj))
        return fn(OnTheFlyDistances<float>{&obj.cast<const FeatureSpace<float>&>(), n_threads});
    if (py::isinstance<FeatureSpace<double>>(obj))
        return fn(OnTheFlyDistances<double>{&obj.cast<const FeatureSpace<double>&>(), n_threads});
    if (!py::isinstance<py::array>(obj))
        throw std::invalid_argument("source: expected a distance matrix or a FeatureSpace");
    const py::array a = obj.cast<py::array>();
    if (a.ndim() != 2 || a.shape(0) != a.shape(1))
        throw std::invalid_argument("source: the distance matrix must be square");
    if (is_float32(a)) return fn(StoredDistances<float>{matrix_view<float>(a, "dist")});
    return fn(StoredDistances<double>{matrix_view<double>(a, "dist")});
}

index_t source_size(const py::object& obj) {
    return with_source(obj, 1, [](const auto& src) { return src.size(); });
}

py::dict result_dict(Result&& r) {
    py::dict d;
    d["medoids"] = to_numpy(r.medoids);
    d["labels"] = to_numpy(r.labels);
    d["loss"] = r.loss;
    d["n_iter"] = r.n_iter;
    d["n_swaps"] = r.n_swaps;
    return d;
}

std::vector<index_t> index_vector(const py::array& a, const char* name) {
    const index_t* p = vector_data<index_t>(a, a.shape(0), name);
    return std::vector<index_t>(p, p + a.shape(0));
}

template <class T>
void register_feature_space(py::module_& m, const char* name) {
    py::class_<FeatureSpace<T>>(m, name,
                                "Feature rows whose pairwise distances are computed on demand.")
        .def(py::init([](const py::array& X, int metric, std::uintptr_t fn) {
                 const MatrixView<T> view = matrix_view<T>(X, "X");
                 require(metric >= 0 && metric <= int(distances::Metric::callback),
                         "unknown metric code");
                 return new FeatureSpace<T>(view, distances::Metric(metric),
                                            reinterpret_cast<distances::PairFunction<T>>(fn));
             }),
             py::arg("X"), py::arg("metric"), py::arg("function") = 0)
        .def_property_readonly("n_samples", &FeatureSpace<T>::size)
        .def("distance_matrix",
             [](const FeatureSpace<T>& space, int n_threads) {
                 const index_t n = space.size();
                 py::array_t<T> out({n, n});
                 T* data = out.mutable_data();
                 const int threads = resolve_threads(n_threads);
                 without_gil([&] {
                     std::vector<index_t> js(n);
                     for (index_t i = 0; i < n; ++i) js[i] = i;
                     // In blocks of rows, so the feature columns stay in cache.
                     for (index_t j0 = 0; j0 < n; j0 += 256)
                         distances::fill_rows(space, js.data() + j0, std::min<index_t>(256, n - j0),
                                              data + j0 * n, threads);
                     return 0;
                 });
                 return out;
             },
             py::arg("n_threads"), "The full n x n distance matrix (equal to the on-the-fly rows).")
        .def("distances_to",
             [](const FeatureSpace<T>& space, const py::array& idx, int n_threads) {
                 const std::vector<index_t> js = index_vector(idx, "indices");
                 const index_t n = space.size(), count = index_t(js.size());
                 py::array_t<T> out({count, n});
                 T* data = out.mutable_data();
                 const int threads = resolve_threads(n_threads);
                 without_gil([&] {
                     distances::fill_rows(space, js.data(), count, data, threads);
                     return 0;
                 });
                 return out;
             },
             py::arg("indices"), py::arg("n_threads"),
             "Rows of the distance matrix for the given points, shape (len(indices), n).");
}

}  // namespace

void register_medoids(py::module_& m) {
    register_feature_space<float>(m, "FeatureSpace32");
    register_feature_space<double>(m, "FeatureSpace64");

    m.def(
        "kmedoids_optimise",
        [](const py::object& source, const py::array& medoids, const py::array& weights,
           const std::string& method, index_t max_iter, int n_threads) {
            const int threads = resolve_threads(n_threads);
            const std::vector<index_t> med = index_vector(medoids, "medoids");
            const double* w = vector_data<double>(weights, source_size(source), "weights");
            return result_dict(with_source(source, threads, [&](const auto& src) {
                return without_gil([&] {
                    InterruptCheck interrupt = python_interrupt_check();
                    if (method == "fasterpam")
                        return fasterpam(src, med, w, max_iter, threads, interrupt);
                    if (method == "fastpam1")
                        return fastpam1(src, med, w, max_iter, threads, interrupt);
                    if (method == "pam") return pam(src, med, w, max_iter, threads, interrupt);
                    if (method == "alternate")
                        return alternate(src, med, w, max_iter, threads, interrupt);
                    throw std::invalid_argument("unknown k-medoids method: " + method);
                });
            }));
        },
        py::arg("source"), py::arg("medoids"), py::arg("weights"), py::arg("method"),
        py::arg("max_iter"), py::arg("n_threads"),
        "Optimise the medoids (fasterpam | fastpam1 | pam | alternate) from the given initial ones.");

    m.def(
        "kmedoids_build",
        [](const py::object& source, index_t k, const py::array& weights, int n_threads) {
            const int threads = resolve_threads(n_threads);
            const double* w = vector_data<double>(weights, source_size(source), "weights");
            return to_numpy(with_source(source, threads, [&](const auto& src) {
                return without_gil([&] {
                    InterruptCheck interrupt = python_interrupt_check();
                    return build(src, k, w, threads, interrupt);
                });
            }));
        },
        py::arg("source"), py::arg("k"), py::arg("weights"), py::arg("n_threads"),
        "PAM BUILD initialisation: k medoid indices.");

    m.def(
        "kmedoids_lab",
        [](const py::object& source, const py::array& samples, const py::array& weights,
           int n_threads) {
            const int threads = resolve_threads(n_threads);
            const MatrixView<index_t> S = matrix_view<index_t>(samples, "samples");
            const double* w = vector_data<double>(weights, source_size(source), "weights");
            return to_numpy(with_source(source, threads, [&](const auto& src) {
                return without_gil([&] { return lab(src, S, w); });
            }));
        },
        py::arg("source"), py::arg("samples"), py::arg("weights"), py::arg("n_threads"),
        "LAB initialisation from k rows of sample indices.");

    m.def(
        "kmedoids_plusplus",
        [](const py::object& source, index_t k, const py::array& weights, std::uint64_t seed,
           int n_threads) {
            const int threads = resolve_threads(n_threads);
            const double* w = vector_data<double>(weights, source_size(source), "weights");
            return to_numpy(with_source(source, threads, [&](const auto& src) {
                return without_gil([&] { return kmedoids_plusplus(src, k, w, seed); });
            }));
        },
        py::arg("source"), py::arg("k"), py::arg("weights"), py::arg("seed"), py::arg("n_threads"),
        "k-medoids++ initialisation.");

    m.def(
        "kmedoids_clarans",
        [](const py::object& source, index_t k, const py::array& weights, index_t n_local,
           index_t max_neighbors, std::uint64_t seed, int n_threads) {
            const int threads = resolve_threads(n_threads);
            const double* w = vector_data<double>(weights, source_size(source), "weights");
            return result_dict(with_source(source, threads, [&](const auto& src) {
                return without_gil([&] {
                    InterruptCheck interrupt = python_interrupt_check();
                    return clarans(src, k, w, n_local, max_neighbors, seed, threads, interrupt);
                });
            }));
        },
        py::arg("source"), py::arg("k"), py::arg("weights"), py::arg("n_local"),
        py::arg("max_neighbors"), py::arg("seed"), py::arg("n_threads"),
        "FasterCLARANS: randomized swaps from n_local random starts; the best result.");

    m.def(
        "kmedoids_assign",
        [](const py::object& source, const py::array& medoids, const py::array& weights,
           int n_threads) {
            const int threads = resolve_threads(n_threads);
            const std::vector<index_t> med = index_vector(medoids, "medoids");
            const double* w = vector_data<double>(weights, source_size(source), "weights");
            return with_source(source, threads, [&](const auto& src) {
                using T = typename std::decay_t<decltype(src)>::value_type;
                auto [labels, nearest, loss] = without_gil([&] {
                    Assignment<T> a = assign(src, med, threads);
                    const double l = total_deviation(a, w);
                    return std::make_tuple(std::move(a.near_i), std::move(a.near_d), l);
                });
                return py::tuple(py::make_tuple(to_numpy(labels), py::array(to_numpy(nearest)), loss));
            });
        },
        py::arg("source"), py::arg("medoids"), py::arg("weights"), py::arg("n_threads"),
        "Nearest medoid slot and distance of every point, and the weighted loss.");

    m.def(
        "inspect_distance_matrix",
        [](const py::array& dist, int n_threads) {
            const int threads = resolve_threads(n_threads);
            auto run = [&](const auto& D) { return without_gil([&] { return inspect_matrix(D, threads); }); };
            const MatrixReport r = is_float32(dist) ? run(matrix_view<float>(dist, "dist"))
                                                    : run(matrix_view<double>(dist, "dist"));
            py::dict d;
            d["min"] = r.min_value;
            d["max"] = r.max_value;
            d["max_abs_diagonal"] = r.max_abs_diagonal;
            d["max_asymmetry"] = r.max_asymmetry;
            d["n_nonfinite"] = r.n_nonfinite;
            return d;
        },
        py::arg("dist"), py::arg("n_threads"),
        "min, max, largest |diagonal|, largest |d(i,j) - d(j,i)| and the count of NaN / inf.");

    m.def(
        "symmetrize_distance_matrix",
        [](py::array& dist, int n_threads) {
            if (!dist.writeable())
                throw std::invalid_argument("symmetrize: the matrix must be writeable");
            const int threads = resolve_threads(n_threads);
            auto run = [&](auto* data, index_t n) {
                without_gil([&] {
                    symmetrize(data, n, threads);
                    return 0;
                });
            };
            if (is_float32(dist)) {
                matrix_view<float>(dist, "dist");
                run(static_cast<float*>(dist.mutable_data()), dist.shape(0));
            } else {
                matrix_view<double>(dist, "dist");
                run(static_cast<double*>(dist.mutable_data()), dist.shape(0));
            }
        },
        py::arg("dist"), py::arg("n_threads"),
        "In place: copy the upper triangle onto the lower one and zero the diagonal.");
}

}  // namespace partita::bindings
