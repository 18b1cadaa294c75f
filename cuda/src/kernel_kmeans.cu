// Kernel k-means on the GPU (host interface: partita/cuda/kernel_kmeans.hpp; kernels:
// kernel_kmeans_kernels.cuh; docs/algorithms.md, "Kernel k-means on a GPU").
#include <algorithm>
#include <stdexcept>
#include <string>

#include "device_memory.cuh"
#include "kernel_kmeans_kernels.cuh"
#include "partita/cuda/kernel_kmeans.hpp"

namespace partita::cuda::kernel_kmeans {

namespace k = kernels;

namespace {

unsigned point_blocks(long long n) {
    return unsigned((n + k::points_per_block - 1) / k::points_per_block);
}

// Rows per launch of a pass: bounds a launch's duration (Ctrl-C is polled between launches).
constexpr long long rows_per_launch = 4096;
// Row tiles of a rows_kernel grid (grid.y), the rest by a grid-stride loop.
constexpr long long max_row_tiles = 8192;

template <class T>
std::vector<T> host_copy(const ArrayRef& X) {
    std::vector<T> out(std::size_t(X.dim(0)) * std::size_t(X.dim(1)));
    const std::int64_t n = X.dim(0), d = X.dim(1);
    if (X.on_device) {
        // Read the device array row by row (rows may be padded).
        for (std::int64_t i = 0; i < n; ++i)
            check(cudaMemcpy(out.data() + i * d, static_cast<const T*>(X.data) + i * X.strides[0],
                             std::size_t(d) * sizeof(T), cudaMemcpyDeviceToHost),
                  "download");
        return out;
    }
    const T* p = static_cast<const T*>(X.data);
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t t = 0; t < d; ++t)
            out[i * d + t] = p[i * X.strides[0] + t * X.strides[1]];
    return out;
}

}  // namespace

std::int64_t free_device_memory() {
    std::size_t free_bytes = 0, total_bytes = 0;
    check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
    return std::int64_t(free_bytes);
}

struct Problem::State {
    DType dtype = DType::float64;
    long long n = 0, k = 0;
    int d = 0;
    KernelParams params;
    bool stored = false, precomputed = false;
    // Features (both layouts) and squared norms: float or double storage of the Gram's type.
    DeviceBuffer<float> rows32, cols32, sq32;
    DeviceBuffer<double> rows64, cols64, sq64;
    // The stored Gram: our own buffer, or the caller's precomputed matrix.
    DeviceBuffer<float> gram32;
    DeviceBuffer<double> gram64;
    std::unique_ptr<DeviceInput<float>> input32;
    std::unique_ptr<DeviceInput<double>> input64;
    const void* K = nullptr;
    long long ld = 0;
    DeviceBuffer<double> diag, E;

    template <class T>
    k::Features<T> features() const {
        k::Features<T> f;
        if constexpr (sizeof(T) == 4) {
            f.rows = rows32.get();
            f.cols = cols32.get();
            f.sq = sq32.get();
        } else {
            f.rows = rows64.get();
            f.cols = cols64.get();
            f.sq = sq64.get();
        }
        f.n = n;
        f.d = d;
        f.kernel = int(params.kernel);
        f.gamma = T(params.gamma);
        f.degree = T(params.degree);
        f.coef0 = T(params.coef0);
        return f;
    }

    // The CPU's KernelFeatures: centred for rbf (the mean summed in double in point order),
    // squared norms summed in feature order; uploaded row- and feature-major.
    template <class T>
    void prepare(const ArrayRef& X, DeviceBuffer<T>& rows, DeviceBuffer<T>& cols,
                 DeviceBuffer<T>& sq) {
        std::vector<T> x = host_copy<T>(X);
        std::vector<T> mean(d, T(0));
        if (params.kernel == Kernel::rbf)
            for (int t = 0; t < d; ++t) {
                double s = 0.0;
                for (long long i = 0; i < n; ++i) s += double(x[i * d + t]);
                mean[t] = n > 0 ? T(s / double(n)) : T(0);
            }
        std::vector<T> xt(std::size_t(n) * d), norms(n);
        for (long long i = 0; i < n; ++i) {
            T acc = T(0);
            for (int t = 0; t < d; ++t) {
                const T v = x[i * d + t] - mean[t];
                x[i * d + t] = v;
                xt[std::size_t(t) * n + i] = v;
                acc += v * v;
            }
            norms[i] = acc;
        }
        rows = DeviceBuffer<T>(x.size(), "the features");
        rows.upload(x.data(), x.size());
        cols = DeviceBuffer<T>(xt.size(), "the feature-major features");
        cols.upload(xt.data(), xt.size());
        sq = DeviceBuffer<T>(n, "the squared norms");
        sq.upload(norms.data(), n);
    }

