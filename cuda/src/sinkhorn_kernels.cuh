// Kernels of batched Sinkhorn on the device (docs/algorithms.md, "Sinkhorn on the GPU"); the
// host schedule that launches them is sinkhorn.cu. Every LSE is exact: a running maximum and a
// sum of exp(x - max) in float64, merged in a fixed order. Problems whose `done` flag is set
// return at once, so a stopped problem costs a read of one flag per block.
#pragma once

#include <cfloat>
#include <cmath>

#include "runtime.cuh"

namespace partita::cuda::transport::kernels {

constexpr int warps = 8;
constexpr int threads = 32 * warps;
constexpr int rows_per_chunk = 128;  // rows of a sweep block (the column sums' granularity)
constexpr int max_dim = 16;          // point clouds: coordinates held in registers
constexpr double log_zero = -1e30;   // log 0 as the CPU passes it
constexpr unsigned full_warp = 0xffffffffu;

// Per-entry arithmetic is in the cost's type W (float32 costs: float32 exponents and
// exponentials, as the CPU's float32 path, and no conversion per entry); a thread's running
// (max, sum) over a bounded run of entries (a row's stride, 8 or 128 rows, a tile of points) is
// merged into float64 before it grows long.
__device__ __forceinline__ float exp_w(float x) { return expf(x); }
__device__ __forceinline__ double exp_w(double x) { return exp(x); }

template <class W>
__device__ __forceinline__ void lse_add(W& mx, W& s, W x) {
    if (x == W(-INFINITY)) return;
    if (x > mx) {
        s = s * exp_w(mx - x) + W(1);
        mx = x;
    } else {
        s += exp_w(x - mx);
    }
}

// One exponential: the pair with the smaller maximum is rescaled to the larger.
__device__ __forceinline__ void lse_merge(double& mx, double& s, double mo, double so) {
    if (mo == -INFINITY) return;
    if (mo > mx) {
        s = s * exp(mx - mo) + so;
        mx = mo;
    } else {
        s += so * exp(mo - mx);
    }
}

// Butterfly merge of the warp's (mx, s); every lane gets lane 0's result (partners may differ
// in the last bit when nvcc fuses a product into an fma).
__device__ __forceinline__ void warp_lse(double& mx, double& s) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        const double mo = __shfl_xor_sync(full_warp, mx, offset);
        const double so = __shfl_xor_sync(full_warp, s, offset);
        lse_merge(mx, s, mo, so);
    }
    mx = __shfl_sync(full_warp, mx, 0);
    s = __shfl_sync(full_warp, s, 0);
}

__device__ __forceinline__ double lse_value(double mx, double s) {
    return mx == -INFINITY ? -INFINITY : mx + log(s);
}

// exp(x) - 1 without cancellation near 0 (series below 1e-5: relative error < 1e-20 there;
// above, exp(x) - 1 is within 1e-11 relative); inline, so no call spills registers.
__device__ __forceinline__ double expm1_inline(double x) {
    if (fabs(x) < 1e-5) return x * (1.0 + x * (0.5 + x * (1.0 / 6.0)));
    return exp(x) - 1.0;
}

// log(exp(x) + exp(y)) as the CPU's logaddexp: log 0 stand-ins stay where they are.
__device__ __forceinline__ double logaddexp(double x, double y) {
    const double mx = fmax(x, y);
    if (!(mx > log_zero / 2)) return mx;
    return mx + log(exp(x - mx) + exp(y - mx));
}

