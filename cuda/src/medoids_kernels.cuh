// The k-medoids kernels behind the swap search, BUILD and the scoring of medoids
// (docs/algorithms.md, "k-medoids on a GPU"). Every sum runs in the CPU kernels' order with
// their roundings (one thread owns a sum), so the device reproduces the CPU's numbers bit for bit;
// the parallelism is across candidates or points, never inside a sum.
#pragma once

#include "medoids_sources.cuh"

namespace partita::cuda::medoids {

// Nearest and second-nearest slot of every point (docs/algorithms.md, "Per-point state"), the
// CPU's sequential rule: slots in order, strict <, a medoid always its own nearest.
template <class T, class Src>
__global__ void assign_points_kernel(Src src, const long long* __restrict__ med, int k, long long n,
                                     int* __restrict__ near_i, T* __restrict__ near_d,
                                     int* __restrict__ seco_i, T* __restrict__ seco_d) {
    const long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= n) return;
    int ni = 0, si = -1;
    T nd = src.pair(med[0], o), sd = T(0);
    for (int m = 1; m < k; ++m) {
        const T d = src.pair(med[m], o);
        if (d < nd || o == med[m]) {
            si = ni;
            sd = nd;
            ni = m;
            nd = d;
        } else if (si < 0 || d < sd) {
            si = m;
            sd = d;
        }
    }
    near_i[o] = ni;
    near_d[o] = nd;
    seco_i[o] = si;
    seco_d[o] = sd;
}

// One warp per row of a scan (a candidate, a slot): its 32 lanes look at 32 consecutive points
// at once (consecutive addresses), a ballot marks the points that contribute, and the warp then
// takes them one by one in point order, every lane forming the same sum with the same roundings
// (the CPU's vectorised scans do the same over vector lanes). Only the few contributing points
// are sequential.
constexpr int warps_per_block = 8;
constexpr int scan_threads = 32 * warps_per_block;
constexpr unsigned full_mask = 0xffffffffu;

// removal[s] = sum over the points o of slot s, in order, of w_o (seco_d(o) - near_d(o)).
template <class T>
__global__ void removal_kernel(int k, long long n, const int* __restrict__ near_i,
                               const T* __restrict__ near_d, const T* __restrict__ seco_d,
                               const double* __restrict__ w, double* __restrict__ removal) {
    const int s = blockIdx.x * warps_per_block + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (s >= k) return;  // the whole warp
    double r = 0.0;
    for (long long o0 = 0; o0 < n; o0 += 32) {
        const long long o = o0 + lane;
        unsigned mask = __ballot_sync(full_mask, o < n && near_i[o] == s);
        while (mask) {
            const long long q = o0 + __ffs(mask) - 1;
            mask &= mask - 1;
            r = add_rn(r, mul_rn(w[q], sub_rn(double(seco_d[q]), double(near_d[q]))));
        }
    }
    if (lane == 0) removal[s] = r;
}

// Scores candidate cand[c] for c < m, one warp each (docs/algorithms.md, "Scoring a
// candidate"): ploss (k x m, column c for candidate c) starts from the removal losses and
// receives, point by point in order, each slot's loss change; change[c] is the best slot's change
// plus the shared gain. Lane 0 alone writes ploss.
template <class T, class Src>
__global__ void score_kernel(Src src, const long long* __restrict__ cand, int m, long long n,
                             const int* __restrict__ near_i, const T* __restrict__ near_d,
                             const T* __restrict__ seco_d, const double* __restrict__ w,
                             const double* __restrict__ removal, int k, double* __restrict__ ploss,
                             double* __restrict__ change, int* __restrict__ slot) {
    const int c = blockIdx.x * warps_per_block + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (c >= m) return;  // the whole warp
    const long long j = cand[c];
    double* pl = ploss + c;
    for (int s = lane; s < k; s += 32) pl[(long long)s * m] = removal[s];
    __syncwarp();
    double acc = 0.0;
    for (long long o0 = 0; o0 < n; o0 += 32) {
        const long long o = o0 + lane;
        const T d = o < n ? src.pair(j, o) : T(0);
        unsigned mask = __ballot_sync(full_mask, o < n && d < seco_d[o]);
        while (mask) {
            const int p = __ffs(mask) - 1;
            mask &= mask - 1;
            const T dq = __shfl_sync(full_mask, d, p);
            const long long q = o0 + p;
            const double dd = double(dq), nd = double(near_d[q]), sd = double(seco_d[q]);
            double change_q;
            if (dq < near_d[q]) {
                acc = add_rn(acc, mul_rn(w[q], sub_rn(dd, nd)));
                change_q = mul_rn(w[q], sub_rn(nd, sd));
            } else {
                change_q = mul_rn(w[q], sub_rn(dd, sd));
            }
            if (lane == 0) {
                double& target = pl[(long long)near_i[q] * m];
                target = add_rn(target, change_q);
            }
        }
    }
    if (lane != 0) return;
    int b = 0;  // the first slot of the smallest loss change (strict <)
    for (int s = 1; s < k; ++s)
        if (pl[(long long)s * m] < pl[(long long)b * m]) b = s;
    change[c] = add_rn(pl[(long long)b * m], acc);
    slot[c] = b;
}

