// Dense multicut kernels on the GPU (host interface: partita/cuda/multicut.hpp;
// docs/algorithms.md, "Dense multicut on a GPU").
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "device_memory.cuh"
#include "partita/cuda/multicut.hpp"

namespace partita::cuda::multicut {
namespace {

// acc + x * y and x - y rounded once each, as the CPU computes them (its module is compiled
// without FMA contraction): nvcc would otherwise fuse them into one fma.
__device__ inline double add_product(double acc, double x, double y) {
#if defined(__CUDA_ARCH__)
    return __dadd_rn(acc, __dmul_rn(x, y));
#else
    return acc + x * y;
#endif
}
__device__ inline double pair_cost(double dot, double a, double sr, double sj) {
#if defined(__CUDA_ARCH__)
    return __dsub_rn(dot, __dmul_rn(a, __dmul_rn(sr, sj)));
#else
    return dot - a * (sr * sj);
#endif
}

// The exact float64 cost of the pair (r, j), by the CPU's operations in the CPU's order.
__device__ inline double exact_cost(const double* __restrict__ fr, const double* __restrict__ fj,
                                    long long d, double a, double sr, double sj) {
    double acc = 0.0;
    for (long long t = 0; t < d; ++t) acc = add_product(acc, fr[t], fj[t]);
    return pair_cost(acc, a, sr, sj);
}

// The kNN: one thread per query row, knn_rows rows per block. The block streams the columns in
// tiles of knn_cols rows, their features (and the block's own rows) staged in shared memory
// knn_feats at a time as S (float or double); every thread sums its row's products with the
// knn_cols columns in registers, then offers the finished costs to its own list. With S = double
// the sums are the exact costs; with S = float they screen: a column is recomputed exactly (and
// only then offered) when its float32 score could reach the list's threshold within the bound
// margin |F_r| |F_j| (docs/algorithms.md, "Lazy kNN rounds"), so the lists are the same.
constexpr int knn_rows = 64, knn_cols = 32, knn_feats = 16;

template <class S>
__global__ void knn_kernel(const double* __restrict__ F, const double* __restrict__ s,
                           const double* __restrict__ norm, double margin, long long m, long long d,
                           double a, long long k, long long* __restrict__ nbr,
                           double* __restrict__ cost) {
    constexpr bool screen = sizeof(S) == sizeof(float);
    PARTITA_SHARED_2D(S, cols, knn_cols, knn_feats);
    PARTITA_SHARED_2D(S, rows, knn_rows, knn_feats + 1);  // +1: no bank conflicts
    PARTITA_SHARED(double, col_size, knn_cols);
    PARTITA_SHARED(double, col_norm, knn_cols);
    // Each thread's finished sums, read back by index (registers cannot be indexed at run time).
    PARTITA_SHARED_2D(S, score, knn_rows, knn_cols + 1);
    const int tid = threadIdx.x;
    const long long r0 = (long long)blockIdx.x * knn_rows, r = r0 + tid;
    const bool active = r < m;
    const double sr = active ? s[r] : 0.0;
    const double mr = active && screen ? margin * norm[r] : 0.0;
    const double* fr = F + (active ? r : 0) * d;
    long long* nj = nbr + (active ? r : 0) * k;
    double* nc = cost + (active ? r : 0) * k;
    long long cnt = 0, last_j = -1;  // the list's length and its k-th entry (when full)
    double last_c = 0.0;
    for (long long j0 = 0; j0 < m; j0 += knn_cols) {
        __syncthreads();  // the previous tile's sizes and norms are read
        if (tid < knn_cols) {
            col_size[tid] = j0 + tid < m ? s[j0 + tid] : 0.0;
            col_norm[tid] = j0 + tid < m && screen ? norm[j0 + tid] : 0.0;
        }
        S acc[knn_cols];
#pragma unroll
        for (int c = 0; c < knn_cols; ++c) acc[c] = S(0);
        for (long long t0 = 0; t0 < d; t0 += knn_feats) {
            const int nt = int(d - t0 < knn_feats ? d - t0 : knn_feats);
            __syncthreads();  // the previous features are read
            for (int e = tid; e < knn_cols * knn_feats; e += knn_rows) {
                const int c = e / knn_feats, t = e % knn_feats;
                cols[c][t] = S((j0 + c < m && t < nt) ? F[(j0 + c) * d + t0 + t] : 0.0);
            }
            for (int e = tid; e < knn_rows * knn_feats; e += knn_rows) {
                const int q = e / knn_feats, t = e % knn_feats;
                rows[q][t] = S((r0 + q < m && t < nt) ? F[(r0 + q) * d + t0 + t] : 0.0);
            }
            __syncthreads();
            for (int t = 0; t < nt; ++t) {
                const S x = rows[tid][t];
#pragma unroll
                for (int c = 0; c < knn_cols; ++c) {
                    if constexpr (screen) acc[c] += x * cols[c][t];  // fused or not: within bound
                    else acc[c] = add_product(acc[c], x, cols[c][t]);
                }
            }
        }
        __syncthreads();  // col_size and col_norm are written (also when d == 0)
        if (!active) continue;
#pragma unroll
        for (int c = 0; c < knn_cols; ++c) score[tid][c] = acc[c];
        for (int c = 0; c < knn_cols; ++c) {
            const long long j = j0 + c;
            if (j >= m) break;
            if (j == r) continue;
            double v = pair_cost(double(score[tid][c]), a, sr, col_size[c]);
            if constexpr (screen) {
                const double slack = mr * col_norm[c] + 1e-300;
                if (!(v + slack >= (cnt < k ? 0.0 : last_c))) continue;
                v = exact_cost(fr, F + j * d, d, a, sr, col_size[c]);
            }
            // Better than the k-th entry (or positive while the list is short): a total order,
            // cost descending then index ascending, so the arrival order does not matter.
            if (cnt < k ? !(v > 0.0) : !(v > last_c || (v == last_c && j < last_j))) continue;
            long long p = cnt < k ? cnt : k - 1;
            while (p > 0 && (nc[p - 1] < v || (nc[p - 1] == v && nj[p - 1] > j))) {
                nc[p] = nc[p - 1];
                nj[p] = nj[p - 1];
                --p;
            }
            nc[p] = v;
            nj[p] = j;
            if (cnt < k) ++cnt;
            if (cnt == k) {
                last_c = nc[k - 1];
                last_j = nj[k - 1];
            }
        }
    }
}

// Rows scaled by their node weights: f_i = w_i x_i.
__global__ void scale_rows_kernel(double* __restrict__ X, const double* __restrict__ w, long long n,
                                  long long d) {
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n * d) return;
#if defined(__CUDA_ARCH__)
    X[e] = __dmul_rn(X[e], w[e / d]);
#else
    X[e] = X[e] * w[e / d];
#endif
}

// One thread per (cluster, feature): F_C[t] summed over the cluster's nodes in node order (the
// nodes sorted by cluster, stably); the feature-0 thread also sums the cluster's weight.
__global__ void cluster_sums_kernel(const double* __restrict__ X, const double* __restrict__ w,
                                    const long long* __restrict__ order,
                                    const long long* __restrict__ start, long long c, long long d,
                                    double* __restrict__ F, double* __restrict__ size) {
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= c * d) return;
    const long long C = e / d, t = e % d;
    double f = 0.0, sz = 0.0;
    for (long long p = start[C]; p < start[C + 1]; ++p) {
        f += X[order[p] * d + t];
        if (t == 0) sz += w ? w[order[p]] : 1.0;
    }
    F[e] = f;
    if (t == 0) size[C] = sz;
}