// The batch as the kernels see it. Potentials and marginals are B x n / B x m, row-major.
template <class T>
struct Batch {
    const T* C = nullptr;  // stored cost: element (b, i, j) at b * sb + i * sr + j
    long long sb = 0, sr = 0;
    const T *X = nullptr, *Y = nullptr;  // points: (b, i, k) at b * sxb + i * d + k
    long long sxb = 0, syb = 0, d = 0;
    long long B = 0, n = 0, m = 0;
    double eps = 1, inv_eps = 1, phi_a = 1, phi_b = 1;
    const double *log_a = nullptr, *log_b = nullptr, *mass_b = nullptr;  // mass_b = exp(log_b)
    T* beta = nullptr;  // log b_j + g_j / eps in T (as the CPU's), updated with g
    T kappa = 1;        // 1 / eps in T
    const double *log_av = nullptr, *log_bv = nullptr;  // null without a virtual row / column
    double *f = nullptr, *g = nullptr, *gnew = nullptr, *fv = nullptr, *gv = nullptr;
    // Row blocks (nrch per problem): largest change of f, LSE of alpha = log a + f / eps.
    long long nrch = 0;
    double *dfmax = nullptr, *amax = nullptr, *asum = nullptr;
    // Column sums per row block (ncch per problem, 1 for point clouds): (max, sum) per column.
    long long ncch = 0;
    double *colmax = nullptr, *colsum = nullptr;
    // Column blocks of the g-update (ncb per problem): largest change of g, LSE of
    // log b + g_new / eps.
    long long ncb = 0;
    double *dgp = nullptr, *bmax = nullptr, *bsum = nullptr;
    // Per problem.
    int* done = nullptr;
    int* n_done = nullptr;
    long long* n_iter = nullptr;
    double *err = nullptr, *dg = nullptr;
    unsigned char* converged = nullptr;
    double tol = 0;
    bool relaxed = false;
};

template <class T>
__device__ __forceinline__ double cost_at(const Batch<T>& p, long long b, long long i,
                                          long long j) {
    if (p.C) return double(p.C[b * p.sb + i * p.sr + j]);
    const T* x = p.X + b * p.sxb + i * p.d;
    const T* y = p.Y + b * p.syb + j * p.d;
    double c = 0.0;
    for (long long k = 0; k < p.d; ++k) {
        const double t = double(x[k]) - double(y[k]);
        c += t * t;
    }
    return c;
}

// Block reductions in a fixed tree (the result does not depend on the schedule).
__device__ __forceinline__ void block_reduce3(double* sum, double* mx, double* lm, double* ls) {
    const int t = threadIdx.x;
    for (int half = threads / 2; half > 0; half >>= 1) {
        __syncthreads();
        if (t < half) {
            sum[t] += sum[t + half];
            mx[t] = fmax(mx[t], mx[t + half]);
            lse_merge(lm[t], ls[t], lm[t + half], ls[t + half]);
        }
    }
    __syncthreads();
}