    template <class T>
    void rows_into(const std::vector<std::int64_t>& js, T* out, long long out_ld) const {
        const long long count = (long long)js.size();
        if (count == 0 || n == 0) return;
        DeviceBuffer<long long> dj(count, "the row indices");
        dj.upload(reinterpret_cast<const long long*>(js.data()), count);
        const long long tiles = (count + k::tile_rows - 1) / k::tile_rows;
        const dim3 grid(point_blocks(n), unsigned(std::min(tiles, max_row_tiles)));
        PARTITA_LAUNCH(k::rows_kernel<T>, grid, dim3(k::points_per_block), 0, nullptr)(
            features<T>(), dj.get(), count, out, out_ld);
        check_launch("kernel_kmeans.rows_kernel");
        check(cudaDeviceSynchronize(), "kernel_kmeans.rows_kernel");
    }

    template <class T>
    void init_features(const ArrayRef& X, bool store) {
        if constexpr (sizeof(T) == 4) prepare<T>(X, rows32, cols32, sq32);
        else prepare<T>(X, rows64, cols64, sq64);
        diag = DeviceBuffer<double>(n, "the Gram diagonal");
        if (n > 0) {
            PARTITA_LAUNCH(k::diagonal_kernel<T>, dim3(point_blocks(n)), dim3(k::points_per_block),
                           0, nullptr)(features<T>(), diag.get());
            check_launch("kernel_kmeans.diagonal_kernel");
        }
        if (!store) return;
        DeviceBuffer<T> gram(std::size_t(n) * std::size_t(n), "the stored Gram matrix");
        std::vector<std::int64_t> js;
        for (long long r0 = 0; r0 < n; r0 += rows_per_launch) {
            js.clear();
            for (long long j = r0; j < std::min(n, r0 + rows_per_launch); ++j) js.push_back(j);
            rows_into<T>(js, gram.get() + r0 * n, n);
        }
        K = gram.get();
        ld = n;
        stored = true;
        if constexpr (sizeof(T) == 4) gram32 = std::move(gram);
        else gram64 = std::move(gram);
    }

    template <class T>
    void init_precomputed(const ArrayRef& G) {
        auto in = std::make_unique<DeviceInput<T>>(G, "the Gram matrix");
        K = in->get();
        if constexpr (sizeof(T) == 4) input32 = std::move(in);
        else input64 = std::move(in);
        ld = G.strides[0];
        stored = precomputed = true;
        diag = DeviceBuffer<double>(n, "the Gram diagonal");
        if (n > 0) {
            PARTITA_LAUNCH(k::stored_diagonal_kernel<T>, dim3(point_blocks(n)),
                           dim3(k::points_per_block), 0,
                           nullptr)(static_cast<const T*>(K), ld, n, diag.get());
            check_launch("kernel_kmeans.stored_diagonal_kernel");
        }
    }

    template <class T>
    void accumulate(const long long* js, const int* cluster, const double* w, long long count) {
        if (stored)
            PARTITA_LAUNCH(k::accumulate_stored_kernel<T>, dim3(point_blocks(n)),
                           dim3(k::points_per_block), 0, nullptr)(static_cast<const T*>(K), ld, n,
                                                                  js, cluster, w, count, E.get());
        else
            PARTITA_LAUNCH(k::accumulate_features_kernel<T>, dim3(point_blocks(n)),
                           dim3(k::points_per_block), 0,
                           nullptr)(features<T>(), js, cluster, w, count, E.get());
        check_launch("kernel_kmeans.accumulate");
    }
};

namespace {

void check_floating(const ArrayRef& a, const char* name) {
    if (a.shape.size() != 2) throw std::invalid_argument(std::string(name) + ": expected 2-D");
    if (a.dtype != DType::float32 && a.dtype != DType::float64)
        throw std::invalid_argument(std::string(name) + ": expected float32 or float64");
}

}  // namespace

