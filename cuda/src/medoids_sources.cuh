// Where the k-medoids kernels read distances on the device: a stored n x n matrix, or feature rows
// whose distances are computed when needed (docs/algorithms.md, "On-the-fly distances"), so that
// no n x n matrix exists. Both give d(i, j) for one pair and fill a tile of distances from a few
// rows (candidates) to a run of consecutive points, the inner loop of every scan.
#pragma once

#include <cstdint>

#include "partita/cuda/medoids.hpp"
#include "runtime.cuh"

namespace partita::cuda::medoids {

// Rounded arithmetic that is never contracted into a fused multiply-add: every sum here is formed
// in the CPU kernels' order with the CPU's roundings, so the results are theirs bit for bit.
#if defined(__CUDACC__)
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double sub_rn(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub_rn(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
#else  // the emulator's host build has no contraction on x86-64 without -mfma
template <class T>
inline T add_rn(T a, T b) {
    return a + b;
}
template <class T>
inline T sub_rn(T a, T b) {
    return a - b;
}
template <class T>
inline T mul_rn(T a, T b) {
    return a * b;
}
#endif

// Rows of a tile (candidates, one per thread of a block) and its points (columns).
constexpr int tile_rows = 64;
constexpr int tile_points = 32;
// Features staged in shared memory at a time, for the on-the-fly tiles.
constexpr int feature_chunk = 16;

template <class T>
struct StoredDistances {
    const T* D;
    long long ld;  // row stride in elements
    using value_type = T;

    __device__ __forceinline__ T pair(long long i, long long j) const { return D[i * ld + j]; }

    // tile[r][p] = d(rows[r], o0 + p) for r < n_rows, p < n_points. Consecutive threads read
    // consecutive points of one row (coalesced); every thread of the block must call it.
    __device__ void fill_tile(T (*tile)[tile_points + 1], const long long* rows, int n_rows,
                              long long o0, int n_points) const {
        for (int e = threadIdx.x; e < tile_rows * tile_points; e += blockDim.x) {
            const int r = e / tile_points, p = e % tile_points;
            if (r < n_rows && p < n_points) tile[r][p] = D[rows[r] * ld + o0 + p];
        }
        __syncthreads();
    }
};

// Feature rows X (n x d, row stride ld; unit-normalised beforehand for cosine). A distance is a
// sum over the features in order, with the finishing step of its metric, exactly as the CPU's
// FeatureSpace computes it; d(i, i) is 0 by definition.
template <class T>
struct FeatureDistances {
    const T* X;
    long long ld;
    int d;
    Metric metric;
    using value_type = T;

    __device__ __forceinline__ T term(T a, T b) const {
        switch (metric) {
            case Metric::manhattan: {
                const T diff = sub_rn(b, a);
                return diff < T(0) ? -diff : diff;
            }
            case Metric::cosine: return mul_rn(b, a);
            default: {
                const T diff = sub_rn(b, a);
                return mul_rn(diff, diff);
            }
        }
    }
    __device__ __forceinline__ T finish(T acc) const {
        switch (metric) {
            case Metric::euclidean: return sqrt(acc);
            case Metric::cosine: {
                const T v = sub_rn(T(1), acc);
                return v > T(0) ? v : T(0);
            }
            default: return acc;
        }
    }
    __device__ T pair(long long i, long long j) const {
        if (i == j) return T(0);
        const T* a = X + i * ld;
        const T* b = X + j * ld;
        T acc = T(0);
        for (int f = 0; f < d; ++f) acc = add_rn(acc, term(a[f], b[f]));
        return finish(acc);
    }

    // As StoredDistances::fill_tile: the points' features are staged in shared memory a chunk at
    // a time and each thread sums its own row's distances to them.
    __device__ void fill_tile(T (*tile)[tile_points + 1], const long long* rows, int n_rows,
                              long long o0, int n_points) const {
        PARTITA_SHARED_2D(T, xs, tile_points, feature_chunk);
        const int r = threadIdx.x;
        const bool active = r < n_rows;
        const T* own = active ? X + rows[r] * ld : X;
        T acc[tile_points];
        for (int p = 0; p < tile_points; ++p) acc[p] = T(0);
        for (int f0 = 0; f0 < d; f0 += feature_chunk) {
            const int width = d - f0 < feature_chunk ? d - f0 : feature_chunk;
            for (int e = threadIdx.x; e < tile_points * feature_chunk; e += blockDim.x) {
                const int p = e / feature_chunk, f = e % feature_chunk;
                if (p < n_points && f < width) xs[p][f] = X[(o0 + p) * ld + f0 + f];
            }
            __syncthreads();
            if (active)
                for (int f = 0; f < width; ++f) {
                    const T a = own[f0 + f];
                    for (int p = 0; p < n_points; ++p) acc[p] = add_rn(acc[p], term(a, xs[p][f]));
                }
            __syncthreads();
        }
        if (active)
            for (int p = 0; p < n_points; ++p)
                tile[r][p] = rows[r] == o0 + p ? T(0) : finish(acc[p]);
        __syncthreads();
    }
};

}  // namespace partita::cuda::medoids