// The row sweep over a stored cost, rows [ch R, ch R + R) of problem b (grid: (nrch, B), one warp
// per row at a time). With update_rows, every row's f-update (virtual column included); always,
// the LSE of the block's alpha_i and its largest change of f. With Fused, the block also adds
// its rows' terms alpha_i - C_ij / eps to per-column running LSEs in shared memory (2 m
// doubles), 8 rows at a time while they are in cache, and stores them as the block's column sums.
// Minimum one block per SM: without it ptxas spills a few registers on sm_80 (float).
template <class T, bool Fused>
__global__ void __launch_bounds__(threads, 1) sweep_kernel(Batch<T> p, bool update_rows) {
    const long long b = blockIdx.y, ch = blockIdx.x;
    if (p.done[b]) return;
    PARTITA_SHARED(T, alpha_sh, warps);
    PARTITA_SHARED(double, red_d, warps);
    PARTITA_SHARED(double, red_m, warps);
    PARTITA_SHARED(double, red_s, warps);
    PARTITA_DYNAMIC_SHARED(T, colstate);  // Fused: [0, m) maxima, [m, 2 m) sums of the block
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const long long n = p.n, m = p.m;
    const long long r0 = ch * rows_per_chunk,
                    r1 = r0 + rows_per_chunk < n ? r0 + rows_per_chunk : n;
    if (Fused) {
        for (long long j = threadIdx.x; j < m; j += threads) {
            colstate[j] = T(-INFINITY);
            colstate[m + j] = T(0);
        }
    }
    const double vcol = p.log_bv ? p.log_bv[b] + p.gv[b] * p.inv_eps : 0.0;
    const T* bt = p.beta + b * m;
    double dmax = 0.0, amx = -INFINITY, as = 0.0;
    for (long long t = r0; t < r1; t += warps) {
        const long long i = t + warp;
        T al_t = T(-INFINITY);
        if (i < r1) {
            const T* row = p.C + b * p.sb + i * p.sr;
            double fi = p.f[b * n + i];
            if (update_rows) {
                double mx = -INFINITY, s = 0.0;
                for (long long j0 = 0; j0 < m; j0 += 32 * 1024) {  // runs of 1024 per lane
                    const long long j1 = j0 + 32 * 1024 < m ? j0 + 32 * 1024 : m;
                    T mt = T(-INFINITY), st = T(0);
                    for (long long j = j0 + lane; j < j1; j += 32)
                        lse_add<T>(mt, st, bt[j] - row[j] * p.kappa);
                    lse_merge(mx, s, double(mt), double(st));
                }
                warp_lse(mx, s);
                if (p.log_bv) lse_merge(mx, s, vcol, 1.0);
                const double fn = -p.phi_a * p.eps * lse_value(mx, s);
                dmax = fmax(dmax, fabs(fn - fi));
                if (lane == 0) p.f[b * n + i] = fn;
                fi = fn;
            }
            const double al = p.log_a[b * n + i] + fi * p.inv_eps;
            al_t = T(al);
            lse_add<double>(amx, as, al);
        }
        if (Fused) {
            if (lane == 0) alpha_sh[warp] = al_t;
            __syncthreads();
            const long long rows = r1 - t < warps ? r1 - t : warps;
            for (long long j = threadIdx.x; j < m; j += threads) {
                T mx = colstate[j], s = colstate[m + j];
                for (long long r = 0; r < rows; ++r) {
                    const T ar = alpha_sh[r];
                    if (!(ar > T(log_zero / 2))) continue;  // a zero-weight row adds nothing
                    lse_add<T>(mx, s, ar - p.C[b * p.sb + (t + r) * p.sr + j] * p.kappa);
                }
                colstate[j] = mx;
                colstate[m + j] = s;
            }
            __syncthreads();
        }
    }
    if (lane == 0) {
        red_d[warp] = dmax;
        red_m[warp] = amx;
        red_s[warp] = as;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < warps; ++w) {
            dmax = fmax(dmax, red_d[w]);
            lse_merge(amx, as, red_m[w], red_s[w]);
        }
        p.dfmax[b * p.nrch + ch] = dmax;
        p.amax[b * p.nrch + ch] = amx;
        p.asum[b * p.nrch + ch] = as;
    }
    if (Fused) {
        double* cm = p.colmax + (b * p.ncch + ch) * m;
        double* cs = p.colsum + (b * p.ncch + ch) * m;
        for (long long j = threadIdx.x; j < m; j += threads) {
            cm[j] = double(colstate[j]);
            cs[j] = double(colstate[m + j]);
        }
    }
}

// The column sums of a stored cost when 2 m doubles do not fit in shared memory: thread j of
// block (x, ch, b) runs over the rows of chunk ch (reads coalesced across the warp).
template <class T>
__global__ void __launch_bounds__(threads) column_kernel(Batch<T> p) {
    const long long b = blockIdx.z, ch = blockIdx.y;
    if (p.done[b]) return;
    const long long j = (long long)blockIdx.x * threads + threadIdx.x;
    if (j >= p.m) return;
    const long long r0 = ch * rows_per_chunk;
    const long long r1 = r0 + rows_per_chunk < p.n ? r0 + rows_per_chunk : p.n;
    T mx = T(-INFINITY), s = T(0);
    for (long long i = r0; i < r1; ++i) {
        const double al = p.log_a[b * p.n + i] + p.f[b * p.n + i] * p.inv_eps;
        if (!(al > log_zero / 2)) continue;
        lse_add<T>(mx, s, T(al) - p.C[b * p.sb + i * p.sr + j] * p.kappa);
    }
    p.colmax[(b * p.ncch + ch) * p.m + j] = double(mx);
    p.colsum[(b * p.ncch + ch) * p.m + j] = double(s);
}

