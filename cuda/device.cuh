// Device queries of the optional partita._cuda module (plain C++ interface, no CUDA types, so
// the pybind11 bindings compile with the host compiler).
#pragma once

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

}  // namespace partita::cuda
