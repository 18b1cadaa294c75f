// partita._core: one register_<family>() per algorithm family, each in its own file.
#include <pybind11/pybind11.h>

#include <omp.h>

#ifndef PARTITA_VERSION
#define PARTITA_VERSION "unknown"
#endif
#ifndef PARTITA_COMPILER
#define PARTITA_COMPILER "unknown"
#endif

namespace py = pybind11;

namespace partita::bindings {
void register_common(py::module_& m);
void register_medoids(py::module_& m);
void register_kernel_kmeans(py::module_& m);
void register_transport(py::module_& m);
void register_multicut(py::module_& m);
}  // namespace partita::bindings

PYBIND11_MODULE(_core, m) {
    m.doc() = "partita's C++ (OpenMP) kernels";
    m.def("build_info", [] {
        py::dict info;
        info["version"] = PARTITA_VERSION;
        info["compiler"] = PARTITA_COMPILER;
        info["openmp"] = _OPENMP;
        info["max_threads"] = omp_get_max_threads();
        info["num_procs"] = omp_get_num_procs();
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
        info["simd"] = "runtime dispatch: avx512f / avx2 / baseline";
        info["cpu_avx2"] = bool(__builtin_cpu_supports("avx2"));
        info["cpu_avx512f"] = bool(__builtin_cpu_supports("avx512f"));
#else
        info["simd"] = "compiler default";
#endif
        return info;
    });
    partita::bindings::register_common(m);
    partita::bindings::register_medoids(m);
    partita::bindings::register_kernel_kmeans(m);
    partita::bindings::register_transport(m);
    partita::bindings::register_multicut(m);
}