// Point clouds: for every point q of one side (thread q of block (x, b)), the exact LSE over the
// other side's points o of w_o - ||x_q - y_o||^2 / eps, the other side streamed through shared
// memory in tiles of `threads` points (coordinates and weights), the cost never stored.
// rows: q is a row, w_o = log b_o + g_o / eps, and the result makes the f-update (virtual column
// included) and the row block's alpha LSE and change of f. Otherwise q is a column, w_o = log a_o
// + f_o / eps (zero-weight rows skipped), and the result is the column's LSE (colmax, sum 1).
template <class T>
__global__ void __launch_bounds__(threads) cloud_kernel(Batch<T> p, bool rows) {
    const long long b = blockIdx.y;
    if (p.done[b]) return;
    PARTITA_SHARED(T, tile, threads * max_dim);
    PARTITA_SHARED(T, wt, threads);
    PARTITA_SHARED(double, red_d, threads);
    PARTITA_SHARED(double, red_m, threads);
    PARTITA_SHARED(double, red_s, threads);
    PARTITA_SHARED(double, red_x, threads);
    const long long d = p.d;
    const long long nq = rows ? p.n : p.m, no = rows ? p.m : p.n;
    const T* Q = rows ? p.X + b * p.sxb : p.Y + b * p.syb;
    const T* O = rows ? p.Y + b * p.syb : p.X + b * p.sxb;
    const long long q = (long long)blockIdx.x * threads + threadIdx.x;
    T xq[max_dim];  // unrolled loops over max_dim keep it in registers
#pragma unroll
    for (int k = 0; k < max_dim; ++k) xq[k] = (q < nq && k < d) ? Q[q * d + k] : T(0);
    double mx = -INFINITY, s = 0.0;
    for (long long o0 = 0; o0 < no; o0 += threads) {
        const long long cnt = no - o0 < threads ? no - o0 : threads;
        __syncthreads();  // the previous tile has been used
        for (long long e = threadIdx.x; e < cnt * d; e += threads) tile[e] = O[o0 * d + e];
        if (threadIdx.x < cnt) {
            const long long o = o0 + threadIdx.x;
            wt[threadIdx.x] =
                rows ? p.beta[b * p.m + o] : T(p.log_a[b * p.n + o] + p.f[b * p.n + o] * p.inv_eps);
        }
        __syncthreads();
        if (q >= nq) continue;
        T tm = T(-INFINITY), ts = T(0);  // this tile's terms, merged into (mx, s) after it
        for (long long o = 0; o < cnt; ++o) {
            if (!rows && !(wt[o] > T(log_zero / 2))) continue;
            T c = T(0);
#pragma unroll
            for (int k = 0; k < max_dim; ++k) {
                if (k < d) {
                    const T t = xq[k] - tile[o * d + k];
                    c += t * t;
                }
            }
            lse_add<T>(tm, ts, wt[o] - c * p.kappa);
        }
        lse_merge(mx, s, double(tm), double(ts));
    }
    if (!rows) {
        if (q < nq) {
            p.colmax[b * p.m + q] = lse_value(mx, s);
            p.colsum[b * p.m + q] = 1.0;
        }
        return;
    }
    double dmax = 0.0, am = -INFINITY, asum = 0.0;
    if (q < nq) {
        if (p.log_bv) lse_merge(mx, s, p.log_bv[b] + p.gv[b] * p.inv_eps, 1.0);
        const double fn = -p.phi_a * p.eps * lse_value(mx, s);
        dmax = fabs(fn - p.f[b * p.n + q]);
        p.f[b * p.n + q] = fn;
        am = p.log_a[b * p.n + q] + fn * p.inv_eps;
        asum = 1.0;
    }
    red_d[threadIdx.x] = 0.0;  // block_reduce3 sums its first array; the maximum is in red_m
    red_s[threadIdx.x] = asum;
    red_m[threadIdx.x] = am;
    red_x[threadIdx.x] = dmax;
    block_reduce3(red_d, red_x, red_m, red_s);
    if (threadIdx.x == 0) {
        p.dfmax[b * p.nrch + blockIdx.x] = red_x[0];
        p.amax[b * p.nrch + blockIdx.x] = red_m[0];
        p.asum[b * p.nrch + blockIdx.x] = red_s[0];
    }
}

// The alpha LSE of a row block from the current f (the start, point clouds: no row sweep).
template <class T>
__global__ void __launch_bounds__(threads) alpha_kernel(Batch<T> p) {
    const long long b = blockIdx.y;
    if (p.done[b]) return;
    PARTITA_SHARED(double, red_z, threads);
    PARTITA_SHARED(double, red_x, threads);
    PARTITA_SHARED(double, red_m, threads);
    PARTITA_SHARED(double, red_s, threads);
    const long long i = (long long)blockIdx.x * threads + threadIdx.x;
    red_z[threadIdx.x] = 0.0;
    red_x[threadIdx.x] = 0.0;
    red_m[threadIdx.x] = i < p.n ? p.log_a[b * p.n + i] + p.f[b * p.n + i] * p.inv_eps : -INFINITY;
    red_s[threadIdx.x] = i < p.n ? 1.0 : 0.0;
    block_reduce3(red_z, red_x, red_m, red_s);
    if (threadIdx.x == 0) {
        p.dfmax[b * p.nrch + blockIdx.x] = 0.0;
        p.amax[b * p.nrch + blockIdx.x] = red_m[0];
        p.asum[b * p.nrch + blockIdx.x] = red_s[0];
    }
}

