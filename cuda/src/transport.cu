// Optimal-transport kernels on the GPU (host interface: partita/cuda/transport.hpp).
#include <cmath>
#include <stdexcept>

#include "device_memory.cuh"
#include "partita/cuda/transport.hpp"

namespace partita::cuda::transport {
namespace {

// One warp per row: the lanes stride over the row (coalesced), each keeping a running
// log-sum-exp (max, sum of exp(x - max)) in float64, merged across the warp by shuffles.
constexpr int warps_per_block = 8;
constexpr unsigned full_warp = 0xffffffffu;

template <class T>
__global__ void row_sweep_kernel(const T* __restrict__ C, long long ld,
                                 const double* __restrict__ log_a, const double* __restrict__ log_b,
                                 const double* __restrict__ g, long long n, long long m, double eps,
                                 double* __restrict__ f) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const long long i = (long long)blockIdx.x * warps_per_block + warp;
    if (i >= n) return;  // the whole warp leaves together; no block barrier follows
    const T* row = C + i * ld;
    double mx = -INFINITY, s = 0.0;
    for (long long j = lane; j < m; j += 32) {
        const double x = (log_b ? log_b[j] : 0.0) + (g[j] - double(row[j])) / eps;
        if (x == -INFINITY) continue;
        if (x > mx) {
            s = s * exp(mx - x) + 1.0;
            mx = x;
        } else {
            s += exp(x - mx);
        }
    }
    // Butterfly: after log2(32) steps every lane holds the merge of the whole warp; lane 0's is
    // stored. (Partners need not agree to the last bit: nvcc may fuse a product and the sum
    // into one fma, with the operands' roles swapped between the two lanes.)
    for (int offset = 16; offset > 0; offset >>= 1) {
        const double mo = __shfl_xor_sync(full_warp, mx, offset);
        const double so = __shfl_xor_sync(full_warp, s, offset);
        const double mn = fmax(mx, mo);
        if (mn == -INFINITY) continue;
        s = s * exp(mx - mn) + so * exp(mo - mn);
        mx = mn;
    }
    if (lane == 0) f[i] = eps * ((log_a ? log_a[i] : 0.0) - (mx + log(s)));
}

template <class T>
std::vector<double> sweep_typed(const ArrayRef& C, const std::vector<double>& log_a,
                                const std::vector<double>& log_b, const std::vector<double>& g,
                                double eps, const InterruptPoll& interrupted) {
    const long long B = C.dim(0), n = C.dim(1), m = C.dim(2);
    DeviceInput<T> cost(C, "the cost matrices");
    DeviceBuffer<double> la(log_a.size(), "log_a"), lb(log_b.size(), "log_b"), gd(g.size(), "g");
    DeviceBuffer<double> fd(std::size_t(B * n), "f");
    la.upload(log_a.data(), log_a.size());
    lb.upload(log_b.data(), log_b.size());
    gd.upload(g.data(), g.size());
    const dim3 block(32 * warps_per_block);
    const dim3 grid(unsigned((n + warps_per_block - 1) / warps_per_block));
    for (long long b = 0; b < B && n > 0; ++b) {
        if (interrupted && interrupted()) throw Interrupted();
        PARTITA_LAUNCH(row_sweep_kernel<T>, grid, block, 0, nullptr)(
            cost.get() + b * C.strides[0], (long long)C.strides[1],
            log_a.empty() ? nullptr : la.get() + b * n, log_b.empty() ? nullptr : lb.get() + b * m,
            gd.get() + b * m, n, m, eps, fd.get() + b * n);
        check_launch("transport.row_sweep_kernel");
    }
    check(cudaDeviceSynchronize(), "transport.row_sweep_kernel");
    std::vector<double> f(std::size_t(B * n));
    fd.download(f.data(), f.size());
    return f;
}

}  // namespace

std::vector<double> row_sweep(const ArrayRef& C, const std::vector<double>& log_a,
                              const std::vector<double>& log_b, const std::vector<double>& g,
                              double eps, const InterruptPoll& interrupted) {
    if (C.shape.size() != 3) throw std::invalid_argument("C: expected a (B, n, m) array");
    if (!C.rows_contiguous()) throw std::invalid_argument("C: the rows must be contiguous");
    if (C.dtype != DType::float32 && C.dtype != DType::float64)
        throw std::invalid_argument("C: expected float32 or float64");
    const std::size_t B = C.dim(0), n = C.dim(1), m = C.dim(2);
    if (!log_a.empty() && log_a.size() != B * n)
        throw std::invalid_argument("log_a: expected B * n entries");
    if (!log_b.empty() && log_b.size() != B * m)
        throw std::invalid_argument("log_b: expected B * m entries");
    if (g.size() != B * m) throw std::invalid_argument("g: expected B * m entries");
    if (!(eps > 0) || !std::isfinite(eps)) throw std::invalid_argument("eps must be positive");
    // One block per warps_per_block rows and gridDim.x stops at 2^31 - 1: say so before
    // allocating f, rather than fail the launch (or wrap the unsigned grid size) after.
    if (C.dim(1) > 2147483647LL * warps_per_block)
        throw std::invalid_argument("C: more rows than one launch covers");
    return C.dtype == DType::float32 ? sweep_typed<float>(C, log_a, log_b, g, eps, interrupted)
                                     : sweep_typed<double>(C, log_a, log_b, g, eps, interrupted);
}

}  // namespace partita::cuda::transport
