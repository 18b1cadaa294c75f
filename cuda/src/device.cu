// Device queries: how many GPUs, what they are, which runtime this module was built against.
#include "device_memory.cuh"
#include "partita/cuda/device.hpp"

namespace partita::cuda {

int device_count() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError();  // clear the sticky "no driver / no device" error
        return 0;
    }
    return count;
}

DeviceInfo device_info(int index) {
    DeviceInfo info;
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) {
        cudaGetLastError();
        return info;
    }
    info.name = prop.name;
    info.major = prop.major;
    info.minor = prop.minor;
    info.total_memory = prop.totalGlobalMem;
    return info;
}

int runtime_version() { return CUDART_VERSION; }

void synchronize_stream(std::uintptr_t handle) {
    check(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(handle)), "cudaStreamSynchronize");
}

}  // namespace partita::cuda