// The g-update of columns [x T, x T + T) of problem b: merge the row blocks' column sums in order
// (the virtual row's term added), g_new = -phi_b eps LSE; the block's share of the change of g
// and of the LSE of log b + g_new / eps (for the virtual row).
template <class T>
__global__ void __launch_bounds__(threads) columns_update_kernel(Batch<T> p) {
    const long long b = blockIdx.y;
    if (p.done[b]) return;
    PARTITA_SHARED(double, r_unused, threads);
    PARTITA_SHARED(double, r_dg, threads);
    PARTITA_SHARED(double, r_m, threads);
    PARTITA_SHARED(double, r_s, threads);
    const long long j = (long long)blockIdx.x * threads + threadIdx.x;
    double dgj = 0.0, bm = -INFINITY, bs = 0.0;
    if (j < p.m) {
        double mx = -INFINITY, s = 0.0;
        for (long long ch = 0; ch < p.ncch; ++ch) {
            const long long k = (b * p.ncch + ch) * p.m + j;
            lse_merge(mx, s, p.colmax[k], p.colsum[k]);
        }
        double L = lse_value(mx, s);
        if (p.log_av) L = logaddexp(L, p.log_av[b] + p.fv[b] * p.inv_eps);
        const double gn = -p.phi_b * p.eps * L;
        const double go = p.g[b * p.m + j];
        p.gnew[b * p.m + j] = gn;
        dgj = fabs(gn - go);
        bm = p.log_b[b * p.m + j] + gn * p.inv_eps;
        bs = 1.0;
    }
    r_unused[threadIdx.x] = 0.0;
    r_dg[threadIdx.x] = dgj;
    r_m[threadIdx.x] = bm;
    r_s[threadIdx.x] = bs;
    block_reduce3(r_unused, r_dg, r_m, r_s);
    if (threadIdx.x == 0) {
        const long long k = b * p.ncb + blockIdx.x;
        p.dgp[k] = r_dg[0];
        p.bmax[k] = r_m[0];
        p.bsum[k] = r_s[0];
    }
}

