// Planted-bug kernels for the emulator's own tests (see selftest.hpp). Compiled for the
// emulator only.
#include <numeric>
#include <stdexcept>

#include "../src/device_memory.cuh"
#include "selftest.hpp"

namespace partita_emu::selftest {
namespace {

using partita::cuda::check;
using partita::cuda::DeviceBuffer;

constexpr int sum_threads = 256;

__global__ void block_sum_kernel(const double* x, int n, bool with_barrier, double* out) {
    PARTITA_SHARED(double, partial, sum_threads);
    const int t = threadIdx.x;
    double v = 0.0;
    for (int i = t; i < n; i += sum_threads) v += x[i];
    partial[t] = v;
    __syncthreads();
    for (int s = sum_threads / 2; s > 0; s >>= 1) {
        if (t < s) partial[t] += partial[t + s];
        if (with_barrier) __syncthreads();  // the planted bug: without it, a race
    }
    if (t == 0) *out = partial[0];
}

__global__ void warp_sums_kernel(const double* x, bool divergent, double* out) {
    const int t = threadIdx.x, lane = t % 32;
    double v = x[t];
    if (!divergent || lane < 16) {  // the planted bug: half a warp, with a full-warp mask
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    }
    if (lane == 0) out[t / 32] = v;
}

__global__ void warp_sums_split_kernel(const double* x, double* out) {
    const int t = threadIdx.x, lane = t % 32;
    double v = x[t];
    if (lane < 16) {  // the planted bug: each half names the whole warp at its own call
        v += __shfl_xor_sync(0xffffffffu, v, 16);
    } else {
        v += __shfl_xor_sync(0xffffffffu, v, 16);
    }
    if (lane == 0) out[t / 32] = v;
}

__global__ void shared_copy_kernel(const double* x, bool divergent, double* out) {
    PARTITA_SHARED(double, buf, 64);
    const int t = threadIdx.x;
    buf[t] = x[t];
    if (!divergent || t < 32) __syncthreads();  // the planted bug: a barrier in divergent code
    out[t] = buf[63 - t];
}

constexpr int neighbour_threads = 63;

__global__ void neighbour_max_kernel(const double* x, bool with_barrier, double* out) {
    PARTITA_SHARED(double, buf, neighbour_threads);
    const int t = threadIdx.x;
    buf[t] = x[t];
    if (with_barrier) __syncthreads();  // the planted bug: without it, a race on both sides
    const double left = buf[t > 0 ? t - 1 : t], right = buf[t + 1 < neighbour_threads ? t + 1 : t];
    out[t] = left > right ? left : right;
}

__global__ void barrier_sites_kernel(const double* x, double* out) {
    PARTITA_SHARED(double, buf, 64);
    const int t = threadIdx.x;
    buf[t] = x[t];
    if (t < 32) {  // the planted bug: two barriers, each reached by half of the block
        __syncthreads();
    } else {
        __syncthreads();
    }
    out[t] = buf[63 - t];
}

__global__ void shuffle_source_kernel(const double* x, double* out) {
    const int t = threadIdx.x, lane = t % 32;
    double v = x[t];
    if (lane < 16) v = __shfl_sync(0x0000ffffu, v, 20);  // the planted bug: lane 20 is not named
    out[t] = v;
}

constexpr int large_shared_entries = 8192;  // 64 KiB of long long

__global__ void large_shared_kernel(long long* out) {
    PARTITA_DYNAMIC_SHARED(long long, staged);
    const int t = threadIdx.x;
    for (int i = t; i < large_shared_entries; i += blockDim.x) staged[i] = i;
    __syncthreads();
    if (t == 0) {
        long long s = 0;
        for (int i = 0; i < large_shared_entries; ++i) s += staged[i];
        *out = s;
    }
}

constexpr int table_entries = 64;

__global__ void table_scale_kernel(const double* x, const double* w, bool every_block,
                                   double* out) {
    PARTITA_SHARED(double, table, table_entries);
    const int t = threadIdx.x;
    const long long i = (long long)blockIdx.x * table_entries + t;
    // The planted bug: only the first block loads the table, as if shared memory outlived a block.
    if (every_block || blockIdx.x == 0) table[t] = w[t];
    __syncthreads();
    out[i] = x[i] * table[table_entries - 1 - t];
}

__global__ void shared_reverse_kernel(const double* x, bool past_end, double* out) {
    PARTITA_SHARED(double, buf, 64);
    const int t = threadIdx.x;
    buf[t] = x[t];
    if (past_end && t == 63) buf[t + 1] = 0.0;  // the planted bug: one entry past the array
    __syncthreads();
    out[t] = buf[63 - t];
}

__global__ void fill_kernel(long long* out, int count) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) out[i] = i;  // count = n + 1 writes one entry past the buffer
}

