// Kernel k-means: Lloyd iterations in the feature space of a kernel, on a stored Gram matrix or
// on Gram rows recomputed in blocks from the features. Specification: shared/ALGORITHMS.md
// section 3.
//
// With weights w, labels L and s_c = sum_{j in c} w_j, the distance of point i to cluster c is
//     d(i, c) = K_ii - 2 E_ic / s_c + F_c / s_c^2,   E = K Z,   F_c = sum_{j in c} w_j E_jc,
// Z the weighted one-hot n x k matrix. E is kept cluster-major (k x n, double) and built by
// adding the rows of K: E[L_j][:] += w_j K[j][:] (K is symmetric, so row j is column j). That
// is one streaming pass over K, vectorised over the points, with no scatter; between iterations
// only the rows of the points that changed cluster are added and subtracted.
//
// Work is split over the points in fixed chunks of columns (CHUNK points, independent of the
// thread count) and every E entry is a sum over j in increasing order, so the result does not
// depend on the number of threads. The Gram rows computed from features are the same bits
// whether they are stored first or recomputed, so both paths give the same labels.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "partita/common.hpp"
#include "partita/simd.hpp"

namespace partita::kernel_kmeans {

// Kernels computed here from features (codes shared with kernel_kmeans.py).
enum class Kernel : int { linear = 0, rbf = 1, polynomial = 2, sigmoid = 3, laplacian = 4 };

struct KernelParams {
    Kernel kernel = Kernel::rbf;
    double gamma = 1.0;
    double degree = 3.0;
    double coef0 = 1.0;
};

// Points per column chunk: the unit of parallel work (and of cache blocking) of every pass.
constexpr index_t CHUNK = 1024;
// Gram rows computed together from features: enough to amortise a pass over a chunk's features.
constexpr index_t ROW_BLOCK = 48;

namespace detail {

using simd::bits;
using simd::load;
using simd::splat;
using simd::store;
using simd::Vec;

// exp(x) for x <= 0 (a Gram entry of the rbf / laplacian kernels). Arguments below the
// smallest normal result are clamped there (exp(-708) ~ 3e-308 in double, exp(-87) ~ 1.6e-38 in
// float) rather than flushed to 0.
template <class T, class S>
inline __attribute__((always_inline)) S exp_nonpositive(S x) {
    const S lo = splat<S>(simd::ExpRange<T>::lo), zero = splat<S>(T(0));
    x = x < lo ? lo : x;
    x = x > zero ? zero : x;
    return simd::exp_reduced<T>(x);
}

enum class Op { dot, l1 };

template <Op op, class T, class S>
inline __attribute__((always_inline)) S term(S c, S a) {
    if constexpr (op == Op::dot) {
        return c * a;
    } else {
        const S diff = c - a;
        return diff < splat<S>(T(0)) ? -diff : diff;
    }
}

// B rows over 2 vectors of consecutive points, accumulators in registers (as distances.hpp):
// each feature value of a point is loaded once for the B rows; acc = sum over the features in
// order of term(x_o, a_t).
template <Op op, class T, int B>
inline __attribute__((always_inline)) void block_body(const T* cols, index_t stride, index_t d,
                                                      const T* const* a, index_t o0,
                                                      T* const* out) {
    using V = typename Vec<T>::type;
    constexpr int L = Vec<T>::lanes;
    V acc0[B], acc1[B];
    for (int b = 0; b < B; ++b) acc0[b] = acc1[b] = splat<V>(T(0));
    for (index_t t = 0; t < d; ++t) {
        const T* col = cols + t * stride + o0;
        const V c0 = load<V>(col), c1 = load<V>(col + L);
        for (int b = 0; b < B; ++b) {
            const V at = splat<V>(a[b][t]);
            acc0[b] += term<op, T>(c0, at);
            acc1[b] += term<op, T>(c1, at);
        }
    }
    for (int b = 0; b < B; ++b) {
        store(out[b] + o0, acc0[b]);
        store(out[b] + o0 + L, acc1[b]);
    }
}

// The points after the last full tile, one at a time: the same operations per entry.
template <Op op, class T>
inline __attribute__((always_inline)) void tail_body(const T* cols, index_t stride, index_t d,
                                                     const T* a, index_t o0, index_t len, T* out) {
    for (index_t o = o0; o < len; ++o) {
        T acc = T(0);
        for (index_t t = 0; t < d; ++t) acc += term<op, T>(cols[t * stride + o], a[t]);
        out[o] = acc;
    }
}

// Raw sums for rows a[0..count) over the points cols[0 .. len): out[c][o].
template <Op op, class T>
inline __attribute__((always_inline)) void sums_body(const T* cols, index_t stride, index_t d,
                                                     const T* const* a, index_t count,
                                                     index_t len, T* const* out) {
    constexpr index_t W = 2 * Vec<T>::lanes;
    constexpr index_t B = 6;
    index_t o0 = 0;
    for (; o0 + W <= len; o0 += W) {
        index_t c = 0;
        for (; c + B <= count; c += B) block_body<op, T, B>(cols, stride, d, a + c, o0, out + c);
        for (; c < count; ++c) block_body<op, T, 1>(cols, stride, d, a + c, o0, out + c);
    }
    if (o0 < len)
        for (index_t c = 0; c < count; ++c) tail_body<op, T>(cols, stride, d, a[c], o0, len, out[c]);
}

template <class T, class S>
inline __attribute__((always_inline)) S rbf_entry(S dot, S a_sq, S c_sq, T gamma) {
    S d2 = (a_sq + c_sq) - dot * T(2);
    d2 = d2 < splat<S>(T(0)) ? splat<S>(T(0)) : d2;
    return exp_nonpositive<T>(d2 * -gamma);
}

// The kernel map of the raw sums of one row segment (rbf from dot products and squared norms).
template <class T>
inline __attribute__((always_inline)) void map_body(const KernelParams& p, T a_sq,
                                                    const T* __restrict col_sq, index_t len,
                                                    T* __restrict out) {
    using V = typename Vec<T>::type;
    constexpr index_t L = Vec<T>::lanes;
    const T g = T(p.gamma), c0 = T(p.coef0);
    index_t o = 0;
    switch (p.kernel) {
        case Kernel::linear:
            break;
        case Kernel::rbf:
            for (; o + L <= len; o += L)
                store(out + o, rbf_entry<T>(load<V>(out + o), splat<V>(a_sq),
                                            load<V>(col_sq + o), g));
            for (; o < len; ++o) out[o] = rbf_entry<T>(out[o], a_sq, col_sq[o], g);
            break;
        case Kernel::laplacian:
            for (; o + L <= len; o += L)
                store(out + o, exp_nonpositive<T>(load<V>(out + o) * -g));
            for (; o < len; ++o) out[o] = exp_nonpositive<T>(out[o] * -g);
            break;
        case Kernel::polynomial: {
            const T deg = T(p.degree);
            for (; o < len; ++o) out[o] = std::pow(g * out[o] + c0, deg);
            break;
        }
        case Kernel::sigmoid:
            for (; o < len; ++o) out[o] = std::tanh(g * out[o] + c0);
            break;
    }
}

#define PARTITA_KERNEL_SUMS(OP, T)                                                               \
    PARTITA_MULTIVERSION static void kernel_sums(std::integral_constant<Op, OP>, const T* cols,  \
                                                 index_t stride, index_t d, const T* const* a,   \
                                                 index_t count, index_t len, T* const* out) {    \
        sums_body<OP, T>(cols, stride, d, a, count, len, out);                                   \
    }
PARTITA_KERNEL_SUMS(Op::dot, double)
PARTITA_KERNEL_SUMS(Op::dot, float)
PARTITA_KERNEL_SUMS(Op::l1, double)
PARTITA_KERNEL_SUMS(Op::l1, float)
#undef PARTITA_KERNEL_SUMS

#define PARTITA_KERNEL_MAP(T)                                                                    \
    PARTITA_MULTIVERSION static void kernel_map(const KernelParams& p, T a_sq, const T* col_sq,  \
                                                index_t len, T* out) {                           \
        map_body<T>(p, a_sq, col_sq, len, out);                                                  \
    }
PARTITA_KERNEL_MAP(double)
PARTITA_KERNEL_MAP(float)
#undef PARTITA_KERNEL_MAP

// out[i] += w * row[i] for i in [0, len): the E update, in double.
#define PARTITA_AXPY(T)                                                                          \
    PARTITA_MULTIVERSION static void axpy(double w, const T* __restrict row, index_t len,        \
                                          double* __restrict out) {                              \
        _Pragma("omp simd") for (index_t i = 0; i < len; ++i) out[i] += w * double(row[i]);      \
    }
PARTITA_AXPY(double)
PARTITA_AXPY(float)
#undef PARTITA_AXPY

}  // namespace detail

// Feature rows and a kernel: Gram entries computed on demand, K(x_j, x_i) for rows j of this
// set (or of another set, for new data) against all its points i.
template <class T>
class FeatureKernel {
public:
    FeatureKernel(const MatrixView<T>& X, const KernelParams& params)
        : p_(params), n_(X.rows), d_(X.cols), mean_(X.cols, T(0)) {
        require(p_.kernel >= Kernel::linear && p_.kernel <= Kernel::laplacian, "unknown kernel");
        // rbf is translation invariant: centring the features keeps the squared distances from
        // the dot products accurate far from the origin.
        if (p_.kernel == Kernel::rbf) {
            for (index_t t = 0; t < d_; ++t) {
                double s = 0.0;
                for (index_t i = 0; i < n_; ++i) s += double(X(i, t));
                mean_[t] = n_ > 0 ? T(s / double(n_)) : T(0);
            }
        }
        rows_ = prepare(X);
        sq_ = squared_norms(rows_, n_);
        cols_.resize(std::size_t(n_) * d_);
        for (index_t i = 0; i < n_; ++i)
            for (index_t t = 0; t < d_; ++t) cols_[t * n_ + i] = rows_[i * d_ + t];
    }