// One thread per feature: S[t], the sum of all rows in node order; thread d sums the weights.
__global__ void totals_kernel(const double* __restrict__ X, const double* __restrict__ w,
                              long long n, long long d, double* __restrict__ S) {
    const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t > d) return;
    double acc = 0.0;
    if (t < d)
        for (long long i = 0; i < n; ++i) acc += X[i * d + t];
    else
        for (long long i = 0; i < n; ++i) acc += w ? w[i] : 1.0;
    S[t] = acc;
}

// One thread per cluster: <F_C, S - F_C> - a |C| (W - |C|).
__global__ void cluster_terms_kernel(const double* __restrict__ F, const double* __restrict__ size,
                                     const double* __restrict__ S, long long c, long long d,
                                     double a, double* __restrict__ term) {
    const long long C = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (C >= c) return;
    const double* f = F + C * d;
    double acc = 0.0;
    for (long long t = 0; t < d; ++t) acc = add_product(acc, f[t], S[t] - f[t]);
    term[C] = pair_cost(acc, a, size[C], S[d] - size[C]);
}

unsigned blocks(long long count, int per_block) {
    const long long b = (count + per_block - 1) / per_block;
    if (b > 2147483647LL) throw std::invalid_argument("more work items than one launch covers");
    return unsigned(b < 1 ? 1 : b);
}

}  // namespace