__global__ void intrinsics_kernel(long long* out, int* counter) {
    PARTITA_DYNAMIC_SHARED(int, scratch);
    const int t = threadIdx.x, lane = t % 32;
    long long* row = out + t * intrinsics_columns;
    row[0] = __shfl_sync(0xffffffffu, t, 3);
    row[1] = __shfl_up_sync(0xffffffffu, t, 1);
    row[2] = __shfl_xor_sync(0xffffffffu, (long long)t, 1);
    row[3] = __ballot_sync(0xffffffffu, lane % 2 == 1);
    row[4] = __any_sync(0xffffffffu, lane == 5);
    row[5] = __all_sync(0xffffffffu, lane < 31);
    row[6] = -1;
    if (lane < 16) row[6] = __shfl_down_sync(0x0000ffffu, t, 4, 16);  // a partial warp, named
    __syncwarp();
    atomicAdd(counter, 1);
    atomicMax(counter + 1, t);
    scratch[t] = t * t;
    __syncthreads();
    row[7] = scratch[blockDim.x - 1 - t];
    row[8] = atomicCAS(counter + 2, 0, t + 1) == 0 ? 1 : 0;  // exactly one thread wins
    __syncthreads();
    row[9] = counter[0] * 1000 + counter[1];
    row[10] = __shfl_xor_sync(0xffffffffu, t, 16, 16);  // width 16: an earlier segment only
}

}  // namespace

std::vector<long long> intrinsics() {
    DeviceBuffer<long long> out(64 * intrinsics_columns);
    DeviceBuffer<int> counter(3);
    check(cudaMemset(counter.get(), 0, 3 * sizeof(int)), "cudaMemset");
    PARTITA_LAUNCH(intrinsics_kernel, 1, 64, 64 * sizeof(int), nullptr)(out.get(), counter.get());
    std::vector<long long> r(64 * intrinsics_columns);
    out.download(r.data(), r.size());
    return r;
}

double block_sum(const std::vector<double>& x, bool with_barrier) {
    DeviceBuffer<double> dx(x.size()), out(1);
    dx.upload(x.data(), x.size());
    PARTITA_LAUNCH(block_sum_kernel, 1, sum_threads, 0, nullptr)(dx.get(), int(x.size()),
                                                                 with_barrier, out.get());
    double r = 0.0;
    out.download(&r, 1);
    return r;
}

std::vector<double> warp_sums(const std::vector<double>& x, bool divergent) {
    std::vector<double> x64(64, 0.0), r(2);
    std::copy(x.begin(), x.begin() + std::min<std::size_t>(64, x.size()), x64.begin());
    DeviceBuffer<double> dx(64), out(2);
    dx.upload(x64.data(), 64);
    PARTITA_LAUNCH(warp_sums_kernel, 1, 64, 0, nullptr)(dx.get(), divergent, out.get());
    out.download(r.data(), 2);
    return r;
}

std::vector<double> warp_sums_split(const std::vector<double>& x) {
    std::vector<double> x64(64, 0.0), r(2);
    std::copy(x.begin(), x.begin() + std::min<std::size_t>(64, x.size()), x64.begin());
    DeviceBuffer<double> dx(64), out(2);
    dx.upload(x64.data(), 64);
    PARTITA_LAUNCH(warp_sums_split_kernel, 1, 64, 0, nullptr)(dx.get(), out.get());
    out.download(r.data(), 2);
    return r;
}