    index_t size() const { return n_; }
    index_t n_features() const { return d_; }
    const KernelParams& params() const { return p_; }

    // Feature rows as this kernel sees them (centred for rbf), row-major.
    std::vector<T> prepare(const MatrixView<T>& Y) const {
        require(Y.cols == d_, "feature count differs from the training data");
        std::vector<T> out(std::size_t(Y.rows) * d_);
        for (index_t i = 0; i < Y.rows; ++i)
            for (index_t t = 0; t < d_; ++t) out[i * d_ + t] = Y(i, t) - mean_[t];
        return out;
    }

    std::vector<T> squared_norms(const std::vector<T>& rows, index_t m) const {
        std::vector<T> sq(m);
        for (index_t i = 0; i < m; ++i) {
            T acc = T(0);
            const T* x = rows.data() + i * d_;
            for (index_t t = 0; t < d_; ++t) acc += x[t] * x[t];
            sq[i] = acc;
        }
        return sq;
    }

    // K(x, x) of every prepared row, by the same operations as the Gram rows' diagonal: the raw
    // sum is the squared norm (dot kernels) or 0 (laplacian), then the kernel map.
    std::vector<T> self_kernel(const std::vector<T>& sq) const {
        const index_t m = index_t(sq.size());
        std::vector<T> out(m);
        for (index_t i = 0; i < m; ++i) {
            T one = p_.kernel == Kernel::laplacian ? T(0) : sq[i];
            detail::kernel_map(p_, sq[i], &sq[i], 1, &one);
            out[i] = one;
        }
        return out;
    }
    std::vector<T> diagonal() const { return self_kernel(sq_); }

