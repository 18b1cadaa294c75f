// The parts of partita._cuda_emulated that partita._cuda has not: the thread schedule, the
// emulated device memory, and the planted-bug kernels (selftest submodule).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "control.hpp"
#include "selftest.hpp"

namespace py = pybind11;

namespace partita::cuda::bindings {

void register_emulator(py::module_& m) {
    using partita_emu::Schedule;
    py::enum_<Schedule>(m, "Schedule", py::module_local(),
                        "Order in which a block's threads run between synchronisation points")
        .value("forward", Schedule::forward)
        .value("reverse", Schedule::reverse)
        .value("shuffled", Schedule::shuffled);
    m.def("set_schedule", &partita_emu::set_schedule, py::arg("schedule"), py::arg("seed") = 0,
          "The thread and block order from now on; `seed` draws the shuffled permutations.");
    m.def("schedule", &partita_emu::schedule);
    m.def("set_device_memory", &partita_emu::set_device_memory, py::arg("total_bytes"),
          "The device memory the emulator reports and allocates from.");
    m.def("device_memory", &partita_emu::device_memory);
    m.def("allocated_bytes", &partita_emu::allocated_bytes);

    namespace st = partita_emu::selftest;
    py::module_ s =
        m.def_submodule("selftest", "kernels with planted bugs the emulator must catch");
    s.def("block_sum", &st::block_sum, py::arg("x"), py::arg("with_barrier"),
          py::call_guard<py::gil_scoped_release>());
    s.def("warp_sums", &st::warp_sums, py::arg("x"), py::arg("divergent"));
    s.def("warp_sums_split", &st::warp_sums_split, py::arg("x"));
    s.def("shared_copy", &st::shared_copy, py::arg("x"), py::arg("divergent"));
    s.def("barrier_sites", &st::barrier_sites, py::arg("x"));
    s.def("shuffle_source", &st::shuffle_source, py::arg("x"));
    s.def("large_shared_sum", &st::large_shared_sum, py::arg("set_attribute"));
    s.def("neighbour_max", &st::neighbour_max, py::arg("x"), py::arg("with_barrier"));
    s.def("table_scale", &st::table_scale, py::arg("x"), py::arg("w"), py::arg("every_block"));
    s.def("intrinsics", [] {
        auto v = st::intrinsics();
        py::array_t<long long> a(
            {py::ssize_t(v.size() / st::intrinsics_columns), py::ssize_t(st::intrinsics_columns)});
        std::copy(v.begin(), v.end(), a.mutable_data());
        return a;
    });
    // fill_indices and shared_reverse with past_end=True corrupt the heap without
    // AddressSanitizer: only the standalone ASan driver runs them.
    s.def("fill_indices", [](int n) { return st::fill_indices(n, false); }, py::arg("n"));
    s.def(
        "shared_reverse", [](const std::vector<double>& x) { return st::shared_reverse(x, false); },
        py::arg("x"));
}

}  // namespace partita::cuda::bindings