std::vector<double> shared_copy(const std::vector<double>& x, bool divergent) {
    std::vector<double> x64(64, 0.0), r(64);
    std::copy(x.begin(), x.begin() + std::min<std::size_t>(64, x.size()), x64.begin());
    DeviceBuffer<double> dx(64), out(64);
    dx.upload(x64.data(), 64);
    PARTITA_LAUNCH(shared_copy_kernel, 1, 64, 0, nullptr)(dx.get(), divergent, out.get());
    out.download(r.data(), 64);
    return r;
}

std::vector<double> neighbour_max(const std::vector<double>& x, bool with_barrier) {
    std::vector<double> xs(neighbour_threads, 0.0), r(neighbour_threads);
    std::copy(x.begin(), x.begin() + std::min<std::size_t>(neighbour_threads, x.size()),
              xs.begin());
    DeviceBuffer<double> dx(neighbour_threads), out(neighbour_threads);
    dx.upload(xs.data(), neighbour_threads);
    PARTITA_LAUNCH(neighbour_max_kernel, 1, neighbour_threads, 0, nullptr)(dx.get(), with_barrier,
                                                                           out.get());
    out.download(r.data(), neighbour_threads);
    return r;
}

// One block of 64 threads over x (padded with zeros): out[0].
template <class Launch>
double run_64(const std::vector<double>& x, Launch launch) {
    std::vector<double> x64(64, 0.0), r(64);
    std::copy(x.begin(), x.begin() + std::min<std::size_t>(64, x.size()), x64.begin());
    DeviceBuffer<double> dx(64), out(64);
    dx.upload(x64.data(), 64);
    launch(dx.get(), out.get());
    partita::cuda::check_launch("selftest");
    out.download(r.data(), 64);
    return r[0];
}

double barrier_sites(const std::vector<double>& x) {
    return run_64(x, [](const double* dx, double* out) {
        PARTITA_LAUNCH(barrier_sites_kernel, 1, 64, 0, nullptr)(dx, out);
    });
}

double shuffle_source(const std::vector<double>& x) {
    return run_64(x, [](const double* dx, double* out) {
        PARTITA_LAUNCH(shuffle_source_kernel, 1, 64, 0, nullptr)(dx, out);
    });
}

double shared_reverse(const std::vector<double>& x, bool past_end) {
    return run_64(x, [past_end](const double* dx, double* out) {
        PARTITA_LAUNCH(shared_reverse_kernel, 1, 64, 0, nullptr)(dx, past_end, out);
    });
}

long long large_shared_sum(bool set_attribute) {
    constexpr std::size_t bytes = large_shared_entries * sizeof(long long);
    if (set_attribute)
        check(cudaFuncSetAttribute(large_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   int(bytes)),
              "cudaFuncSetAttribute");
    DeviceBuffer<long long> out(1);
    PARTITA_LAUNCH(large_shared_kernel, 1, 256, bytes, nullptr)(out.get());
    partita::cuda::check_launch("large_shared_kernel");
    long long r = 0;
    out.download(&r, 1);
    return r;
}

std::vector<double> table_scale(const std::vector<double>& x, const std::vector<double>& w,
                                bool every_block) {
    if (w.size() != std::size_t(table_entries) || x.empty() || x.size() % table_entries != 0)
        throw std::invalid_argument("table_scale: 64 weights and a multiple of 64 values");
    const int blocks = int(x.size() / table_entries);
    DeviceBuffer<double> dx(x.size()), dw(table_entries), out(x.size());
    dx.upload(x.data(), x.size());
    dw.upload(w.data(), table_entries);
    PARTITA_LAUNCH(table_scale_kernel, blocks, table_entries, 0, nullptr)(dx.get(), dw.get(),
                                                                          every_block, out.get());
    partita::cuda::check_launch("table_scale_kernel");
    std::vector<double> r(x.size());
    out.download(r.data(), r.size());
    return r;
}

long long fill_indices(int n, bool past_end) {
    DeviceBuffer<long long> out(n);
    const int count = n + (past_end ? 1 : 0);
    PARTITA_LAUNCH(fill_kernel, (count + 63) / 64, 64, 0, nullptr)(out.get(), count);
    std::vector<long long> host(n);
    out.download(host.data(), n);
    return std::accumulate(host.begin(), host.end(), 0LL);
}

}  // namespace partita_emu::selftest
