// k-medoids kernels on the GPU: host interface (plain C++, no CUDA types).
#pragma once

#include <cstdint>
#include <memory>
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

// The metrics computed from features on the device, numbered as partita._core.medoids.Metric.
enum class Metric : int { euclidean = 0, sqeuclidean = 1, manhattan = 2, cosine = 3 };

// Where the kernels below read distances: a stored n x n matrix (symmetric, zero diagonal, as
// validated by the caller), or n x d feature rows (on_the_fly) whose distances are computed in
// tiles when needed, so that no n x n matrix exists. float32 or float64, host or device memory.
struct DistanceSource {
    ArrayRef data;
    bool on_the_fly = false;
    Metric metric = Metric::euclidean;
};

// A host array copied to device memory once (rows padding included), alive as long as `owner`:
// the estimators upload their matrix or features once for all the kernels of a fit. A device
// array is returned as it is.
struct DeviceCopy {
    ArrayRef ref;
    std::shared_ptr<void> owner;
};
DeviceCopy to_device(const ArrayRef& a);
// The n x n matrix of the features' distances (source.on_the_fly), computed and kept on the
// device: the CPU's FeatureSpace::distance_matrix bit for bit.
DeviceCopy distance_matrix(const DistanceSource& source);

// The swap schedules (docs/algorithms.md, "k-medoids on a GPU").
enum class Method : int { fasterpam = 0, fastpam1 = 1 };

// As partita._core.medoids.Result.
struct Result {
    std::vector<std::int64_t> medoids;
    std::vector<std::int32_t> labels;
    double loss = 0.0;
    std::int64_t n_iter = 0, n_swaps = 0;
    bool converged = false;
    std::vector<double> pass_loss;
    std::vector<std::int64_t> pass_swaps;
};

struct Labelling {
    std::vector<std::int32_t> labels;
    double loss = 0.0;
};

// The CPU optimisers' results, bit for bit, with the candidate scans on the device. weights: n
// non-negative values.
Result optimise(const DistanceSource& src, std::vector<std::int64_t> medoids,
                const std::vector<double>& weights, Method method, std::int64_t max_iter,
                const InterruptPoll& poll = {});
Result clarans(const DistanceSource& src, std::int64_t k, const std::vector<double>& weights,
               std::int64_t n_local, std::int64_t max_neighbors, std::uint64_t seed,
               const InterruptPoll& poll = {});
// Every point's nearest medoid (lowest slot on ties) and the weighted loss: CLARA's scoring.
Labelling label(const DistanceSource& src, const std::vector<std::int64_t>& medoids,
                const std::vector<double>& weights);
std::vector<std::int64_t> build(const DistanceSource& src, std::int64_t k,
                                const std::vector<double>& weights, const InterruptPoll& poll = {});
// samples: k rows of m point indices, row-major.
std::vector<std::int64_t> lab(const DistanceSource& src, const std::vector<std::int64_t>& samples,
                              std::int64_t m, const std::vector<double>& weights);
std::vector<std::int64_t> kmedoids_plusplus(const DistanceSource& src, std::int64_t k,
                                            const std::vector<double>& weights, std::uint64_t seed);

}  // namespace partita::cuda::medoids
