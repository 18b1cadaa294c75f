// Bindings of the k-medoids kernels (cpp/include/partita/medoids/) into `_core.medoids`, with the
// feature distances they can run on (cpp/include/partita/distances.hpp).
//
// Every kernel takes a distance "source" as its first argument: a C-contiguous float32/float64
// n x n matrix, or a FeatureSpace32/FeatureSpace64 object whose rows are computed on the fly.
#include <cstdint>
#include <string>

#include "bindings.hpp"
#include "partita/distances.hpp"
#include "partita/medoids/blocked_loss.hpp"
#include "partita/medoids/build.hpp"
#include "partita/medoids/clarans.hpp"
#include "partita/medoids/dynmsc.hpp"
#include "partita/medoids/optimise.hpp"
#include "partita/medoids/seeding.hpp"
#include "partita/medoids/silhouette.hpp"

namespace partita::bindings {

namespace {

using namespace partita::medoids;
using distances::FeatureSpace;

// CLARANS' search, as one argument.
struct ClaransParams {
    index_t n_clusters = 8;
    index_t n_local = 2;
    index_t max_neighbors = 1;
    std::uint64_t seed = 0;
};

// The nearest medoid of every point, as `assign` returns it.
struct Labelling {
    std::vector<std::int32_t> labels;
    double loss = 0.0;
};

// The labels of a range of points and its loss in fixed blocks, as `label_blocks` returns them.
struct BlockLabelling {
    std::vector<std::int32_t> labels;
    BlockedLoss loss;
};

// Calls fn(source) with the source matching `obj`.
template <class F>
auto with_source(const py::object& obj, int n_threads, F&& fn) {
    // A user's metric is checked on every distance the kernels saw, once they are done.
    if (py::isinstance<FeatureSpace<float>>(obj)) {
        const auto& space = obj.cast<const FeatureSpace<float>&>();
        auto result = fn(OnTheFlyDistances<float>{&space, n_threads});
        space.check_values();
        return result;
    }
    if (py::isinstance<FeatureSpace<double>>(obj)) {
        const auto& space = obj.cast<const FeatureSpace<double>&>();
        auto result = fn(OnTheFlyDistances<double>{&space, n_threads});
        space.check_values();
        return result;
    }
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

std::vector<index_t> index_vector(const py::array& a, const char* name) {
    const index_t* p = vector_data<index_t>(a, a.shape(0), name);
    return std::vector<index_t>(p, p + a.shape(0));
}

template <class T>
void register_feature_space(py::module_& m, const char* name) {
    py::class_<FeatureSpace<T>>(m, name,
                                "Feature rows whose pairwise distances are computed on demand.")
        .def(py::init([](const py::array& X, distances::Metric metric, std::uintptr_t fn) {
                 const MatrixView<T> view = matrix_view<T>(X, "X");
                 return new FeatureSpace<T>(view, metric,
                                            reinterpret_cast<distances::PairFunction<T>>(fn));
             }),
             py::arg("X"), py::arg("metric"), py::arg("function") = 0)
        .def_property_readonly("n_samples", &FeatureSpace<T>::size)
        .def(
            "distance_matrix",
            [](const FeatureSpace<T>& space, int n_threads) {
                const index_t n = space.size();
                py::array_t<T> out({n, n});
                T* data = out.mutable_data();
                const int threads = resolve_threads(n_threads);
                without_gil([&] {
                    InterruptCheck interrupt = python_interrupt_check();
                    std::vector<index_t> js(n);
                    for (index_t i = 0; i < n; ++i) js[i] = i;
                    // In blocks of rows, so the feature columns stay in cache.
                    for (index_t j0 = 0; j0 < n; j0 += 256)
                        distances::fill_rows(space, js.data() + j0, std::min<index_t>(256, n - j0),
                                             data + j0 * n, threads, interrupt);
                    return 0;
                });
                space.check_values();
                return out;
            },
            py::arg("n_threads"), "The full n x n distance matrix (equal to the on-the-fly rows).")
        .def(
            "distances_to",
            [](const FeatureSpace<T>& space, const py::array& idx, int n_threads) {
                const std::vector<index_t> js = index_vector(idx, "indices");
                const index_t n = space.size(), count = index_t(js.size());
                check_indices(js.data(), count, n, "indices", false);
                py::array_t<T> out({count, n});
                T* data = out.mutable_data();
                const int threads = resolve_threads(n_threads);
                without_gil([&] {
                    distances::fill_rows(space, js.data(), count, data, threads);
                    return 0;
                });
                space.check_values();
                return out;
            },
            py::arg("indices"), py::arg("n_threads"),
            "Rows of the distance matrix for the given points, shape (len(indices), n).");
}

void register_types(py::module_& m) {
    py::enum_<distances::Metric>(m, "Metric", "Distances computed in C++ from the features.")
        .value("euclidean", distances::Metric::euclidean)
        .value("sqeuclidean", distances::Metric::sqeuclidean)
        .value("manhattan", distances::Metric::manhattan)
        .value("cosine", distances::Metric::cosine)
        .value("callback", distances::Metric::callback, "a compiled f(x*, y*, n_features)");
    py::enum_<Method>(m, "Method", "The swap (or alternate) optimiser.")
        .value("fasterpam", Method::fasterpam)
        .value("fastpam1", Method::fastpam1)
        .value("pam", Method::pam)
        .value("alternate", Method::alternate)
        .value("fastermsc", Method::fastermsc, "eager medoid silhouette swaps")
        .value("fastmsc", Method::fastmsc, "the best medoid silhouette swap per iteration")
        .value("pammedsil", Method::pammedsil, "the best medoid silhouette swap, O(k n^2) each")
        .value("pamsil", Method::pamsil, "the best swap by the exact silhouette, O(k n^3) each");

    py::class_<Result>(m, "Result", "Medoids found by an optimiser.")
        .def_property_readonly(
            "medoids", [](const Result& r) { return to_numpy(r.medoids); },
            "point index of every medoid (slot)")
        .def_property_readonly(
            "labels", [](const Result& r) { return to_numpy(r.labels); },
            "slot of every point's nearest medoid, the lowest on ties")
        .def_readonly("loss", &Result::loss,
                      "weighted total distance to the nearest medoids (the silhouette methods: "
                      "the weighted average medoid silhouette)")
        .def_readonly("n_iter", &Result::n_iter, "passes, swaps or candidates examined")
        .def_readonly("n_swaps", &Result::n_swaps)
        .def_readonly(
            "converged", &Result::converged,
            "whether the last pass found nothing left to improve (not stopped by max_iter)")
        .def_property_readonly(
            "pass_loss", [](const Result& r) { return to_numpy(r.pass_loss); },
            "loss after every pass (iteration)")
        .def_property_readonly(
            "pass_swaps", [](const Result& r) { return to_numpy(r.pass_swaps); },
            "medoid changes made in every pass (iteration)");
    py::class_<DynResult>(m, "DynResult", "DynMSC: the best k's clustering and every k's score.")
        .def_readonly("best", &DynResult::best,
                      "the clustering of the best k (n_iter and n_swaps summed over every k)")
        .def_property_readonly(
            "losses", [](const DynResult& r) { return to_numpy(r.losses); },
            "medoid silhouette for k = k_min .. k_max");
    py::class_<SilhouetteResult>(m, "SilhouetteResult", "A silhouette and its per-point values.")
        .def_readonly("mean", &SilhouetteResult::mean, "weighted mean over the points")
        .def_property_readonly(
            "samples", [](const SilhouetteResult& r) { return to_numpy(r.samples); },
            "every point's value (empty unless asked for)");
    py::class_<Labelling>(m, "Labelling", "Every point's nearest medoid.")
        .def_property_readonly("labels", [](const Labelling& r) { return to_numpy(r.labels); })
        .def_readonly("loss", &Labelling::loss, "weighted total distance to the nearest medoids");
    py::class_<BlockLabelling>(m, "BlockLabelling",
                               "Labels of a range of points and its loss cut at block multiples.")
        .def_property_readonly("labels", [](const BlockLabelling& r) { return to_numpy(r.labels); })
        .def_property_readonly(
            "head", [](const BlockLabelling& r) { return to_numpy(r.loss.head); },
            "weighted distances of the points before the first multiple of block")
        .def_property_readonly(
            "sums", [](const BlockLabelling& r) { return to_numpy(r.loss.sums); },
            "sum of the weighted distances of every whole block")
        .def_property_readonly(
            "tail", [](const BlockLabelling& r) { return to_numpy(r.loss.tail); },
            "weighted distances of the points after the last multiple of block");
    py::class_<ClaransParams>(m, "ClaransParams", "What CLARANS searches, and for how long.")
        .def(py::init([](index_t n_clusters, index_t n_local, index_t max_neighbors,
                         std::uint64_t seed) {
                 return ClaransParams{n_clusters, n_local, max_neighbors, seed};
             }),
             py::arg("n_clusters") = 8, py::arg("n_local") = 2, py::arg("max_neighbors") = 1,
             py::arg("seed") = 0)
        .def_readwrite("n_clusters", &ClaransParams::n_clusters)
        .def_readwrite("n_local", &ClaransParams::n_local, "restarts from random medoids")
        .def_readwrite("max_neighbors", &ClaransParams::max_neighbors,
                       "consecutive rejected candidates that end a restart")
        .def_readwrite("seed", &ClaransParams::seed);

    register_feature_space<float>(m, "FeatureSpace32");
    register_feature_space<double>(m, "FeatureSpace64");
}

void register_optimisers(py::module_& m) {
    m.def(
        "optimise",
        [](const py::object& source, const py::array& medoids, const py::array& weights,
           Method method, index_t max_iter, int n_threads) {
            const int threads = resolve_threads(n_threads);
            const std::vector<index_t> med = index_vector(medoids, "medoids");
            const index_t n = source_size(source);
            check_count(index_t(med.size()), n, "the number of medoids");
            check_indices(med.data(), index_t(med.size()), n, "medoids", true);
            require(max_iter >= 0, "max_iter must be >= 0");
            const double* w = vector_data<double>(weights, n, "weights");
            return with_source(source, threads, [&](const auto& src) {
                return without_gil([&] {
                    InterruptCheck interrupt = python_interrupt_check();
                    return optimise(src, method, med, w, max_iter, threads, interrupt);
                });
            });
        },
        py::arg("source"), py::arg("medoids"), py::arg("weights"), py::arg("method"),
        py::arg("max_iter"), py::arg("n_threads"),
        "Optimise the medoids from the given initial ones.");

    m.def(
        "dynmsc",
        [](const py::object& source, const py::array& medoids, index_t k_min,
           const py::array& weights, index_t max_iter, int n_threads) {
            const int threads = resolve_threads(n_threads);
            const std::vector<index_t> med = index_vector(medoids, "medoids");
            const index_t n = source_size(source);
            check_count(index_t(med.size()), n, "the number of medoids");
            check_indices(med.data(), index_t(med.size()), n, "medoids", true);
            require(k_min >= 2 && k_min <= index_t(med.size()),
                    "k_min must be >= 2 and at most the number of medoids");
            require(max_iter >= 0, "max_iter must be >= 0");
            const double* w = vector_data<double>(weights, n, "weights");
            return with_source(source, threads, [&](const auto& src) {
                return without_gil([&] {
                    InterruptCheck interrupt = python_interrupt_check();
                    return dynmsc(src, med, k_min, w, max_iter, threads, interrupt);
                });
            });
        },
        py::arg("source"), py::arg("medoids"), py::arg("k_min"), py::arg("weights"),
        py::arg("max_iter"), py::arg("n_threads"),
        "DynMSC: FasterMSC from the k_max given medoids down to k_min; the best k.");

    m.def(
        "silhouette",
        [](const py::object& source, const py::array& labels, index_t n_clusters,
           const py::array& weights, bool samples, int n_threads) {
            const int threads = resolve_threads(n_threads);
            const index_t n = source_size(source);
            const std::int32_t* lab = vector_data<std::int32_t>(labels, n, "labels");
            require(n_clusters >= 1, "n_clusters must be >= 1");
            for (index_t i = 0; i < n; ++i)
                require(lab[i] >= 0 && lab[i] < n_clusters, "labels must be in [0, n_clusters)");
            const double* w = vector_data<double>(weights, n, "weights");
            return with_source(source, threads, [&](const auto& src) {
                SilhouetteResult r = without_gil([&] {
                    InterruptCheck interrupt = python_interrupt_check();
                    return silhouette(src, lab, n_clusters, w, samples, threads, interrupt);
                });
                require(r.valid, "the distances must be finite and non-negative");
                return r;
            });
        },
        py::arg("source"), py::arg("labels"), py::arg("n_clusters"), py::arg("weights"),
        py::arg("samples"), py::arg("n_threads"),
        "The exact silhouette of a labelling; ValueError when a distance read is negative, NaN "
        "or infinite (rows are read as given: no symmetry is needed).");

    m.def(
        "medoid_silhouette",
        [](const py::object& source, const py::array& medoids, const py::array& weights,
           bool samples, int n_threads) {
            const int threads = resolve_threads(n_threads);
            const std::vector<index_t> med = index_vector(medoids, "medoids");
            const index_t n = source_size(source);
            require(med.size() >= 2, "medoids: at least two are needed");
            check_indices(med.data(), index_t(med.size()), n, "medoids", false);
            const double* w = vector_data<double>(weights, n, "weights");
            return with_source(source, threads, [&](const auto& src) {
                return without_gil(
                    [&] { return medoid_silhouette(src, med, w, samples, threads); });
            });
        },
        py::arg("source"), py::arg("medoids"), py::arg("weights"), py::arg("samples"),
        py::arg("n_threads"), "The medoid silhouette of every point for the given medoids.");

    m.def(
        "clarans",
        [](const py::object& source, const py::array& weights, const ClaransParams& p,
           int n_threads) {
            const int threads = resolve_threads(n_threads);
            const index_t n = source_size(source);
            check_count(p.n_clusters, n, "n_clusters");
            require(p.n_local >= 1, "n_local must be >= 1");
            require(p.max_neighbors >= 0, "max_neighbors must be >= 0");
            const double* w = vector_data<double>(weights, n, "weights");
            return with_source(source, threads, [&](const auto& src) {
                return without_gil([&] {
                    InterruptCheck interrupt = python_interrupt_check();
                    return clarans(src, p.n_clusters, w, p.n_local, p.max_neighbors, p.seed,
                                   threads, interrupt);
                });
            });
        },
        py::arg("source"), py::arg("weights"), py::arg("params"), py::arg("n_threads"),
        "FasterCLARANS: randomized swaps from n_local random starts; the best result.");

    m.def(
        "assign",
        [](const py::object& source, const py::array& medoids, const py::array& weights,
           int n_threads) {
            const int threads = resolve_threads(n_threads);
            const std::vector<index_t> med = index_vector(medoids, "medoids");
            const index_t n = source_size(source);
            require(!med.empty(), "medoids: at least one is needed");
            check_indices(med.data(), index_t(med.size()), n, "medoids", false);
            const double* w = vector_data<double>(weights, n, "weights");
            return with_source(source, threads, [&](const auto& src) {
                using T = typename std::decay_t<decltype(src)>::value_type;
                return without_gil([&] {
                    InterruptCheck interrupt = python_interrupt_check();
                    Assignment<T> a = assign(src, med, threads, &interrupt);
                    const double loss = total_deviation(a, w);
                    return Labelling{std::move(a.near_i), loss};
                });
            });
        },
        py::arg("source"), py::arg("medoids"), py::arg("weights"), py::arg("n_threads"),
        "Nearest medoid slot of every point as the optimisers' state holds it (a medoid is its "
        "own nearest), and the weighted loss.");

    m.def(
        "label",
        [](const py::object& source, const py::array& medoids, const py::array& weights,
           int n_threads) {
            const int threads = resolve_threads(n_threads);
            const std::vector<index_t> med = index_vector(medoids, "medoids");
            const double* w = vector_data<double>(weights, source_size(source), "weights");
            return with_source(source, threads, [&](const auto& src) {
                using T = typename std::decay_t<decltype(src)>::value_type;
                return without_gil([&] {
                    const Assignment<T> a = assign(src, med, threads);
                    return Labelling{lowest_slot_labels(src, med, a, threads),
                                     total_deviation(a, w)};
                });
            });
        },
        py::arg("source"), py::arg("medoids"), py::arg("weights"), py::arg("n_threads"),
        "Cluster of every point: the lowest slot among its nearest medoids (the labels the "
        "optimisers report), and the weighted loss.");

    m.def(
        "label_blocks",
        [](const py::object& source, const py::array& medoids, const py::array& weights,
           index_t n_points, index_t first, index_t block, int n_threads) {
            const int threads = resolve_threads(n_threads);
            const std::vector<index_t> med = index_vector(medoids, "medoids");
            const index_t n = source_size(source);
            check_indices(med.data(), index_t(med.size()), n, "medoids", false);
            require(!med.empty(), "medoids: at least one is needed");
            require(n_points >= 0 && n_points <= n, "n_points must be in [0, n]");
            require(first >= 0 && block >= 1, "first must be >= 0 and block >= 1");
            const double* w = vector_data<double>(weights, n, "weights");
            return with_source(source, threads, [&](const auto& src) {
                using T = typename std::decay_t<decltype(src)>::value_type;
                return without_gil([&] {
                    const Assignment<T> a = assign(src, med, threads);
                    std::vector<std::int32_t> labels = lowest_slot_labels(src, med, a, threads);
                    labels.resize(n_points);
                    return BlockLabelling{std::move(labels),
                                          blocked_loss(a.near_d.data(), w, n_points, first, block)};
                });
            });
        },
        py::arg("source"), py::arg("medoids"), py::arg("weights"), py::arg("n_points"),
        py::arg("first"), py::arg("block"), py::arg("n_threads"),
        "label() for the first n_points points of the source (the rest are extra medoid rows), "
        "which are points first, first + 1, ... of a larger set; the loss cut at the multiples "
        "of block.");

    m.def(
        "ordered_sum",
        [](const py::array& values) {
            const double* v = vector_data<double>(values, values.shape(0), "values");
            return ordered_sum(v, index_t(values.shape(0)));
        },
        py::arg("values"), "Sequential sum from 0.0 in index order.");
}

void register_initialisations(py::module_& m) {
    m.def(
        "build",
        [](const py::object& source, index_t k, const py::array& weights, int n_threads) {
            const int threads = resolve_threads(n_threads);
            const index_t n = source_size(source);
            check_count(k, n, "k");
            const double* w = vector_data<double>(weights, n, "weights");
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
        "lab",
        [](const py::object& source, const py::array& samples, const py::array& weights,
           int n_threads) {
            const int threads = resolve_threads(n_threads);
            const MatrixView<index_t> S = matrix_view<index_t>(samples, "samples");
            const index_t n = source_size(source);
            check_count(S.rows, n, "the number of sample rows (medoids)");
            check_indices(S.data, S.rows * S.cols, n, "samples", false);
            const double* w = vector_data<double>(weights, n, "weights");
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
            const index_t n = source_size(source);
            check_count(k, n, "k");
            const double* w = vector_data<double>(weights, n, "weights");
            return to_numpy(with_source(source, threads, [&](const auto& src) {
                return without_gil([&] {
                    InterruptCheck interrupt = python_interrupt_check();
                    return kmedoids_plusplus(src, k, w, seed, interrupt);
                });
            }));
        },
        py::arg("source"), py::arg("k"), py::arg("weights"), py::arg("seed"), py::arg("n_threads"),
        "k-medoids++ initialisation.");
}

}  // namespace

void register_medoids(py::module_& core) {
    py::module_ m = core.def_submodule("medoids",
                                       "k-medoids: BUILD, LAB, k-medoids++, FasterPAM, "
                                       "FastPAM1, PAM, alternate, CLARANS; medoid silhouette: "
                                       "FasterMSC, FastMSC, DynMSC, silhouettes");
    register_types(m);
    register_optimisers(m);
    register_initialisations(m);
}

}  // namespace partita::bindings
