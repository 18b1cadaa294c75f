// Kernels of kernel k-means on the device (docs/algorithms.md, "Kernel k-means on a GPU"): Gram
// entries from the features by the CPU's operations (cpp/include/partita/kernel_kmeans/gram.hpp),
// the pass E += w K[j] over a list of rows, and the assignment. Products and sums go through
// round-to-nearest intrinsics so that nvcc does not fuse them into fma: the CPU computes them
// without contraction, and an entry must have the same bits on both.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "runtime.cuh"

namespace partita::cuda::kernel_kmeans::kernels {

constexpr int points_per_block = 128;  // one point per thread
constexpr int tile_rows = 8;           // Gram rows computed together (accumulators in registers)
constexpr int feature_chunk = 32;      // features of the tile's rows staged in shared memory

#if defined(__CUDACC__)
__device__ __forceinline__ double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double add(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double sub(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double from_bits(long long b) { return __longlong_as_double(b); }
__device__ __forceinline__ long long to_bits(double x) { return __double_as_longlong(x); }
__device__ __forceinline__ float from_bits(int b) { return __int_as_float(b); }
__device__ __forceinline__ int to_bits(float x) { return __float_as_int(x); }
#else  // the emulator's host build has no contraction (no fma in the baseline x86-64 target)
template <class T>
inline T mul(T a, T b) {
    return a * b;
}
template <class T>
inline T add(T a, T b) {
    return a + b;
}
template <class T>
inline T sub(T a, T b) {
    return a - b;
}
inline double from_bits(long long b) {
    double x;
    std::memcpy(&x, &b, 8);
    return x;
}
inline long long to_bits(double x) {
    long long b;
    std::memcpy(&b, &x, 8);
    return b;
}
inline float from_bits(int b) {
    float x;
    std::memcpy(&x, &b, 4);
    return x;
}
inline int to_bits(float x) {
    int b;
    std::memcpy(&b, &x, 4);
    return b;
}
#endif

// The CPU's exp_reduced (cpp/include/partita/simd.hpp), operation for operation.
__device__ __forceinline__ double exp_reduced(double x) {
    const double magic = 6755399441055744.0;
    const double t = add(mul(x, 1.4426950408889634), magic);
    const double n = sub(t, magic);
    double r = sub(x, mul(n, 0.6931471803691238));
    r = sub(r, mul(n, 1.9082149292705877e-10));
    const double r2 = mul(r, r), r4 = mul(r2, r2), r8 = mul(r4, r4);
    const double p01 = add(r, 1.0), p23 = add(mul(r, 1.0 / 6.0), 0.5);
    const double p45 = add(mul(r, 1.0 / 120.0), 1.0 / 24.0);
    const double p67 = add(mul(r, 1.0 / 5040.0), 1.0 / 720.0);
    const double p89 = add(mul(r, 1.0 / 362880.0), 1.0 / 40320.0);
    const double q0 = add(p01, mul(p23, r2)), q1 = add(p45, mul(p67, r2));
    const double q2 = add(p89, mul(r2, 1.0 / 3628800.0));
    const double p = add(add(q0, mul(q1, r4)), mul(q2, r8));
    const long long e = (long long)((unsigned long long)(to_bits(t) - to_bits(magic) + 1023) << 52);
    return mul(p, from_bits(e));
}
__device__ __forceinline__ float exp_reduced(float x) {
    const float magic = 12582912.0f;
    const float t = add(mul(x, 1.44269504f), magic);
    const float n = sub(t, magic);
    float r = sub(x, mul(n, 0.693359375f));
    r = sub(r, mul(n, -2.12194440e-4f));
    float p = 1.0f / 5040.0f;
    p = add(mul(p, r), 1.0f / 720.0f);
    p = add(mul(p, r), 1.0f / 120.0f);
    p = add(mul(p, r), 1.0f / 24.0f);
    p = add(mul(p, r), 1.0f / 6.0f);
    p = add(mul(p, r), 0.5f);
    p = add(mul(p, r), 1.0f);
    p = add(mul(p, r), 1.0f);
    const int e = (int)((unsigned)(to_bits(t) - to_bits(magic) + 127) << 23);
    return mul(p, from_bits(e));
}

// exp(x) for x <= 0, clamped below at the smallest normal result, as the CPU.
template <class T>
__device__ __forceinline__ T exp_nonpositive(T x) {
    const T lo = sizeof(T) == 8 ? T(-708.0) : T(-87.0f);
    x = x < lo ? lo : x;
    x = x > T(0) ? T(0) : x;
    return exp_reduced(x);
}

__device__ __forceinline__ double pow_t(double a, double b) { return pow(a, b); }
__device__ __forceinline__ float pow_t(float a, float b) { return powf(a, b); }
__device__ __forceinline__ double tanh_t(double a) { return tanh(a); }
__device__ __forceinline__ double abs_t(double a) { return fabs(a); }
__device__ __forceinline__ float abs_t(float a) { return fabsf(a); }
__device__ __forceinline__ float tanh_t(float a) { return tanhf(a); }

// Features prepared as on the CPU (centred for rbf), both layouts, and the kernel.
template <class T>
struct Features {
    const T* rows;  // n x d
    const T* cols;  // d x n
    const T* sq;    // squared norms of the rows
    long long n;
    int d;
    int kernel;  // Kernel
    T gamma, degree, coef0;
};

// The kernel map of a raw sum (dot product, or l1 distance for laplacian) of a row with squared
// norm a_sq and a point with squared norm c_sq: gram.hpp's map_body for one entry.
template <class T>
__device__ __forceinline__ T kernel_map(const Features<T>& f, T raw, T a_sq, T c_sq) {
    switch (f.kernel) {
        case 1: {  // rbf
            T d2 = sub(add(a_sq, c_sq), mul(raw, T(2)));
            d2 = d2 < T(0) ? T(0) : d2;
            return exp_nonpositive(mul(d2, -f.gamma));
        }
        case 4: return exp_nonpositive(mul(raw, -f.gamma));               // laplacian
        case 2: return pow_t(add(mul(f.gamma, raw), f.coef0), f.degree);  // polynomial
        case 3: return tanh_t(add(mul(f.gamma, raw), f.coef0));           // sigmoid
        default: return raw;                                              // linear
    }
}

// Gram entries K(js[r], i) for r < m (m <= tile_rows) of the thread's point i: sums over the
// features in increasing order, as the CPU's tiles. Every thread of the block calls it (the
// rows' features are staged in shared memory `a`); points past n compute nothing.
template <class T, class Shared>
__device__ __forceinline__ void tile_entries(const Features<T>& f, const long long* js, int m,
                                             long long i, T (&out)[tile_rows], Shared& a) {
    T acc[tile_rows];
    for (int r = 0; r < tile_rows; ++r) acc[r] = T(0);
    const bool l1 = f.kernel == 4;
    for (int t0 = 0; t0 < f.d; t0 += feature_chunk) {
        const int len = f.d - t0 < feature_chunk ? f.d - t0 : feature_chunk;
        __syncthreads();  // the previous chunk has been read by every thread
        for (int e = threadIdx.x; e < tile_rows * feature_chunk; e += blockDim.x) {
            const int r = e / feature_chunk, t = e % feature_chunk;
            a[r][t] = (r < m && t < len) ? f.rows[js[r] * f.d + t0 + t] : T(0);
        }
        __syncthreads();
        if (i < f.n)
            for (int t = 0; t < len; ++t) {
                const T x = f.cols[(long long)(t0 + t) * f.n + i];
                for (int r = 0; r < tile_rows; ++r)
                    if (r < m) acc[r] = add(acc[r], l1 ? abs_t(sub(x, a[r][t])) : mul(x, a[r][t]));
            }
    }
    if (i < f.n)
        for (int r = 0; r < tile_rows; ++r)
            if (r < m) out[r] = kernel_map(f, acc[r], f.sq[js[r]], f.sq[i]);
}

// out[r * ld + i] = K(js[r], i) for r < count: a grid of point blocks x row tiles.
template <class T>
__global__ void rows_kernel(Features<T> f, const long long* __restrict__ js, long long count,
                            T* __restrict__ out, long long ld) {
    PARTITA_SHARED_2D(T, a, tile_rows, feature_chunk);
    const long long i = (long long)blockIdx.x * points_per_block + threadIdx.x;
    for (long long r0 = (long long)blockIdx.y * tile_rows; r0 < count;
         r0 += (long long)gridDim.y * tile_rows) {
        const int m = count - r0 < tile_rows ? int(count - r0) : tile_rows;
        T k[tile_rows];
        tile_entries(f, js + r0, m, i, k, a);
        if (i < f.n)
            for (int r = 0; r < tile_rows; ++r)
                if (r < m) out[(r0 + r) * ld + i] = k[r];
    }
}

// A thread's running E entry: the updates of one cluster come as a run (the host groups them by
// cluster, increasing j within it), so E[c][i] is read once per run, summed in a register in the
// CPU's order (E += (-w) v for a removal, E += w v for an addition: w carries the sign) and
// written once.
struct RunningSum {
    int cluster = -1;
    double value = 0.0;
    __device__ __forceinline__ void add_entry(double* E, long long n, long long i, int c, double w,
                                              double v) {
        if (c != cluster) {
            flush(E, n, i);
            cluster = c;
            value = E[c * n + i];
        }
        value = add(value, mul(w, v));
    }
    __device__ __forceinline__ void flush(double* E, long long n, long long i) {
        if (cluster >= 0) E[cluster * n + i] = value;
    }
};

// E pass over recomputed rows: each thread owns one point (a column of E) and takes the updates
// in list order.
template <class T>
__global__ void accumulate_features_kernel(Features<T> f, const long long* __restrict__ js,
                                           const int* __restrict__ cluster,
                                           const double* __restrict__ w, long long count,
                                           double* __restrict__ E) {
    PARTITA_SHARED_2D(T, a, tile_rows, feature_chunk);
    const long long i = (long long)blockIdx.x * points_per_block + threadIdx.x;
    RunningSum e;
    for (long long r0 = 0; r0 < count; r0 += tile_rows) {
        const int m = count - r0 < tile_rows ? int(count - r0) : tile_rows;
        T k[tile_rows];
        tile_entries(f, js + r0, m, i, k, a);
        if (i < f.n)
            for (int r = 0; r < tile_rows; ++r)
                if (r < m) e.add_entry(E, f.n, i, cluster[r0 + r], w[r0 + r], double(k[r]));
    }
    if (i < f.n) e.flush(E, f.n, i);
}

// E pass over a stored Gram (row j read at K + j * ld, coalesced over the points).
template <class T>
__global__ void accumulate_stored_kernel(const T* __restrict__ K, long long ld, long long n,
                                         const long long* __restrict__ js,
                                         const int* __restrict__ cluster,
                                         const double* __restrict__ w, long long count,
                                         double* __restrict__ E) {
    const long long i = (long long)blockIdx.x * points_per_block + threadIdx.x;
    if (i >= n) return;
    RunningSum e;
    for (long long r = 0; r < count; ++r)
        e.add_entry(E, n, i, cluster[r], w[r], double(K[js[r] * ld + i]));
    e.flush(E, n, i);
}

// diag[i] = K(x_i, x_i): raw sum the squared norm (0 for laplacian), then the kernel map.
template <class T>
__global__ void diagonal_kernel(Features<T> f, double* __restrict__ diag) {
    const long long i = (long long)blockIdx.x * points_per_block + threadIdx.x;
    if (i >= f.n) return;
    const T sq = f.sq[i];
    diag[i] = double(kernel_map(f, f.kernel == 4 ? T(0) : sq, sq, sq));
}

template <class T>
__global__ void stored_diagonal_kernel(const T* __restrict__ K, long long ld, long long n,
                                       double* __restrict__ diag) {
    const long long i = (long long)blockIdx.x * points_per_block + threadIdx.x;
    if (i < n) diag[i] = double(K[i * ld + i]);
}

// The CPU's assign(): clusters with s_c = 0 skipped, strict < so ties go to the lowest c.
__global__ void assign_kernel(const double* __restrict__ E, long long n, int k,
                              const double* __restrict__ s, const double* __restrict__ norms,
                              const double* __restrict__ diag, int* __restrict__ labels,
                              double* __restrict__ dist) {
    const long long i = (long long)blockIdx.x * points_per_block + threadIdx.x;
    if (i >= n) return;
    const double kii = diag[i];
    double best = INFINITY;
    int arg = 0;
    bool found = false;
    for (int c = 0; c < k; ++c) {
        if (!(s[c] > 0)) continue;
        double d = add(sub(kii, mul(2.0, E[c * n + i]) / s[c]), norms[c]);
        d = d < 0.0 ? 0.0 : d;
        if (!found || d < best) {
            best = d;
            arg = c;
            found = true;
        }
    }
    labels[i] = arg;
    dist[i] = best;
}

__global__ void own_sums_kernel(const double* __restrict__ E, long long n,
                                const int* __restrict__ labels, double* __restrict__ out) {
    const long long i = (long long)blockIdx.x * points_per_block + threadIdx.x;
    if (i < n) out[i] = E[labels[i] * n + i];
}

}  // namespace partita::cuda::kernel_kmeans::kernels