    // Gram entries K(a_c, x_i) for the prepared rows a[0..count) (squared norms a_sq) and the
    // points i in [begin, end): out[c * ld + (i - begin)].
    void block(const T* const* a, const T* a_sq, index_t count, index_t begin, index_t end,
               T* out, index_t ld) const {
        const index_t len = end - begin;
        std::vector<T*> dst(count);
        for (index_t c = 0; c < count; ++c) dst[c] = out + c * ld;
        const T* cols = cols_.data() + begin;
        if (p_.kernel == Kernel::laplacian)
            detail::kernel_sums(std::integral_constant<detail::Op, detail::Op::l1>(), cols, n_, d_,
                                a, count, len, dst.data());
        else
            detail::kernel_sums(std::integral_constant<detail::Op, detail::Op::dot>(), cols, n_,
                                d_, a, count, len, dst.data());
        for (index_t c = 0; c < count; ++c)
            detail::kernel_map(p_, a_sq[c], sq_.data() + begin, len, dst[c]);
    }

    // Rows js[0..count) of the Gram matrix of these points over [begin, end).
    void gram_rows(const index_t* js, index_t count, index_t begin, index_t end, T* out,
                   index_t ld) const {
        std::vector<const T*> a(count);
        std::vector<T> a_sq(count);
        for (index_t c = 0; c < count; ++c) {
            a[c] = rows_.data() + js[c] * d_;
            a_sq[c] = sq_[js[c]];
        }
        block(a.data(), a_sq.data(), count, begin, end, out, ld);
    }

private:
    KernelParams p_;
    index_t n_, d_;
    std::vector<T> mean_;
    std::vector<T> rows_;  // n x d, prepared
    std::vector<T> sq_;    // squared norms of the prepared rows
    std::vector<T> cols_;  // d x n, feature-major
};

// ---- Gram sources ------------------------------------------------------------------------------

// A stored symmetric n x n matrix, read in place.
template <class T>
struct StoredGram {
    using value_type = T;
    MatrixView<T> K;
    index_t size() const { return K.rows; }
    T diag(index_t i) const { return K(i, i); }
    // Calls f(r, segment) with the entries [begin, end) of rows js[r], r = 0 .. count-1, in order.
    template <class F>
    void rows(const index_t* js, index_t count, index_t begin, index_t end, std::vector<T>&,
              F&& f) const {
        for (index_t r = 0; r < count; ++r) f(r, K.row(js[r]) + begin);
    }
};

// Rows recomputed from the features, ROW_BLOCK rows at a time into per-thread scratch.
template <class T>
struct ComputedGram {
    using value_type = T;
    const FeatureKernel<T>* X;
    std::vector<T> diagonal;
    explicit ComputedGram(const FeatureKernel<T>* x) : X(x), diagonal(x->diagonal()) {}
    index_t size() const { return X->size(); }
    T diag(index_t i) const { return diagonal[i]; }
    template <class F>
    void rows(const index_t* js, index_t count, index_t begin, index_t end,
              std::vector<T>& scratch, F&& f) const {
        const index_t len = end - begin;
        scratch.resize(std::size_t(ROW_BLOCK) * len);
        for (index_t r0 = 0; r0 < count; r0 += ROW_BLOCK) {
            const index_t m = std::min(ROW_BLOCK, count - r0);
            X->gram_rows(js + r0, m, begin, end, scratch.data(), len);
            for (index_t r = 0; r < m; ++r) f(r0 + r, scratch.data() + r * len);
        }
    }
};

// Runs body(begin, end, scratch) over the fixed column chunks of [0, n), in parallel, polling
// for Ctrl-C from the master thread; throws Interrupted after the pass when it was pressed.
template <class T, class Body>
void chunked_pass(index_t n, int n_threads, InterruptCheck& interrupt, Body&& body) {
    const index_t n_chunks = (n + CHUNK - 1) / CHUNK;
    parallel_units(
        n_chunks, n_threads, interrupt, [] { return std::vector<T>(); },
        [&](index_t ch, std::vector<T>& scratch) {
            body(ch * CHUNK, std::min(n, (ch + 1) * CHUNK), scratch);
        });
}

// The full n x n Gram matrix of X into out (row-major): only the blocks on and above the
// diagonal are computed, then mirrored. K(x_j, x_i) and K(x_i, x_j) are the same bits (products
// and sums of squared norms commute, the feature sums run in the same order), so the result
// equals the rows that ComputedGram recomputes.
template <class T>
void fill_gram(const FeatureKernel<T>& X, T* out, int n_threads, InterruptCheck& interrupt) {
    const index_t n = X.size();
    const index_t n_blocks = (n + ROW_BLOCK - 1) / ROW_BLOCK;
    parallel_units(
        n_blocks, n_threads, interrupt, [] { return std::vector<index_t>(ROW_BLOCK); },
        [&](index_t blk, std::vector<index_t>& js) {
            const index_t r0 = blk * ROW_BLOCK, cnt = std::min(ROW_BLOCK, n - r0);
            for (index_t r = 0; r < cnt; ++r) js[r] = r0 + r;
            for (index_t b = r0; b < n; b += CHUNK) {
                const index_t e = std::min(n, b + CHUNK);
                X.gram_rows(js.data(), cnt, b, e, out + r0 * n + b, n);
            }
            // Mirror: rows i > r0 + cnt receive the block's columns.
            for (index_t i = r0 + cnt; i < n; ++i)
                for (index_t r = 0; r < cnt; ++r) out[i * n + r0 + r] = out[(r0 + r) * n + i];
            // Inside the diagonal block, the entries below its diagonal.
            for (index_t r = 0; r < cnt; ++r)
                for (index_t q = 0; q < r; ++q) out[(r0 + r) * n + r0 + q] = out[(r0 + q) * n + r0 + r];
        });
}

struct Result {
    std::vector<std::int32_t> labels;   // nearest centre of every point (ties: lowest cluster)
    std::vector<std::int32_t> centres;  // the partition whose means are the final centres
    std::vector<double> distances;      // d(i, labels_i)
    std::vector<double> cluster_weights;  // s_c of the centre partition
    std::vector<double> centre_norms;     // F_c / s_c^2: squared norm of each centre
    double inertia = 0.0;
    index_t n_iter = 0;
    index_t n_reseeded = 0;
    bool converged = false;
};

// Called after every iteration with (iteration, points that changed cluster, inertia).
using Progress = std::function<void(index_t, index_t, double)>;

// Moves points into the empty clusters (s_c = 0) of the partition L: the positive-weight points
// farthest from their centre (dist, ties to the lowest index), taken only from clusters that keep
// another positive-weight point. Empty clusters are filled in increasing order. Returns the
// number of points moved.
inline index_t reseed_empty(std::vector<std::int32_t>& L, const std::vector<double>& dist,
                            const double* w, index_t k) {
    const index_t n = index_t(L.size());
    std::vector<index_t> members(k, 0);
    for (index_t i = 0; i < n; ++i)
        if (w[i] > 0) ++members[L[i]];
    std::vector<index_t> empty;
    for (index_t c = 0; c < k; ++c)
        if (members[c] == 0) empty.push_back(c);
    if (empty.empty()) return 0;
    std::vector<index_t> order(n);
    std::iota(order.begin(), order.end(), index_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](index_t a, index_t b) { return dist[a] > dist[b]; });
    index_t moved = 0, pos = 0;
    for (index_t c : empty) {
        for (; pos < n; ++pos) {
            const index_t i = order[pos];
            if (w[i] > 0 && members[L[i]] >= 2) {
                --members[L[i]];
                L[i] = std::int32_t(c);
                members[c] = 1;
                ++moved;
                ++pos;
                break;
            }
        }
    }
    return moved;
}

