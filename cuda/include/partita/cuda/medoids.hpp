// k-medoids kernels on the GPU: host interface (plain C++, no CUDA types).
#pragma once

#include <cstdint>
#include <vector>

#include "partita/cuda/arrays.hpp"

namespace partita::cuda::medoids {

// Nearest and second-nearest medoid slot of every point and their distances (in the matrix's
// dtype, held here as double, which represents float32 exactly). Without a second medoid (k = 1)
// seco_i is -1 and seco_d 0, as on the CPU.
struct Assignment {
    DType dtype = DType::float64;
    std::vector<std::int32_t> near_i, seco_i;
    std::vector<double> near_d, seco_d;
};

// The rule of the CPU's assign() (docs/algorithms.md, "Per-point state"): slots in order with
// strict <, so ties go to the lower slot, except that a medoid is always its own nearest.
// D: stored n x n distances (float32 or float64, rows contiguous, host or device memory);
// medoids: k >= 1 distinct point indices.
Assignment assign(const ArrayRef& D, const std::vector<std::int64_t>& medoids);

}  // namespace partita::cuda::medoids
