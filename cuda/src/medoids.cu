// k-medoids kernels on the GPU (host interface: partita/cuda/medoids.hpp).
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "device_memory.cuh"
#include "partita/cuda/medoids.hpp"

namespace partita::cuda::medoids {
namespace {

// A block holds 32 consecutive points (threadIdx.x, so that reading a medoid's row is
// coalesced) times 8 groups of medoid slots (threadIdx.y); the groups' partial results meet in a
// shared-memory tree reduction.
constexpr int points_per_block = 32;
constexpr int slot_groups = 8;

// A medoid slot as a candidate for a point. The order is the CPU's sequential rule written as a
// total order, so that any reduction tree gives the same answer: the point's own slot first, then
// smaller distance, then lower slot; no slot (-1) last.
template <class T>
struct Candidate {
    T d;
    int slot;
    bool self;
};

template <class T>
__device__ __forceinline__ bool before(const Candidate<T>& a, const Candidate<T>& b) {
    if (a.slot < 0) return false;
    if (b.slot < 0) return true;
    if (a.self != b.self) return a.self;
    if (a.d < b.d) return true;
    if (b.d < a.d) return false;
    return a.slot < b.slot;
}

template <class T>
struct Best2 {
    Candidate<T> first{T(0), -1, false}, second{T(0), -1, false};
    __device__ __forceinline__ void insert(const Candidate<T>& c) {
        if (before(c, first)) {
            second = first;
            first = c;
        } else if (before(c, second)) {
            second = c;
        }
    }
};

template <class T>
__global__ void assign_kernel(const T* __restrict__ D, long long ld,
                              const long long* __restrict__ med, int k, long long n,
                              int* __restrict__ near_i, T* __restrict__ near_d,
                              int* __restrict__ seco_i, T* __restrict__ seco_d) {
    PARTITA_SHARED_3D(T, dist, 2, slot_groups, points_per_block);
    PARTITA_SHARED_3D(int, slot, 2, slot_groups, points_per_block);
    PARTITA_SHARED_3D(unsigned char, self, 2, slot_groups, points_per_block);
    const int x = threadIdx.x, y = threadIdx.y;
    const long long o = (long long)blockIdx.x * points_per_block + x;
    Best2<T> best;
    if (o < n)
        for (int m = y; m < k; m += slot_groups) {
            const long long j = med[m];
            best.insert(Candidate<T>{D[j * ld + o], m, j == o});
        }
    // Every thread reaches the barriers below, points past n included (they carry no slot).
    dist[0][y][x] = best.first.d;
    slot[0][y][x] = best.first.slot;
    self[0][y][x] = best.first.self;
    dist[1][y][x] = best.second.d;
    slot[1][y][x] = best.second.slot;
    self[1][y][x] = best.second.self;
    __syncthreads();
    for (int s = slot_groups / 2; s > 0; s >>= 1) {
        if (y < s) {
            for (int r = 0; r < 2; ++r)
                best.insert(
                    Candidate<T>{dist[r][y + s][x], slot[r][y + s][x], self[r][y + s][x] != 0});
            dist[0][y][x] = best.first.d;
            slot[0][y][x] = best.first.slot;
            self[0][y][x] = best.first.self;
            dist[1][y][x] = best.second.d;
            slot[1][y][x] = best.second.slot;
            self[1][y][x] = best.second.self;
        }
        __syncthreads();
    }
    if (y == 0 && o < n) {
        near_i[o] = best.first.slot;
        near_d[o] = best.first.d;
        seco_i[o] = best.second.slot;
        seco_d[o] = best.second.slot < 0 ? T(0) : best.second.d;
    }
}

template <class T>
Assignment assign_typed(const ArrayRef& D, const std::vector<std::int64_t>& medoids) {
    const long long n = D.dim(0), k = (long long)medoids.size();
    DeviceInput<T> dist(D, "the distance matrix");
    DeviceBuffer<long long> med(k, "the medoid indices");
    med.upload(reinterpret_cast<const long long*>(medoids.data()), k);
    DeviceBuffer<int> ni(n, "nearest slots"), si(n, "second-nearest slots");
    DeviceBuffer<T> nd(n, "nearest distances"), sd(n, "second-nearest distances");
    if (n > 0) {
        const dim3 block(points_per_block, slot_groups);
        const dim3 grid(unsigned((n + points_per_block - 1) / points_per_block));
        PARTITA_LAUNCH(assign_kernel<T>, grid, block, 0, nullptr)(
            dist.get(), (long long)D.strides[0], med.get(), int(k), n, ni.get(), nd.get(), si.get(),
            sd.get());
        check_launch("medoids.assign_kernel");
        check(cudaDeviceSynchronize(), "medoids.assign_kernel");
    }
    Assignment a;
    a.dtype = D.dtype;
    a.near_i.resize(n);
    a.seco_i.resize(n);
    ni.download(a.near_i.data(), n);
    si.download(a.seco_i.data(), n);
    std::vector<T> tmp(n);
    nd.download(tmp.data(), n);
    a.near_d.assign(tmp.begin(), tmp.end());
    sd.download(tmp.data(), n);
    a.seco_d.assign(tmp.begin(), tmp.end());
    return a;
}

}  // namespace

Assignment assign(const ArrayRef& D, const std::vector<std::int64_t>& medoids) {
    if (D.shape.size() != 2 || D.dim(0) != D.dim(1))
        throw std::invalid_argument("D: expected a square distance matrix");
    if (!D.rows_contiguous()) throw std::invalid_argument("D: the rows must be contiguous");
    if (D.dtype != DType::float32 && D.dtype != DType::float64)
        throw std::invalid_argument("D: expected float32 or float64");
    if (medoids.empty() || medoids.size() > (std::size_t(1) << 30))
        throw std::invalid_argument("medoids: expected at least one medoid");
    std::unordered_set<std::int64_t> seen;
    for (auto j : medoids) {
        if (j < 0 || j >= D.dim(0))
            throw std::invalid_argument("medoids: index " + std::to_string(j) + " out of range");
        if (!seen.insert(j).second)
            throw std::invalid_argument("medoids: index " + std::to_string(j) + " repeated");
    }
    return D.dtype == DType::float32 ? assign_typed<float>(D, medoids)
                                     : assign_typed<double>(D, medoids);
}

}  // namespace partita::cuda::medoids