// One block per problem, after columns_update_kernel: the balanced stopping test (from the second
// iteration; `final`: the report of a problem that ran out of iterations) on the column
// violation sum_j b_j |expm1((g_j - g_new_j) / eps)| (here rather than in the column blocks,
// where the second exponential spilled registers), then the virtual points' updates and the
// change of the potentials. A stopping problem keeps its g.
template <class T>
__global__ void __launch_bounds__(threads) decide_kernel(Batch<T> p, long long iter, bool final) {
    const long long b = blockIdx.x;
    if (p.done[b]) return;
    PARTITA_SHARED(double, r_err, threads);
    PARTITA_SHARED(double, r_dg, threads);
    PARTITA_SHARED(double, r_m, threads);
    PARTITA_SHARED(double, r_s, threads);
    PARTITA_SHARED(double, a_m, threads);
    PARTITA_SHARED(double, a_s, threads);
    PARTITA_SHARED(double, z0, threads);
    PARTITA_SHARED(double, z1, threads);
    double e = 0.0, dgx = 0.0, bm = -INFINITY, bs = 0.0, am = -INFINITY, as = 0.0;
    if (!p.relaxed && (iter >= 2 || final))  // the column violation, from g and g_new
        for (long long j = threadIdx.x; j < p.m; j += threads)
            e += p.mass_b[b * p.m + j] *
                 fabs(expm1_inline((p.g[b * p.m + j] - p.gnew[b * p.m + j]) * p.inv_eps));
    for (long long k = threadIdx.x; k < p.ncb; k += threads) {
        dgx = fmax(dgx, p.dgp[b * p.ncb + k]);
        lse_merge(bm, bs, p.bmax[b * p.ncb + k], p.bsum[b * p.ncb + k]);
    }
    for (long long k = threadIdx.x; k < p.nrch; k += threads)
        lse_merge(am, as, p.amax[b * p.nrch + k], p.asum[b * p.nrch + k]);
    r_err[threadIdx.x] = e;
    r_dg[threadIdx.x] = dgx;
    r_m[threadIdx.x] = bm;
    r_s[threadIdx.x] = bs;
    block_reduce3(r_err, r_dg, r_m, r_s);
    z0[threadIdx.x] = 0.0;
    z1[threadIdx.x] = 0.0;
    a_m[threadIdx.x] = am;
    a_s[threadIdx.x] = as;
    block_reduce3(z0, z1, a_m, a_s);
    if (threadIdx.x != 0) return;
    const double gv_new = p.log_bv ? -p.eps * lse_value(a_m[0], a_s[0]) : 0.0;
    if (!p.relaxed && (iter >= 2 || final)) {
        double err = r_err[0];
        if (p.log_bv) err += exp(p.log_bv[b]) * fabs(expm1_inline((p.gv[b] - gv_new) * p.inv_eps));
        p.err[b] = err;
        if (final) {
            p.converged[b] = err < p.tol;
            return;
        }
        if (err < p.tol) {
            p.converged[b] = 1;
            p.n_iter[b] = iter - 1;
            p.done[b] = 1;
            atomicAdd(p.n_done, 1);
            return;
        }
    }
    if (final) return;
    double dg = r_dg[0];
    if (p.log_bv) {
        dg = fmax(dg, fabs(gv_new - p.gv[b]));
        p.gv[b] = gv_new;
    }
    if (p.log_av) {
        const double fv_new = -p.eps * lse_value(r_m[0], r_s[0]);
        dg = fmax(dg, fabs(fv_new - p.fv[b]));
        p.fv[b] = fv_new;
    }
    p.dg[b] = dg;
}

// g <- g_new (and beta) for the problems that go on.
template <class T>
__global__ void __launch_bounds__(threads) apply_kernel(Batch<T> p) {
    const long long b = blockIdx.y;
    if (p.done[b]) return;
    const long long j = (long long)blockIdx.x * threads + threadIdx.x;
    if (j < p.m) {
        const double gn = p.gnew[b * p.m + j];
        p.g[b * p.m + j] = gn;
        p.beta[b * p.m + j] = T(p.log_b[b * p.m + j] + gn * p.inv_eps);
    }
}

// After the row sweep (one thread per problem): the iteration count and, relaxed, the stopping
// test on the largest change of a potential.
template <class T>
__global__ void __launch_bounds__(threads) after_sweep_kernel(Batch<T> p, long long iter) {
    const long long b = (long long)blockIdx.x * threads + threadIdx.x;
    if (b >= p.B || p.done[b]) return;
    p.n_iter[b] = iter;
    if (!p.relaxed) return;
    double d = p.dg[b];
    for (long long k = 0; k < p.nrch; ++k) d = fmax(d, p.dfmax[b * p.nrch + k]);
    p.err[b] = d * p.inv_eps;
    if (p.err[b] < p.tol) {
        p.converged[b] = 1;
        p.done[b] = 1;
        atomicAdd(p.n_done, 1);
    }
}

// The plan from the final potentials, P_ij = exp(alpha_i + beta_j - C_ij / eps) in float64,
// stored in T (float32 clamped to its largest value rather than overflowing).
template <class T>
__global__ void __launch_bounds__(threads) plan_kernel(Batch<T> p, T* __restrict__ out) {
    const long long b = blockIdx.y;
    const long long i = (long long)blockIdx.x * warps + threadIdx.x / 32;
    if (i >= p.n) return;
    const double al = p.log_a[b * p.n + i] + p.f[b * p.n + i] * p.inv_eps;
    T* row = out + (b * p.n + i) * p.m;
    for (long long j = threadIdx.x % 32; j < p.m; j += 32) {
        const double bt = p.log_b[b * p.m + j] + p.g[b * p.m + j] * p.inv_eps;
        double v = exp(al + bt - cost_at(p, b, i, j) * p.inv_eps);
        if (sizeof(T) == 4 && v > double(FLT_MAX)) v = double(FLT_MAX);
        row[j] = T(v);
    }
}

}  // namespace partita::cuda::transport::kernels
