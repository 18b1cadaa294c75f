// What a kernel source includes instead of <cuda_runtime.h>: the CUDA runtime under nvcc, the
// CPU emulator (cuda/emulator) when compiled with a host compiler and PARTITA_CUDA_EMULATOR.
// Either way the source launches kernels through PARTITA_LAUNCH and declares dynamic shared
// memory through PARTITA_DYNAMIC_SHARED, which are <<<...>>> and extern __shared__ under nvcc, and
// static shared arrays through PARTITA_SHARED (_2D, _3D), plain __shared__ arrays under nvcc that
// the emulator fills with garbage before every block (a bare __shared__ does not compile there).
#pragma once

#if defined(__CUDACC__)
#include <cuda_runtime.h>
#define PARTITA_LAUNCH(kernel, grid, block, shmem, stream) kernel<<<grid, block, shmem, stream>>>
#define PARTITA_DYNAMIC_SHARED(type, name)                                                         \
    extern __shared__ __align__(16) unsigned char partita_dynamic_shared_bytes[];                  \
    type* name = reinterpret_cast<type*>(partita_dynamic_shared_bytes)
#define PARTITA_SHARED(type, name, count) __shared__ type name[count]
#define PARTITA_SHARED_2D(type, name, rows, cols) __shared__ type name[rows][cols]
#define PARTITA_SHARED_3D(type, name, d0, d1, d2) __shared__ type name[d0][d1][d2]
#elif defined(PARTITA_CUDA_EMULATOR)
#include "emulator.hpp"
#else
#error "compile with nvcc, or with a host compiler and -DPARTITA_CUDA_EMULATOR"
#endif