Problem::Problem(const ArrayRef& X, const KernelParams& params, bool store)
    : s_(std::make_unique<State>()) {
    check_floating(X, "X");
    if (X.on_device && !X.rows_contiguous())
        throw std::invalid_argument("X: the rows must be contiguous");
    if (int(params.kernel) < 0 || int(params.kernel) > 4)
        throw std::invalid_argument("unknown kernel");
    s_->dtype = X.dtype;
    s_->n = X.dim(0);
    s_->d = int(X.dim(1));
    s_->params = params;
    if (X.dtype == DType::float32) s_->init_features<float>(X, store);
    else s_->init_features<double>(X, store);
}

Problem::Problem(const ArrayRef& K) : s_(std::make_unique<State>()) {
    check_floating(K, "K");
    if (K.dim(0) != K.dim(1)) throw std::invalid_argument("K: expected a square Gram matrix");
    if (!K.rows_contiguous()) throw std::invalid_argument("K: the rows must be contiguous");
    s_->dtype = K.dtype;
    s_->n = K.dim(0);
    if (K.dtype == DType::float32) s_->init_precomputed<float>(K);
    else s_->init_precomputed<double>(K);
}

Problem::~Problem() = default;
Problem::Problem(Problem&&) noexcept = default;
Problem& Problem::operator=(Problem&&) noexcept = default;

std::int64_t Problem::size() const { return s_->n; }
DType Problem::dtype() const { return s_->dtype; }
bool Problem::stored() const { return s_->stored; }

std::vector<double> Problem::diagonal() const {
    std::vector<double> out(s_->n);
    s_->diag.download(out.data(), out.size());
    return out;
}

std::vector<double> Problem::rows(const std::vector<std::int64_t>& js) const {
    const long long n = s_->n, count = (long long)js.size();
    for (auto j : js)
        if (j < 0 || j >= n) throw std::invalid_argument("row index out of range");
    std::vector<double> out(std::size_t(count) * std::size_t(n));
    auto fetch = [&](auto zero) {
        using T = decltype(zero);
        std::vector<T> host(out.size());
        if (s_->stored) {
            const T* K = static_cast<const T*>(s_->K);
            for (long long r = 0; r < count; ++r)
                check(cudaMemcpy(host.data() + r * n, K + js[r] * s_->ld,
                                 std::size_t(n) * sizeof(T), cudaMemcpyDeviceToHost),
                      "download");
        } else {
            DeviceBuffer<T> buf(out.size(), "Gram rows");
            s_->rows_into<T>(js, buf.get(), n);
            buf.download(host.data(), host.size());
        }
        std::copy(host.begin(), host.end(), out.begin());
    };
    if (s_->dtype == DType::float32) fetch(float(0));
    else fetch(double(0));
    return out;
}

void Problem::reset_sums(std::int64_t k) {
    if (k < 1 || k > s_->n) throw std::invalid_argument("need 1 <= k <= n clusters");
    if (s_->E.size() != std::size_t(k) * std::size_t(s_->n))
        s_->E = DeviceBuffer<double>(std::size_t(k) * std::size_t(s_->n), "the cluster sums E");
    s_->k = k;
    if (s_->E.size())
        check(cudaMemset(s_->E.get(), 0, s_->E.size() * sizeof(double)), "cudaMemset");
}

