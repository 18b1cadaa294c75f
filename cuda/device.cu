#include <cuda_runtime.h>

#include "device.cuh"

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

}  // namespace partita::cuda