// Nearest cluster of every point for the given E, s and F (F_c / s_c^2 in `norms`); clusters
// with s_c = 0 are never chosen. Fills labels and dist; returns the weighted inertia.
template <class Src>
double assign(const Src& src, const std::vector<double>& E, const std::vector<double>& s,
              const std::vector<double>& norms, const double* w, index_t k, int n_threads,
              std::vector<std::int32_t>& labels, std::vector<double>& dist) {
    const index_t n = src.size();
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (index_t i = 0; i < n; ++i) {
        const double kii = double(src.diag(i));
        double best = std::numeric_limits<double>::infinity();
        std::int32_t arg = 0;
        bool found = false;
        for (index_t c = 0; c < k; ++c) {
            if (!(s[c] > 0)) continue;
            double d = kii - 2.0 * E[c * n + i] / s[c] + norms[c];
            d = d < 0.0 ? 0.0 : d;
            if (!found || d < best) {
                best = d;
                arg = std::int32_t(c);
                found = true;
            }
        }
        labels[i] = arg;
        dist[i] = best;
    }
    double inertia = 0.0;  // in index order: the same on any thread count
    for (index_t i = 0; i < n; ++i) inertia += w[i] * dist[i];
    return inertia;
}

// Lloyd's iterations from the feature-space images of the points `seeds` (ALGORITHMS.md 3).
//
// Iteration: re-seed the empty clusters of the current partition, make it the centres (E, s, F),
// assign every point to its nearest centre. Stops when no point changes cluster (converged),
// when the inertia decreased by at most tol times its previous value, or after max_iter
// iterations. `labels` are always the nearest centres of the returned `centres` partition.
template <class Src>
Result lloyd(const Src& src, const std::vector<index_t>& seeds, const double* w, index_t max_iter,
             double tol, int n_threads, InterruptCheck& interrupt, const Progress& progress) {
    using T = typename Src::value_type;
    const index_t n = src.size(), k = index_t(seeds.size());
    require(k >= 1 && k <= n, "need 1 <= k <= n seeds");
    for (index_t s : seeds) require(s >= 0 && s < n, "seed index out of range");
    Result res;
    res.labels.assign(n, 0);
    res.distances.assign(n, 0.0);

    // First assignment: d(i, {j}) = K_ii - 2 K_ij + K_jj for the seeds j.
    {
        std::vector<double> G(std::size_t(k) * n);
        chunked_pass<T>(n, n_threads, interrupt, [&](index_t b, index_t e, std::vector<T>& scratch) {
            src.rows(seeds.data(), k, b, e, scratch, [&](index_t r, const T* seg) {
                for (index_t i = b; i < e; ++i) G[r * n + i] = double(seg[i - b]);
            });
        });
        for (index_t i = 0; i < n; ++i) {
            const double kii = double(src.diag(i));
            double best = 0.0;
            std::int32_t arg = 0;
            for (index_t c = 0; c < k; ++c) {
                double d = kii - 2.0 * G[c * n + i] + double(src.diag(seeds[c]));
                d = d < 0.0 ? 0.0 : d;
                if (c == 0 || d < best) {
                    best = d;
                    arg = std::int32_t(c);
                }
            }
            res.labels[i] = arg;
            res.distances[i] = best;
        }
        for (index_t i = 0; i < n; ++i) res.inertia += w[i] * res.distances[i];
    }

    std::vector<double> E(std::size_t(k) * n, 0.0), s(k, 0.0), F(k, 0.0), norms(k, 0.0);
    std::vector<std::int32_t> centres(n, -1), next(n), new_labels(n);
    std::vector<double> new_dist(n);
    std::vector<index_t> js;
    std::vector<std::int32_t> from, to;
    bool first = true;

    while (res.n_iter < max_iter) {
        interrupt();
        // The partition that defines the centres: the labels, with empty clusters re-seeded.
        next = res.labels;
        res.n_reseeded += reseed_empty(next, res.distances, w, k);

        // E for `next`: all rows the first time or when many points moved, else the moved ones.
        js.clear();
        from.clear();
        to.clear();
        index_t n_moved = 0;
        if (!first)
            for (index_t j = 0; j < n; ++j) n_moved += (next[j] != centres[j] && w[j] != 0);
        const bool full = first || 2 * n_moved > n;
        if (full) std::fill(E.begin(), E.end(), 0.0);
        for (index_t j = 0; j < n; ++j) {
            if (w[j] == 0) continue;
            if (full) {
                js.push_back(j);
                from.push_back(-1);
                to.push_back(next[j]);
            } else if (next[j] != centres[j]) {
                js.push_back(j);
                from.push_back(centres[j]);
                to.push_back(next[j]);
            }
        }
        chunked_pass<T>(n, n_threads, interrupt, [&](index_t b, index_t e, std::vector<T>& scratch) {
            src.rows(js.data(), index_t(js.size()), b, e, scratch, [&](index_t r, const T* seg) {
                const double wj = w[js[r]];
                if (from[r] >= 0) detail::axpy(-wj, seg, e - b, E.data() + from[r] * n + b);
                detail::axpy(wj, seg, e - b, E.data() + to[r] * n + b);
            });
        });
        centres = next;
        first = false;

        std::fill(s.begin(), s.end(), 0.0);
        std::fill(F.begin(), F.end(), 0.0);
        for (index_t j = 0; j < n; ++j) {
            s[centres[j]] += w[j];
            F[centres[j]] += w[j] * E[centres[j] * n + j];
        }
        for (index_t c = 0; c < k; ++c) norms[c] = s[c] > 0 ? F[c] / (s[c] * s[c]) : 0.0;

        const double inertia = assign(src, E, s, norms, w, k, n_threads, new_labels, new_dist);
        index_t changed = 0;
        for (index_t i = 0; i < n; ++i) changed += new_labels[i] != centres[i];
        ++res.n_iter;
        if (progress) progress(res.n_iter, changed, inertia);
        const double previous = res.inertia;
        res.labels.swap(new_labels);
        res.distances.swap(new_dist);
        res.inertia = inertia;
        if (changed == 0) {
            res.converged = true;
            break;
        }
        if (previous - inertia <= tol * previous) break;
    }
    if (res.n_iter == 0) {  // max_iter = 0 is refused by the estimator; keep the seeds' labels
        centres = res.labels;
        std::fill(s.begin(), s.end(), 0.0);
        for (index_t j = 0; j < n; ++j) s[centres[j]] += w[j];
    }
    res.centres = std::move(centres);
    res.cluster_weights = s;
    res.centre_norms = norms;
    return res;
}

