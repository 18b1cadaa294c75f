// Kernel k-means on the GPU: host interface (plain C++, no CUDA types).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "partita/cuda/arrays.hpp"

namespace partita::cuda::kernel_kmeans {

// The built-in kernels, numbered as the CPU's partita::kernel_kmeans::Kernel.
enum class Kernel : int { linear = 0, rbf = 1, polynomial = 2, sigmoid = 3, laplacian = 4 };

struct KernelParams {
    Kernel kernel = Kernel::rbf;
    double gamma = 1.0;
    double degree = 3.0;
    double coef0 = 1.0;
};

// Free bytes of device memory now (what decides whether the Gram is stored).
std::int64_t free_device_memory();

// Nearest cluster of every point and its distance.
struct Assignment {
    std::vector<std::int32_t> labels;
    std::vector<double> distances;
};

// A Gram matrix on the device and the cluster sums E = K Z (k x n, float64) of kernel k-means
// (docs/algorithms.md, "Kernel k-means on a GPU"). The Gram is stored (a precomputed matrix, or
// computed once from the features) or recomputed in tiles from the features at every pass; a
// Gram entry is computed by the CPU's operations in the CPU's order either way.
class Problem {
public:
    // Features X (n x d, float32 or float64) and a built-in kernel; `store`: compute and keep the
    // n x n Gram on the device (MemoryError when it does not fit).
    Problem(const ArrayRef& X, const KernelParams& params, bool store);
    // A precomputed n x n Gram (float32 or float64), read on the device.
    explicit Problem(const ArrayRef& K);
    ~Problem();
    Problem(Problem&&) noexcept;
    Problem& operator=(Problem&&) noexcept;

    std::int64_t size() const;
    DType dtype() const;
    bool stored() const;
    // Gram entries in the Gram's dtype, held as double (float32 exactly).
    std::vector<double> diagonal() const;
    std::vector<double> rows(const std::vector<std::int64_t>& js) const;  // count x n

    // E = 0 with k clusters.
    void reset_sums(std::int64_t k);
    // For r = 0 .. count-1 in order: E[from_r] -= w_r K[j_r], E[to_r] += w_r K[j_r] (from_r < 0:
    // none), each entry of E summed in increasing r, as the CPU's increasing j.
    void accumulate(const std::vector<std::int64_t>& js, const std::vector<std::int32_t>& from,
                    const std::vector<std::int32_t>& to, const std::vector<double>& w,
                    const InterruptPoll& interrupt);
    // Nearest cluster with s_c > 0: d(i, c) = K_ii - 2 E_ci / s_c + norms_c, clamped at 0, ties
    // to the lowest c.
    Assignment assign(const std::vector<double>& s, const std::vector<double>& norms) const;
    // E[labels_i][i] of every point.
    std::vector<double> own_sums(const std::vector<std::int32_t>& labels) const;

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace partita::cuda::kernel_kmeans
