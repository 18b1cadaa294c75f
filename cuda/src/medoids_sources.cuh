// Where the k-medoids kernels read distances on the device: a stored n x n matrix, or feature rows
// whose distances are computed when needed (docs/algorithms.md, "On-the-fly distances"), so that
// no n x n matrix exists. Both give d(i, j); a scan asks a warp's lanes for d(j, o) at 32
// consecutive points o, which reads 32 consecutive entries of row j of a matrix.
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

template <class T>
struct StoredDistances {
    const T* D;
    long long ld;  // row stride in elements
    using value_type = T;
    static constexpr bool stored = true;

    __device__ __forceinline__ T pair(long long i, long long j) const { return D[i * ld + j]; }
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
    static constexpr bool stored = false;

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
};

}  // namespace partita::cuda::medoids
