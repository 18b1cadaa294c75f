// A standalone program over the kernels' host interface. Built with AddressSanitizer over the
// emulator (tests/test_cuda_emulator.py), it runs the kernels on small inputs under the three
// schedules (an out-of-range access aborts with ASan's report); built with nvcc, it is what
// compute-sanitizer (memcheck, racecheck, synccheck) runs on the GPU (benchmarks/gpu.sh).
// An argument runs one planted bug instead (selftest.hpp), which the checker must report:
// out_of_range, shared_out_of_range (emulator only), missing_barrier, divergent_barrier,
// divergent_shuffle, two_sided_race, stale_shared_read, barrier_sites, shuffle_source.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <random>
#include <vector>

#ifdef PARTITA_CUDA_EMULATOR
#include "control.hpp"
#endif
#include "partita/cuda/medoids.hpp"
#include "partita/cuda/transport.hpp"
#include "selftest.hpp"

namespace {

using partita::cuda::ArrayRef;
using partita::cuda::DType;

template <class T>
ArrayRef host_ref(const std::vector<T>& v, std::vector<std::int64_t> shape, DType dtype) {
    ArrayRef r;
    r.data = v.data();
    r.dtype = dtype;
    r.shape = shape;
    r.strides.assign(shape.size(), 1);
    for (std::size_t i = shape.size() - 1; i-- > 0;) r.strides[i] = r.strides[i + 1] * shape[i + 1];
    return r;
}

// Batched Sinkhorn: stored float32 costs with virtual points, and float64 point clouds, whose
// balanced plan's rows sum to a exactly (to rounding) after the last f-update.
int run_sinkhorn(const std::vector<double>& C, const std::vector<float>& Cf, int B, int n, int m) {
    namespace tr = partita::cuda::transport;
    std::vector<double> pts(std::size_t(B) * (n + m) * 2);
    for (std::size_t i = 0; i < pts.size(); ++i) pts[i] = std::fmod(0.37 * double(i), 1.0);
    std::vector<double> plan(std::size_t(B) * n * m);
    std::vector<float> planf(plan.size());
    for (int variant = 0; variant < 2; ++variant) {
        const bool points = variant == 1, single = variant == 0, partial = variant == 0;
        tr::SinkhornProblem pb;
        pb.points = points;
        if (points) {
            pb.X = host_ref(pts, {B, n, 2}, DType::float64);
            pb.Y = host_ref(pts, {B, m, 2}, DType::float64);
            pb.Y.data = pts.data() + std::size_t(B) * n * 2;
        } else {
            pb.C = single ? host_ref(Cf, {B, n, m}, DType::float32)
                          : host_ref(C, {B, n, m}, DType::float64);
        }
        pb.log_a.assign(std::size_t(B) * n, -std::log(double(n)));
        pb.log_b.assign(std::size_t(B) * m, -std::log(double(m)));
        if (partial) pb.log_bv.assign(B, std::log(0.3)), pb.log_av.assign(B, std::log(0.3));
        tr::SinkhornParams prm;
        prm.eps = 0.1, prm.max_iter = 3, prm.tol = 0.0;
        tr::SinkhornState st;
        st.f.assign(std::size_t(B) * n, 0.0), st.g.assign(std::size_t(B) * m, 0.0);
        st.fv.assign(B, 0.0), st.gv.assign(B, 0.0);
        const bool f32 = !points && single;
        ArrayRef out = f32 ? host_ref(planf, {B, n, m}, DType::float32)
                           : host_ref(plan, {B, n, m}, DType::float64);
        tr::sinkhorn(pb, prm, st, &out);
        for (int b = 0; b < B; ++b)
            for (int i = 0; i < n && !partial; ++i) {
                double s = 0.0;
                for (int j = 0; j < m; ++j)
                    s += f32 ? planf[(std::size_t(b) * n + i) * m + j]
                             : plan[(std::size_t(b) * n + i) * m + j];
                if (!(std::abs(s * n - 1.0) < (f32 ? 1e-4 : 1e-9))) {
                    std::fprintf(stderr, "transport.sinkhorn %d: row %d %d sums to %g\n", variant,
                                 b, i, s * n);
                    return 1;
                }
            }
    }
    return 0;
}

int run_kernels() {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const int n = 45, B = 2, m = 37;
    std::vector<double> pts(n);
    for (auto& p : pts) p = u(rng);
    std::vector<double> D(n * n);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) D[i * n + j] = std::abs(pts[i] - pts[j]);
    std::vector<float> Df(D.begin(), D.end());
    std::vector<double> C(B * n * m), g(B * m);
    for (auto& c : C) c = u(rng);
    for (auto& x : g) x = u(rng) - 0.5;
    std::vector<float> Cf(C.begin(), C.end());
#ifdef PARTITA_CUDA_EMULATOR
    for (auto s : {partita_emu::Schedule::forward, partita_emu::Schedule::reverse,
                   partita_emu::Schedule::shuffled}) {
        partita_emu::set_schedule(s, 1);
#else
    {
#endif
        for (std::vector<std::int64_t> med :
             {std::vector<std::int64_t>{3},
              std::vector<std::int64_t>{0, 7, 11, 44, 20, 1, 2, 5, 9, 13}}) {
            auto a = partita::cuda::medoids::assign(host_ref(D, {n, n}, DType::float64), med);
            auto b = partita::cuda::medoids::assign(host_ref(Df, {n, n}, DType::float32), med);
            for (int o = 0; o < n; ++o) {
                double best = D[med[0] * n + o];
                int slot = 0;
                for (int k = 1; k < int(med.size()); ++k)
                    if (D[med[k] * n + o] < best || med[k] == o) best = D[med[k] * n + o], slot = k;
                if (a.near_i[o] != slot || b.near_i[o] != slot) {
                    std::fprintf(stderr, "medoids.assign: point %d: slot %d, expected %d\n", o,
                                 a.near_i[o], slot);
                    return 1;
                }
            }
        }
        for (const ArrayRef& c :
             {host_ref(C, {B, n, m}, DType::float64), host_ref(Cf, {B, n, m}, DType::float32)}) {
            auto f = partita::cuda::transport::row_sweep(c, {}, {}, g, 0.1);
            for (int b = 0; b < B; ++b)
                for (int i = 0; i < n; ++i) {
                    double mx = -INFINITY, s = 0;
                    for (int j = 0; j < m; ++j)
                        mx = std::fmax(mx, (g[b * m + j] - C[(b * n + i) * m + j]) / 0.1);
                    for (int j = 0; j < m; ++j)
                        s += std::exp((g[b * m + j] - C[(b * n + i) * m + j]) / 0.1 - mx);
                    const double want = -0.1 * (mx + std::log(s));
                    if (std::abs(f[b * n + i] - want) > 1e-5) {
                        std::fprintf(stderr, "transport.row_sweep: %d %d: %g, expected %g\n", b, i,
                                     f[b * n + i], want);
                        return 1;
                    }
                }
        }
        if (partita_emu::selftest::fill_indices(100, false) != 4950) return 1;
    }
    if (run_sinkhorn(C, Cf, B, n, m) != 0) return 1;  // once: the emulator's run is slow under ASan
    std::puts("kernels: ok");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    namespace st = partita_emu::selftest;
    if (argc < 2) {
        try {
            return run_kernels();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error: %s\n", e.what());
            return 3;
        }
    }
    const std::vector<double> x(1000, 1.0);
    try {
        if (std::strcmp(argv[1], "out_of_range") == 0) {
            std::printf("out_of_range: not caught (sum %lld)\n", st::fill_indices(100, true));
        } else if (std::strcmp(argv[1], "shared_out_of_range") == 0) {
            std::printf("shared_out_of_range: not caught (%g)\n", st::shared_reverse(x, true));
        } else if (std::strcmp(argv[1], "missing_barrier") == 0) {
            std::printf("missing_barrier: sum %g (exact 1000)\n", st::block_sum(x, false));
        } else if (std::strcmp(argv[1], "divergent_barrier") == 0) {
            std::printf("divergent_barrier: %g\n", st::shared_copy(x, true)[0]);
        } else if (std::strcmp(argv[1], "divergent_shuffle") == 0) {
            std::printf("divergent_shuffle: %g\n", st::warp_sums(x, true)[0]);
        } else if (std::strcmp(argv[1], "two_sided_race") == 0) {
            std::printf("two_sided_race: %g\n", st::neighbour_max(x, false)[1]);
        } else if (std::strcmp(argv[1], "stale_shared_read") == 0) {
            std::printf("stale_shared_read: %g (exact 1)\n",
                        st::table_scale(std::vector<double>(128, 1.0), std::vector<double>(64, 1.0),
                                        false)[64]);
        } else if (std::strcmp(argv[1], "barrier_sites") == 0) {
            std::printf("barrier_sites: %g\n", st::barrier_sites(x));
        } else if (std::strcmp(argv[1], "shuffle_source") == 0) {
            std::printf("shuffle_source: %g\n", st::shuffle_source(x));
        } else {
            std::fprintf(stderr, "unknown planted bug %s\n", argv[1]);
            return 2;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "caught: %s\n", e.what());
        return 3;
    }
    return 0;
}