void knn_positive(const std::vector<double>& F, const std::vector<double>& s, std::int64_t m,
                  std::int64_t d, double a, std::int64_t k, std::vector<std::int64_t>& nbr,
                  std::vector<double>& cost, const InterruptPoll& interrupted) {
    if (m < 0 || d < 0 || k < 0) throw std::invalid_argument("m, d and k must be >= 0");
    if (F.size() != std::size_t(m * d)) throw std::invalid_argument("F: expected m * d entries");
    if (s.size() != std::size_t(m)) throw std::invalid_argument("sizes: expected m entries");
    nbr.assign(std::size_t(m * k), -1);
    cost.assign(std::size_t(m * k), 0.0);
    if (k == 0 || m < 2) return;
    if (interrupted && interrupted()) throw Interrupted();
    DeviceBuffer<double> Fd(F.size(), "the cluster features"), sd(s.size(), "the cluster sizes");
    DeviceBuffer<long long> nd(nbr.size(), "the kNN lists");
    DeviceBuffer<double> cd(cost.size(), "the kNN costs");
    Fd.upload(F.data(), F.size());
    sd.upload(s.data(), s.size());
    // The kernel writes only the entries it fills: past them the lists hold -1 and 0.
    const std::vector<long long> empty(nbr.size(), -1);
    nd.upload(empty.data(), empty.size());
    cd.upload(cost.data(), cost.size());
    // float32 screening while the products stay far from its range, as on the CPU: (d + 2) u
    // bounds the rounding of the inputs and of the d-term sum (u = 2^-24), doubled for safety.
    std::vector<double> norm(std::size_t(m), 0.0);
    double top = 0.0;
    for (std::int64_t i = 0; i < m; ++i) {
        double acc = 0.0;
        for (std::int64_t t = 0; t < d; ++t) acc += F[i * d + t] * F[i * d + t];
        norm[i] = std::sqrt(acc);
        top = std::max(top, norm[i]);
    }
    const bool low = std::isfinite(top) && top < 1e15 && top > 0.0;
    const double margin = 2.0 * double(d + 2) * std::ldexp(1.0, -24);
    DeviceBuffer<double> normd(norm.size(), "the cluster norms");
    normd.upload(norm.data(), norm.size());
    const dim3 grid(blocks(m, knn_rows)), block(knn_rows);
    if (low)
        PARTITA_LAUNCH(knn_kernel<float>, grid, block, 0, nullptr)(
            Fd.get(), sd.get(), normd.get(), margin, m, d, a, k, nd.get(), cd.get());
    else
        PARTITA_LAUNCH(knn_kernel<double>, grid, block, 0, nullptr)(
            Fd.get(), sd.get(), normd.get(), margin, m, d, a, k, nd.get(), cd.get());
    check_launch("multicut.knn_kernel");
    check(cudaDeviceSynchronize(), "multicut.knn_kernel");
    std::vector<long long> out(nbr.size());
    nd.download(out.data(), out.size());
    cd.download(cost.data(), cost.size());
    std::copy(out.begin(), out.end(), nbr.begin());
}

