// Batched Sinkhorn on the device: the host schedule (docs/algorithms.md, "Sinkhorn on the GPU").
// Host interface: partita/cuda/transport.hpp; kernels: sinkhorn_kernels.cuh.
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "device_memory.cuh"
#include "partita/cuda/transport.hpp"
#include "sinkhorn_kernels.cuh"

namespace partita::cuda::transport {
namespace {

namespace k = kernels;

constexpr std::size_t static_shared_bytes = 4 * k::warps * sizeof(double);
constexpr std::size_t default_shared_limit = 48 * 1024;
constexpr long long check_every = 4;  // iterations between reads of the stopped-problem count

long long blocks(long long count, long long per) { return (count + per - 1) / per; }

template <class T>
DeviceBuffer<T> upload(const std::vector<T>& v, const char* what) {
    DeviceBuffer<T> d(v.size(), what);
    d.upload(v.data(), v.size());
    return d;
}

template <class T>
void download(const DeviceBuffer<T>& d, std::vector<T>& v) {
    v.resize(d.size());
    d.download(v.data(), v.size());
}

dim3 grid2(long long x, long long y) { return dim3(unsigned(x), unsigned(y)); }

template <class T>
void run_typed(const SinkhornProblem& pb, const SinkhornParams& prm, SinkhornState& st,
               const ArrayRef* plan, const InterruptPoll& interrupted) {
    const ArrayRef& shape_of = pb.points ? pb.X : pb.C;
    const long long B = shape_of.dim(0), n = shape_of.dim(1);
    const long long m = pb.points ? pb.Y.dim(1) : pb.C.dim(2);
    k::Batch<T> p;
    std::unique_ptr<DeviceInput<T>> cost, xs, ys;  // the inputs read in place or copied once
    if (pb.points) {
        xs = std::make_unique<DeviceInput<T>>(pb.X, "X");
        ys = std::make_unique<DeviceInput<T>>(pb.Y, "Y");
        p.X = xs->get();
        p.Y = ys->get();
        p.sxb = pb.X.strides[0];
        p.syb = pb.Y.strides[0];
        p.d = pb.X.dim(2);
    } else {
        cost = std::make_unique<DeviceInput<T>>(pb.C, "the cost matrices");
        p.C = cost->get();
        p.sb = pb.C.strides[0];
        p.sr = pb.C.strides[1];
    }
    p.B = B, p.n = n, p.m = m;
    p.eps = prm.eps, p.inv_eps = 1.0 / prm.eps, p.kappa = T(1.0 / prm.eps), p.phi_a = prm.phi_a,
    p.phi_b = prm.phi_b;
    p.tol = prm.tol;
    p.relaxed = prm.phi_a < 1.0 || prm.phi_b < 1.0;
    const bool fused =
        !pb.points && std::size_t(2 * m) * sizeof(T) + static_shared_bytes <= default_shared_limit;
    const std::size_t fused_shared = fused ? std::size_t(2 * m) * sizeof(T) : 0;
    p.nrch = blocks(n, pb.points ? k::threads : k::rows_per_chunk);
    p.ncch = pb.points ? 1 : p.nrch;
    p.ncb = blocks(m, k::threads);

    std::vector<double> mass_b(pb.log_b.size());
    for (std::size_t j = 0; j < mass_b.size(); ++j) mass_b[j] = std::exp(pb.log_b[j]);
    auto la = upload(pb.log_a, "log_a"), lb = upload(pb.log_b, "log_b");
    auto mb = upload(mass_b, "b");
    std::vector<T> beta0(pb.log_b.size());
    for (std::size_t j = 0; j < beta0.size(); ++j) beta0[j] = T(pb.log_b[j] + st.g[j] / prm.eps);
    auto beta = upload(beta0, "beta");
    auto lav = upload(pb.log_av, "log_av"), lbv = upload(pb.log_bv, "log_bv");
    auto f = upload(st.f, "f"), g = upload(st.g, "g");
    auto fv = upload(st.fv, "fv"), gv = upload(st.gv, "gv");
    DeviceBuffer<double> gnew(std::size_t(B * m), "g_new");
    DeviceBuffer<double> dfmax(std::size_t(B * p.nrch), "row block changes");
    DeviceBuffer<double> amax(std::size_t(B * p.nrch), "row block LSEs");
    DeviceBuffer<double> asum(std::size_t(B * p.nrch), "row block LSEs");
    DeviceBuffer<double> colmax(std::size_t(B * p.ncch * m), "column sums");
    DeviceBuffer<double> colsum(std::size_t(B * p.ncch * m), "column sums");
    DeviceBuffer<double> dgp(std::size_t(B * p.ncb), "column block sums");
    DeviceBuffer<double> bmax(std::size_t(B * p.ncb), "column block sums");
    DeviceBuffer<double> bsum(std::size_t(B * p.ncb), "column block sums");
    st.n_iter.assign(B, 0);
    st.err.assign(B, INFINITY);
    st.converged.assign(B, 0);
    auto n_iter = upload(st.n_iter, "n_iter");
    auto err = upload(st.err, "err");
    auto conv = upload(st.converged, "converged");
    DeviceBuffer<double> dg(std::size_t(B), "dg");
    DeviceBuffer<int> done(std::size_t(B), "done"), n_done(1, "n_done");
    check(cudaMemset(done.get(), 0, sizeof(int) * B), "cudaMemset");
    check(cudaMemset(n_done.get(), 0, sizeof(int)), "cudaMemset");
    check(cudaMemset(dg.get(), 0, sizeof(double) * B), "cudaMemset");
    p.log_a = la.get(), p.log_b = lb.get(), p.mass_b = mb.get(), p.beta = beta.get();
    p.log_av = pb.log_av.empty() ? nullptr : lav.get();
    p.log_bv = pb.log_bv.empty() ? nullptr : lbv.get();
    p.f = f.get(), p.g = g.get(), p.gnew = gnew.get(), p.fv = fv.get(), p.gv = gv.get();
    p.dfmax = dfmax.get(), p.amax = amax.get(), p.asum = asum.get();
    p.colmax = colmax.get(), p.colsum = colsum.get();
    p.dgp = dgp.get(), p.bmax = bmax.get(), p.bsum = bsum.get();
    p.done = done.get(), p.n_done = n_done.get(), p.n_iter = n_iter.get();
    p.err = err.get(), p.dg = dg.get(), p.converged = conv.get();

    const dim3 tb(k::threads);
    // The row sweep (with the column sums of the new f), or at the start only the latter.
    auto sweep = [&](bool update_rows) {
        if (pb.points) {
            if (update_rows) {
                PARTITA_LAUNCH(k::cloud_kernel<T>, grid2(p.nrch, B), tb, 0, nullptr)(p, true);
                check_launch("transport.cloud_kernel");
            } else {
                PARTITA_LAUNCH(k::alpha_kernel<T>, grid2(p.nrch, B), tb, 0, nullptr)(p);
                check_launch("transport.alpha_kernel");
            }
            PARTITA_LAUNCH(k::cloud_kernel<T>, grid2(p.ncb, B), tb, 0, nullptr)(p, false);
            check_launch("transport.cloud_kernel");
            return;
        }
        // (A pointer: the template's comma would split the macro's arguments.)
        auto* kernel = fused ? &k::sweep_kernel<T, true> : &k::sweep_kernel<T, false>;
        PARTITA_LAUNCH(kernel, grid2(p.nrch, B), tb, fused_shared, nullptr)(p, update_rows);
        check_launch("transport.sweep_kernel");
        if (!fused) {
            PARTITA_LAUNCH(k::column_kernel<T>,
                           dim3(unsigned(p.ncb), unsigned(p.nrch), unsigned(B)), tb, 0, nullptr)(p);
            check_launch("transport.column_kernel");
        }
    };
    auto columns = [&](long long iter, bool final) {
        PARTITA_LAUNCH(k::columns_update_kernel<T>, grid2(p.ncb, B), tb, 0, nullptr)(p);
        check_launch("transport.columns_update_kernel");
        PARTITA_LAUNCH(k::decide_kernel<T>, dim3(unsigned(B)), tb, 0, nullptr)(p, iter, final);
        check_launch("transport.decide_kernel");
    };

    sweep(false);
    for (long long iter = 1; iter <= prm.max_iter; ++iter) {
        if (interrupted && interrupted()) throw Interrupted();
        columns(iter, false);
        PARTITA_LAUNCH(k::apply_kernel<T>, grid2(p.ncb, B), tb, 0, nullptr)(p);
        check_launch("transport.apply_kernel");
        sweep(true);
        PARTITA_LAUNCH(k::after_sweep_kernel<T>, dim3(unsigned(blocks(B, k::threads))), tb, 0,
                       nullptr)(p, iter);
        check_launch("transport.after_sweep_kernel");
        if (prm.tol > 0 && (iter % check_every == 0 || iter == prm.max_iter)) {
            int stopped = 0;
            check(cudaMemcpy(&stopped, n_done.get(), sizeof(int), cudaMemcpyDeviceToHost),
                  "transport.sinkhorn");
            if (stopped == B) break;
        }
    }
    if (!p.relaxed) columns(prm.max_iter, true);  // problems that ran out of iterations
    if (plan) {
        T* out = static_cast<T*>(const_cast<void*>(plan->data));
        DeviceBuffer<T> host_plan;
        if (!plan->on_device) {
            host_plan = DeviceBuffer<T>(std::size_t(B * n * m), "the plan");
            out = host_plan.get();
        }
        PARTITA_LAUNCH(k::plan_kernel<T>, grid2(blocks(n, k::warps), B), tb, 0, nullptr)(p, out);
        check_launch("transport.plan_kernel");
        if (!plan->on_device)
            host_plan.download(static_cast<T*>(const_cast<void*>(plan->data)), host_plan.size());
    }
    check(cudaDeviceSynchronize(), "transport.sinkhorn");
    download(f, st.f);
    download(g, st.g);
    download(fv, st.fv);
    download(gv, st.gv);
    download(n_iter, st.n_iter);
    download(err, st.err);
    download(conv, st.converged);
}

void require(bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument(what);
}

}  // namespace

void sinkhorn(const SinkhornProblem& pb, const SinkhornParams& prm, SinkhornState& st,
              const ArrayRef* plan, const InterruptPoll& interrupted) {
    DType dtype;
    long long B, n, m;
    if (pb.points) {
        require(pb.X.shape.size() == 3 && pb.Y.shape.size() == 3,
                "X, Y: expected (B, n, d) and (B, m, d) arrays");
        require(pb.X.contiguous() && pb.Y.contiguous(), "X, Y: expected C-contiguous arrays");
        require(pb.X.dtype == pb.Y.dtype, "X, Y: expected the same dtype");
        require(pb.X.dim(0) == pb.Y.dim(0) && pb.X.dim(2) == pb.Y.dim(2),
                "X, Y: expected the same batch size and dimension");
        require(pb.X.dim(2) >= 1 && pb.X.dim(2) <= k::max_dim,
                "X, Y: the dimension must be between 1 and " + std::to_string(k::max_dim));
        require(pb.X.on_device == pb.Y.on_device, "X, Y: expected both on the host or the device");
        dtype = pb.X.dtype, B = pb.X.dim(0), n = pb.X.dim(1), m = pb.Y.dim(1);
    } else {
        require(pb.C.shape.size() == 3, "C: expected a (B, n, m) array");
        require(pb.C.rows_contiguous(), "C: the rows must be contiguous");
        dtype = pb.C.dtype, B = pb.C.dim(0), n = pb.C.dim(1), m = pb.C.dim(2);
    }
    require(dtype == DType::float32 || dtype == DType::float64, "expected float32 or float64");
    require(B >= 1 && n >= 1 && m >= 1, "expected a non-empty problem");
    require(blocks(n, k::rows_per_chunk) < 2147483647LL && blocks(m, k::threads) < 2147483647LL &&
                B <= 65535,
            "the problem is larger than one launch covers");
    require(pb.log_a.size() == std::size_t(B * n), "log_a: expected B * n entries");
    require(pb.log_b.size() == std::size_t(B * m), "log_b: expected B * m entries");
    require(pb.log_av.empty() || pb.log_av.size() == std::size_t(B), "log_av: expected B entries");
    require(pb.log_bv.empty() || pb.log_bv.size() == std::size_t(B), "log_bv: expected B entries");
    require(st.f.size() == std::size_t(B * n) && st.g.size() == std::size_t(B * m),
            "f, g: expected B * n and B * m entries");
    require(st.fv.size() == std::size_t(B) && st.gv.size() == std::size_t(B),
            "fv, gv: expected B entries");
    require(prm.eps > 0 && std::isfinite(prm.eps), "eps must be positive");
    require(prm.max_iter >= 1, "max_iter must be >= 1");
    require(prm.phi_a > 0 && prm.phi_a <= 1 && prm.phi_b > 0 && prm.phi_b <= 1,
            "phi_a, phi_b must be in (0, 1]");
    if (plan) {
        require(plan->dtype == dtype, "plan: expected the cost's dtype");
        require(plan->shape == std::vector<std::int64_t>{B, n, m} && plan->contiguous(),
                "plan: expected a C-contiguous (B, n, m) array");
    }
    if (dtype == DType::float32) run_typed<float>(pb, prm, st, plan, interrupted);
    else run_typed<double>(pb, prm, st, plan, interrupted);
}

}  // namespace partita::cuda::transport
