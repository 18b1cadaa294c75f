// Device queries of partita._cuda (plain C++ interface, no CUDA types, so
// the pybind11 bindings compile with the host compiler).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace partita::cuda {

// Number of usable CUDA devices; 0 when there is no driver or no device (never throws).
int device_count();

// Name, compute capability and memory of device `index`, or an empty name when unavailable.
struct DeviceInfo {
    std::string name;
    int major = 0;
    int minor = 0;
    std::size_t total_memory = 0;
};
DeviceInfo device_info(int index);

// The CUDA runtime version this module was built against, e.g. 13000.
int runtime_version();

// Waits for the work queued on the stream `handle` (a cudaStream_t as an integer; 0 the legacy
// default stream), as partita/_gpu_arrays.py does for an array's producer stream.
void synchronize_stream(std::uintptr_t handle);

}  // namespace partita::cuda