double objective(const std::vector<double>& X, std::int64_t n, std::int64_t d,
                 const std::vector<std::int64_t>& labels, std::int64_t c, double a,
                 const std::vector<double>& w) {
    if (n < 0 || d < 0 || c < 0) throw std::invalid_argument("n, d and c must be >= 0");
    if (X.size() != std::size_t(n * d)) throw std::invalid_argument("X: expected n * d entries");
    if (labels.size() != std::size_t(n)) throw std::invalid_argument("labels: expected n entries");
    if (!w.empty() && w.size() != std::size_t(n))
        throw std::invalid_argument("weights: expected n entries");
    // The nodes sorted by cluster, stably (a counting sort): each cluster's nodes in node order.
    std::vector<long long> start(static_cast<std::size_t>(c) + 1, 0);
    std::vector<long long> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        if (labels[i] < 0 || labels[i] >= c) throw std::invalid_argument("labels: out of range");
        ++start[std::size_t(labels[i]) + 1];
    }
    for (std::int64_t C = 0; C < c; ++C) start[C + 1] += start[C];
    std::vector<long long> next(start.begin(), start.end() - 1);
    for (std::int64_t i = 0; i < n; ++i) order[next[labels[i]]++] = i;
    if (n == 0 || c == 0) return 0.0;

    DeviceBuffer<double> Xd(X.size(), "the features"), wd(w.size(), "the weights");
    DeviceBuffer<long long> od(order.size(), "the node order"), sd(start.size(), "the clusters");
    DeviceBuffer<double> Fd(std::size_t(c * d), "the cluster sums"), zd(c, "the cluster weights");
    DeviceBuffer<double> Sd(std::size_t(d) + 1, "the totals"), td(c, "the cluster terms");
    Xd.upload(X.data(), X.size());
    wd.upload(w.data(), w.size());
    od.upload(order.data(), order.size());
    sd.upload(start.data(), start.size());
    const double* wp = w.empty() ? nullptr : wd.get();
    constexpr int threads = 256;
    if (wp) {
        PARTITA_LAUNCH(scale_rows_kernel, dim3(blocks(n * d, threads)), dim3(threads), 0, nullptr)(
            Xd.get(), wp, n, d);
        check_launch("multicut.scale_rows_kernel");
    }
    PARTITA_LAUNCH(cluster_sums_kernel, dim3(blocks(c * d, threads)), dim3(threads), 0, nullptr)(
        Xd.get(), wp, od.get(), sd.get(), c, d, Fd.get(), zd.get());
    check_launch("multicut.cluster_sums_kernel");
    PARTITA_LAUNCH(totals_kernel, dim3(blocks(d + 1, threads)), dim3(threads), 0, nullptr)(
        Xd.get(), wp, n, d, Sd.get());
    check_launch("multicut.totals_kernel");
    PARTITA_LAUNCH(cluster_terms_kernel, dim3(blocks(c, threads)), dim3(threads), 0, nullptr)(
        Fd.get(), zd.get(), Sd.get(), c, d, a, td.get());
    check_launch("multicut.cluster_terms_kernel");
    check(cudaDeviceSynchronize(), "multicut.objective");
    std::vector<double> term(c);
    td.download(term.data(), term.size());
    double total = 0.0;  // in cluster order, as the CPU
    for (double t : term) total += t;
    return 0.5 * total;
}

}  // namespace partita::cuda::multicut