// Replaces the medoid of slot b by point j (med already holds it) and updates every point's
// state (docs/algorithms.md, "Applying a swap"), as the CPU's apply_swap.
template <class T, class Src>
__device__ void rescan_second(const Src& src, const long long* med, int k, long long o, int near,
                              int b, T d_b, int& si, T& sd) {
    si = b;
    sd = d_b;
    for (int s = 0; s < k; ++s) {
        if (s == near || s == b) continue;
        const T d = src.pair(o, med[s]);
        if (d < sd) {
            si = s;
            sd = d;
        }
    }
}

template <class T, class Src>
__global__ void apply_swap_kernel(Src src, const long long* __restrict__ med, int k, long long n,
                                  int b, long long j, int* __restrict__ near_i,
                                  T* __restrict__ near_d, int* __restrict__ seco_i,
                                  T* __restrict__ seco_d) {
    const long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= n) return;
    int ni = near_i[o], si = seco_i[o];
    T nd = near_d[o], sd = seco_d[o];
    if (o == j) {
        if (ni != b) {
            si = ni;
            sd = nd;
        }
        ni = b;
        nd = T(0);
    } else {
        const T d = src.pair(j, o);
        if (ni == b) {  // the nearest medoid was replaced
            if (d < sd) {
                nd = d;
            } else {
                ni = si;
                nd = sd;
                rescan_second(src, med, k, o, ni, b, d, si, sd);
            }
        } else if (d < nd) {
            si = ni;
            sd = nd;
            ni = b;
            nd = d;
        } else if (d < sd) {
            si = b;
            sd = d;
        } else if (si == b) {  // the second nearest was replaced
            rescan_second(src, med, k, o, ni, b, d, si, sd);
        }
    }
    near_i[o] = ni;
    near_d[o] = nd;
    seco_i[o] = si;
    seco_d[o] = sd;
}

// The reported labels (docs/algorithms.md, "Ties"): the lowest slot at the nearest distance.
template <class T, class Src>
__global__ void labels_kernel(Src src, const long long* __restrict__ med, int k, long long n,
                              const int* __restrict__ near_i, const T* __restrict__ near_d,
                              const int* __restrict__ seco_i, const T* __restrict__ seco_d,
                              int* __restrict__ labels) {
    const long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= n) return;
    int label = near_i[o];
    if (seco_i[o] >= 0 && seco_d[o] == near_d[o])
        for (int s = 0; s < k; ++s)
            if (src.pair(o, med[s]) == near_d[o]) {
                label = s;
                break;
            }
    labels[o] = label;
}

// Per row r = rows[c], one warp each: sums[c] = sum over o != r, in order, of w_o d(r, o)
// (k = 1, BUILD's first medoid); with `near`, BUILD's gain -w_r near_r + sum over o != r with
// d(r, o) < near_o of w_o (d(r, o) - near_o) (docs/algorithms.md, "BUILD").
template <class T, class Src>
__global__ void row_sums_kernel(Src src, const long long* __restrict__ rows, int m, long long n,
                                const double* __restrict__ w, const double* __restrict__ near,
                                double* __restrict__ out) {
    const int c = blockIdx.x * warps_per_block + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (c >= m) return;  // the whole warp
    const long long r = rows[c];
    double s = near ? mul_rn(-w[r], near[r]) : 0.0;
    for (long long o0 = 0; o0 < n; o0 += 32) {
        const long long o = o0 + lane;
        const double d = o < n ? double(src.pair(r, o)) : 0.0;
        unsigned mask = __ballot_sync(full_mask, o < n && o != r && (!near || d < near[o]));
        while (mask) {
            const int p = __ffs(mask) - 1;
            mask &= mask - 1;
            const double dq = __shfl_sync(full_mask, d, p);
            const long long q = o0 + p;
            s = add_rn(s, mul_rn(w[q], near ? sub_rn(dq, near[q]) : dq));
        }
    }
    if (lane == 0) out[c] = s;
}

// near[o] = d(j, o) (first) or min(near[o], d(j, o)), as doubles.
template <class T, class Src>
__global__ void nearest_kernel(Src src, long long j, long long n, bool first,
                               double* __restrict__ near) {
    const long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= n) return;
    const double d = double(src.pair(j, o));
    if (first || d < near[o]) near[o] = d;
}

// out[a * c + b] = d(rows[a], cols[b]): distance rows and blocks for the host-driven seedings.
template <class T, class Src>
__global__ void pairs_kernel(Src src, const long long* __restrict__ rows, int r,
                             const long long* __restrict__ cols, long long c, T* __restrict__ out) {
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= (long long)r * c) return;
    const long long a = e / c, b = e % c;
    out[e] = src.pair(rows[a], cols ? cols[b] : b);
}

}  // namespace partita::cuda::medoids
