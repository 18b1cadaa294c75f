// The candidate scan, the hot loop of FasterPAM, FastPAM1 and CLARANS: one vectorised pass over
// a candidate's distance row (docs/algorithms.md, "Scoring a candidate").
#pragma once

#include <cstdint>

#include "partita/common.hpp"

#if defined(__x86_64__) && !defined(__CUDACC__)
#include <immintrin.h>
#endif

namespace partita::medoids {

namespace detail {

// For candidate j with distance row `row`, adds to `ploss[slot]` the loss change of removing each
// slot, and returns the shared gain `acc` of making j a medoid.
// Only points with d(o, j) < second-nearest distance contribute, a few percent of them, so the
// scan compares a vector of distances at once and visits only the lanes of its bit mask, lowest
// first: the additions happen in the same order as in the plain loop, so the result is bit for
// bit the plain loop's (and the reference's), whatever the vector width.
template <class T>
struct CandidateScan {
    const T* __restrict row;
    const T* __restrict near_d;
    const T* __restrict seco_d;
    const std::int32_t* __restrict near_i;
    const double* __restrict w;
    double* __restrict ploss;
    double acc = 0.0;

    inline __attribute__((always_inline)) void visit(index_t o) {
        const T d = row[o];
        if (!(d < seco_d[o])) return;
        const double dd = double(d), nd = double(near_d[o]), sd = double(seco_d[o]);
        if (d < near_d[o]) {
            acc += w[o] * (dd - nd);
            ploss[near_i[o]] += w[o] * (nd - sd);
        } else {
            ploss[near_i[o]] += w[o] * (dd - sd);
        }
    }
    inline __attribute__((always_inline)) void visit_mask(index_t o0, unsigned mask) {
        while (mask) {
            visit(o0 + __builtin_ctz(mask));
            mask &= mask - 1;
        }
    }
};

template <class T>
using ScanFn = double (*)(CandidateScan<T>&, index_t);

template <class T>
double scan_plain(CandidateScan<T>& s, index_t n) {
    for (index_t o = 0; o < n; ++o) s.visit(o);
    return s.acc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
// One version per instruction set, picked at run time (scan_function below): one wheel runs on
// any x86-64 and uses AVX-512 or AVX2 where the machine has them.
__attribute__((target("avx512f"))) inline double scan_avx512(CandidateScan<double>& s, index_t n) {
    index_t o = 0;
    for (; o + 8 <= n; o += 8) {
        const unsigned m = _mm512_cmp_pd_mask(_mm512_loadu_pd(s.row + o),
                                              _mm512_loadu_pd(s.seco_d + o), _CMP_LT_OQ);
        if (m) s.visit_mask(o, m);
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
__attribute__((target("avx512f"))) inline double scan_avx512(CandidateScan<float>& s, index_t n) {
    index_t o = 0;
    for (; o + 16 <= n; o += 16) {
        const unsigned m = _mm512_cmp_ps_mask(_mm512_loadu_ps(s.row + o),
                                              _mm512_loadu_ps(s.seco_d + o), _CMP_LT_OQ);
        if (m) s.visit_mask(o, m);
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
__attribute__((target("avx2"))) inline double scan_avx2(CandidateScan<double>& s, index_t n) {
    index_t o = 0;
    for (; o + 8 <= n; o += 8) {
        const unsigned lo = unsigned(_mm256_movemask_pd(
            _mm256_cmp_pd(_mm256_loadu_pd(s.row + o), _mm256_loadu_pd(s.seco_d + o), _CMP_LT_OQ)));
        const unsigned hi = unsigned(_mm256_movemask_pd(_mm256_cmp_pd(
            _mm256_loadu_pd(s.row + o + 4), _mm256_loadu_pd(s.seco_d + o + 4), _CMP_LT_OQ)));
        if (lo | hi) s.visit_mask(o, lo | (hi << 4));
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
__attribute__((target("avx2"))) inline double scan_avx2(CandidateScan<float>& s, index_t n) {
    index_t o = 0;
    for (; o + 8 <= n; o += 8) {
        const unsigned m = unsigned(_mm256_movemask_ps(
            _mm256_cmp_ps(_mm256_loadu_ps(s.row + o), _mm256_loadu_ps(s.seco_d + o), _CMP_LT_OQ)));
        if (m) s.visit_mask(o, m);
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
inline double scan_sse2(CandidateScan<double>& s, index_t n) {
    index_t o = 0;
    for (; o + 4 <= n; o += 4) {
        const unsigned lo = unsigned(
            _mm_movemask_pd(_mm_cmplt_pd(_mm_loadu_pd(s.row + o), _mm_loadu_pd(s.seco_d + o))));
        const unsigned hi = unsigned(_mm_movemask_pd(
            _mm_cmplt_pd(_mm_loadu_pd(s.row + o + 2), _mm_loadu_pd(s.seco_d + o + 2))));
        if (lo | hi) s.visit_mask(o, lo | (hi << 2));
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
inline double scan_sse2(CandidateScan<float>& s, index_t n) {
    index_t o = 0;
    for (; o + 4 <= n; o += 4) {
        const unsigned m = unsigned(
            _mm_movemask_ps(_mm_cmplt_ps(_mm_loadu_ps(s.row + o), _mm_loadu_ps(s.seco_d + o))));
        if (m) s.visit_mask(o, m);
    }
    for (; o < n; ++o) s.visit(o);
    return s.acc;
}
template <class T>
ScanFn<T> scan_function() {
    if (__builtin_cpu_supports("avx512f")) return static_cast<ScanFn<T>>(scan_avx512);
    if (__builtin_cpu_supports("avx2")) return static_cast<ScanFn<T>>(scan_avx2);
    return static_cast<ScanFn<T>>(scan_sse2);
}
#else
template <class T>
ScanFn<T> scan_function() {
    return scan_plain<T>;
}
#endif

}  // namespace detail

}  // namespace partita::medoids