void Problem::accumulate(const std::vector<std::int64_t>& js, const std::vector<std::int32_t>& from,
                         const std::vector<std::int32_t>& to, const std::vector<double>& w,
                         const InterruptPoll& interrupt) {
    const long long count = (long long)js.size(), n = s_->n;
    if (s_->k == 0) throw std::invalid_argument("reset_sums first");
    if ((long long)from.size() != count || (long long)to.size() != count ||
        (long long)w.size() != count)
        throw std::invalid_argument("js, from, to and w differ in length");
    for (long long r = 0; r < count; ++r)
        if (js[r] < 0 || js[r] >= n || from[r] >= s_->k || to[r] < 0 || to[r] >= s_->k)
            throw std::invalid_argument("row or cluster index out of range");
    if (count == 0) return;
    // The updates grouped by cluster, increasing r within each: every E entry sees its own
    // updates in the CPU's order (other clusters' updates do not touch it), and a thread reads
    // and writes it once per group instead of once per row.
    std::vector<std::int64_t> order;
    std::vector<int> cluster;
    std::vector<double> weight;
    for (long long r = 0; r < count; ++r) {
        if (from[r] >= 0)
            order.push_back(js[r]), cluster.push_back(from[r]), weight.push_back(-w[r]);
        order.push_back(js[r]);
        cluster.push_back(to[r]);
        weight.push_back(w[r]);
    }
    std::vector<std::size_t> idx(order.size());
    for (std::size_t q = 0; q < idx.size(); ++q) idx[q] = q;
    std::stable_sort(idx.begin(), idx.end(),
                     [&](std::size_t a, std::size_t b) { return cluster[a] < cluster[b]; });
    const long long m = (long long)idx.size();
    std::vector<long long> hj(m);
    std::vector<int> hc(m);
    std::vector<double> hw(m);
    for (long long q = 0; q < m; ++q)
        hj[q] = order[idx[q]], hc[q] = cluster[idx[q]], hw[q] = weight[idx[q]];
    DeviceBuffer<long long> dj(m, "row indices");
    DeviceBuffer<int> dc(m, "clusters");
    DeviceBuffer<double> dw(m, "row weights");
    dj.upload(hj.data(), m);
    dc.upload(hc.data(), m);
    dw.upload(hw.data(), m);
    // Launches of a bounded number of rows, in order: E's entries keep the increasing order.
    for (long long r0 = 0; r0 < m; r0 += rows_per_launch) {
        const long long len = std::min(rows_per_launch, m - r0);
        if (s_->dtype == DType::float32)
            s_->accumulate<float>(dj.get() + r0, dc.get() + r0, dw.get() + r0, len);
        else s_->accumulate<double>(dj.get() + r0, dc.get() + r0, dw.get() + r0, len);
        check(cudaDeviceSynchronize(), "kernel_kmeans.accumulate");
        if (interrupt && interrupt()) throw Interrupted();
    }
}

Assignment Problem::assign(const std::vector<double>& s, const std::vector<double>& norms) const {
    const long long n = s_->n, kk = s_->k;
    if (kk == 0) throw std::invalid_argument("reset_sums first");
    if ((long long)s.size() != kk || (long long)norms.size() != kk)
        throw std::invalid_argument("s and norms must have k entries");
    DeviceBuffer<double> ds(kk, "cluster weights"), dn(kk, "centre norms"), dd(n, "distances");
    DeviceBuffer<int> dl(n, "labels");
    ds.upload(s.data(), kk);
    dn.upload(norms.data(), kk);
    if (n > 0) {
        PARTITA_LAUNCH(k::assign_kernel, dim3(point_blocks(n)), dim3(k::points_per_block), 0,
                       nullptr)(s_->E.get(), n, int(kk), ds.get(), dn.get(), s_->diag.get(),
                                dl.get(), dd.get());
        check_launch("kernel_kmeans.assign_kernel");
        check(cudaDeviceSynchronize(), "kernel_kmeans.assign_kernel");
    }
    Assignment a;
    a.labels.resize(n);
    a.distances.resize(n);
    dl.download(a.labels.data(), n);
    dd.download(a.distances.data(), n);
    return a;
}

std::vector<double> Problem::own_sums(const std::vector<std::int32_t>& labels) const {
    const long long n = s_->n;
    if (s_->k == 0) throw std::invalid_argument("reset_sums first");
    if ((long long)labels.size() != n) throw std::invalid_argument("labels must have n entries");
    for (auto c : labels)
        if (c < 0 || c >= s_->k) throw std::invalid_argument("label out of range");
    DeviceBuffer<int> dl(n, "labels");
    DeviceBuffer<double> out(n, "own sums");
    dl.upload(labels.data(), n);
    std::vector<double> host(n);
    if (n > 0) {
        PARTITA_LAUNCH(k::own_sums_kernel, dim3(point_blocks(n)), dim3(k::points_per_block), 0,
                       nullptr)(s_->E.get(), n, dl.get(), out.get());
        check_launch("kernel_kmeans.own_sums_kernel");
        out.download(host.data(), n);
    }
    return host;
}

}  // namespace partita::cuda::kernel_kmeans