// Weighted sums of Gram entries per cluster for new points: out[i * k + c] =
// sum_{j : L_j = c} w_j K(y_i, x_j), in increasing j (the same order as E in lloyd).
template <class T>
void cross_sums(const FeatureKernel<T>& X, const MatrixView<T>& Y, const std::int32_t* L,
                const double* w, index_t k, int n_threads, InterruptCheck& interrupt,
                double* out, T* self) {
    const index_t m = Y.rows, n = X.size();
    const std::vector<T> rows = X.prepare(Y);
    const std::vector<T> sq = X.squared_norms(rows, m);
    const std::vector<T> diag = X.self_kernel(sq);
    std::copy(diag.begin(), diag.end(), self);
    std::fill(out, out + m * k, 0.0);
    const index_t n_blocks = (m + ROW_BLOCK - 1) / ROW_BLOCK;
    struct Scratch {
        std::vector<T> buf = std::vector<T>(std::size_t(ROW_BLOCK) * CHUNK);
        std::vector<const T*> a = std::vector<const T*>(ROW_BLOCK);
    };
    parallel_units(
        n_blocks, n_threads, interrupt, [] { return Scratch(); },
        [&](index_t blk, Scratch& scratch) {
            auto& buf = scratch.buf;
            auto& a = scratch.a;
            const index_t r0 = blk * ROW_BLOCK, cnt = std::min(ROW_BLOCK, m - r0);
            for (index_t r = 0; r < cnt; ++r) a[r] = rows.data() + (r0 + r) * X.n_features();
            for (index_t b = 0; b < n; b += CHUNK) {
                const index_t e = std::min(n, b + CHUNK), len = e - b;
                X.block(a.data(), sq.data() + r0, cnt, b, e, buf.data(), len);
                for (index_t r = 0; r < cnt; ++r) {
                    double* o = out + (r0 + r) * k;
                    const T* seg = buf.data() + r * len;
                    for (index_t i = 0; i < len; ++i)
                        if (w[b + i] != 0) o[L[b + i]] += w[b + i] * double(seg[i]);
                }
            }
        });
}

}  // namespace partita::kernel_kmeans
