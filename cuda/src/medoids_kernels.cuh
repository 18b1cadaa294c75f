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

// removal[s] = sum over the points o of slot s, in order, of w_o (seco_d(o) - near_d(o)).
template <class T>
__global__ void removal_kernel(int k, long long n, const int* __restrict__ near_i,
                               const T* __restrict__ near_d, const T* __restrict__ seco_d,
                               const double* __restrict__ w, double* __restrict__ removal) {
    const int s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s >= k) return;
    double r = 0.0;
    for (long long o = 0; o < n; ++o)
        if (near_i[o] == s)
            r = add_rn(r, mul_rn(w[o], sub_rn(double(seco_d[o]), double(near_d[o]))));
    removal[s] = r;
}

// Scores candidate cand[c] for c < m (docs/algorithms.md, "Scoring a candidate"): ploss (k x m,
// column c for candidate c) starts from the removal losses and receives, point by point in
// order, each slot's loss change; change[c] is the best slot's change plus the shared gain.
template <class T, class Src>
__global__ void score_kernel(Src src, const long long* __restrict__ cand, int m, long long n,
                             const int* __restrict__ near_i, const T* __restrict__ near_d,
                             const T* __restrict__ seco_d, const double* __restrict__ w,
                             const double* __restrict__ removal, int k, double* __restrict__ ploss,
                             double* __restrict__ change, int* __restrict__ slot) {
    PARTITA_SHARED_2D(T, tile, tile_rows, tile_points + 1);
    const int first = blockIdx.x * tile_rows, rows = m - first < tile_rows ? m - first : tile_rows;
    const int c = first + threadIdx.x;
    const bool active = threadIdx.x < rows;
    double* pl = ploss + c;
    if (active)
        for (int s = 0; s < k; ++s) pl[(long long)s * m] = removal[s];
    double acc = 0.0;
    for (long long o0 = 0; o0 < n; o0 += tile_points) {
        const int count = n - o0 < tile_points ? int(n - o0) : tile_points;
        src.fill_tile(tile, cand + first, rows, o0, count);
        if (active)
            for (int p = 0; p < count; ++p) {
                const long long o = o0 + p;
                const T d = tile[threadIdx.x][p];
                if (!(d < seco_d[o])) continue;
                const double dd = double(d), nd = double(near_d[o]), sd = double(seco_d[o]);
                double& target = pl[(long long)near_i[o] * m];
                if (d < near_d[o]) {
                    acc = add_rn(acc, mul_rn(w[o], sub_rn(dd, nd)));
                    target = add_rn(target, mul_rn(w[o], sub_rn(nd, sd)));
                } else {
                    target = add_rn(target, mul_rn(w[o], sub_rn(dd, sd)));
                }
            }
        __syncthreads();  // the tile is refilled next
    }
    if (!active) return;
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

// Per row r = rows[c]: sums[c] = sum over o != r, in order, of w_o d(r, o) (k = 1, BUILD's
// first medoid); with `near`, BUILD's gain -w_r near_r + sum over o != r with d(r, o) < near_o
// of w_o (d(r, o) - near_o) (docs/algorithms.md, "BUILD").
template <class T, class Src>
__global__ void row_sums_kernel(Src src, const long long* __restrict__ rows, int m, long long n,
                                const double* __restrict__ w, const double* __restrict__ near,
                                double* __restrict__ out) {
    PARTITA_SHARED_2D(T, tile, tile_rows, tile_points + 1);
    const int first = blockIdx.x * tile_rows;
    const int count_rows = m - first < tile_rows ? m - first : tile_rows;
    const bool active = int(threadIdx.x) < count_rows;
    const long long r = active ? rows[first + threadIdx.x] : -1;
    double s = near && active ? mul_rn(-w[r], near[r]) : 0.0;
    for (long long o0 = 0; o0 < n; o0 += tile_points) {
        const int count = n - o0 < tile_points ? int(n - o0) : tile_points;
        src.fill_tile(tile, rows + first, count_rows, o0, count);
        if (active)
            for (int p = 0; p < count; ++p) {
                const long long o = o0 + p;
                if (o == r) continue;
                const double d = double(tile[threadIdx.x][p]);
                if (!near) s = add_rn(s, mul_rn(w[o], d));
                else if (d < near[o]) s = add_rn(s, mul_rn(w[o], sub_rn(d, near[o])));
            }
        __syncthreads();
    }
    if (active) out[first + threadIdx.x] = s;
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
