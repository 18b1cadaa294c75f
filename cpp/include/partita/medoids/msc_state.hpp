// What the medoid silhouette optimisers share (docs/algorithms.md, "Medoid silhouette state"):
// every point's three nearest medoids, the removal gains of the medoids, the score of a
// candidate, the update after a swap, and the two-medoid special case. Every sum is formed in
// the reference implementation's order, so unit weights give its losses bit for bit.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/sources.hpp"
#include "partita/medoids/state.hpp"

// Lets GCC turn the selects around the divisions into vector blends; the values are the same.
#if defined(__GNUC__) && !defined(__clang__)
#define PARTITA_SELECTS __attribute__((optimize("no-trapping-math")))
#else
#define PARTITA_SELECTS
#endif

namespace partita::medoids {

// a / b, or 0 when either is 0 (a point on its medoid, or two medoids at one point).
template <class T>
inline double msc_ratio(T a, T b) {
    return (a == T(0) || b == T(0)) ? 0.0 : double(a) / double(b);
}

// Nearest, second and third nearest medoid slot of every point (-1: none yet), as arrays.
template <class T>
struct ThreeNearest {
    std::vector<std::int32_t> near_i, seco_i, third_i;
    std::vector<T> near_d, seco_d, third_d;
    // near/second, second/third and near/third of every point, as msc_removal last saw them.
    std::vector<double> r_ns, r_st, r_nt;
    explicit ThreeNearest(index_t n)
        : near_i(n, 0),
          seco_i(n, -1),
          third_i(n, -1),
          near_d(n, T(0)),
          seco_d(n, T(0)),
          third_d(n, T(0)),
          r_ns(n),
          r_st(n),
          r_nt(n) {}
};

// Weighted sum of near/second ratios, sequential in the point index (the reference's fold).
template <class T>
double msc_loss(const ThreeNearest<T>& s, const double* w) {
    double loss = 0.0;
    for (std::size_t o = 0; o < s.near_d.size(); ++o)
        loss += w[o] * msc_ratio(s.near_d[o], s.seco_d[o]);
    return loss;
}

// The three nearest slots of every point: slots scanned in order with strict <, a medoid always
// its own nearest. Returns the weighted loss.
template <class Src, class T = typename Src::value_type>
double msc_assign(const Src& src, const std::vector<index_t>& med, const double* w,
                  ThreeNearest<T>& s, int n_threads) {
    const index_t n = src.size(), k = index_t(med.size());
    std::vector<T> buffer;
    std::vector<const T*> rows;
    gather_rows(src, med.data(), k, buffer, rows);
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n * k > (1 << 16))
    for (index_t o = 0; o < n; ++o) {
        s.near_i[o] = 0;
        s.near_d[o] = rows[0][o];
        s.seco_i[o] = s.third_i[o] = -1;
        s.seco_d[o] = s.third_d[o] = T(0);
        for (index_t m = 1; m < k; ++m) {
            const T d = rows[m][o];
            if (d < s.near_d[o] || o == med[m]) {
                s.third_i[o] = s.seco_i[o], s.third_d[o] = s.seco_d[o];
                s.seco_i[o] = s.near_i[o], s.seco_d[o] = s.near_d[o];
                s.near_i[o] = std::int32_t(m), s.near_d[o] = d;
            } else if (s.seco_i[o] < 0 || d < s.seco_d[o]) {
                s.third_i[o] = s.seco_i[o], s.third_d[o] = s.seco_d[o];
                s.seco_i[o] = std::int32_t(m), s.seco_d[o] = d;
            } else if (s.third_i[o] < 0 || d < s.third_d[o]) {
                s.third_i[o] = std::int32_t(m), s.third_d[o] = d;
            }
        }
    }
    return msc_loss(s, w);
}

// gain[i]: what removing slot i changes in the loss (negated), for every slot; also caches the
// point ratios the scores use.
template <class T>
void msc_removal(ThreeNearest<T>& s, const double* w, std::vector<double>& gain) {
    std::fill(gain.begin(), gain.end(), 0.0);
    for (std::size_t o = 0; o < s.near_d.size(); ++o) {
        const T dn = s.near_d[o], ds = s.seco_d[o], dt = s.third_d[o];
        const double ns = msc_ratio(dn, ds), st = msc_ratio(ds, dt), nt = msc_ratio(dn, dt);
        s.r_ns[o] = ns, s.r_st[o] = st, s.r_nt[o] = nt;
        gain[s.near_i[o]] += w[o] * (ns - st);
        gain[s.seco_i[o]] += w[o] * (ns - nt);
    }
}

// What point o adds to the shared gain (ta), to its nearest slot's (tn) and to its second's (ts)
// when the candidate at distance `dist` comes in; only called for a point nearer to the
// candidate than to its third medoid (the others add nothing). Each term is the reference's
// expression.
template <class T>
inline void msc_term(const ThreeNearest<T>& s, const double* __restrict w, index_t o, T dist,
                     double& ta, double& tn, double& ts) {
    const T near_plus = s.near_d[o] + dist;  // in T, as the reference adds distances
    const double d = dist, a = s.near_d[o], b = s.seco_d[o], c = s.third_d[o], sum = near_plus;
    // 1 or 0: nearer than the second (cases 1, 2), only nearer than the third (case 3).
    const double m12 = d < b ? 1.0 : 0.0, m3 = (d < c ? 1.0 : 0.0) - m12;
    // x: doj/near when nearer than the nearest, else near/doj.
    const double xn = d < a ? d : a, xd = d < a ? a : d;
    const double x = ((xn == 0.0) | (xd == 0.0)) ? 0.0 : xn / xd;
    // y: second/doj in case 3, else (near + doj)/second.
    const double yn = m3 > 0.0 ? b : sum, yd = m3 > 0.0 ? d : b;
    const double y = ((yn == 0.0) | (yd == 0.0)) ? 0.0 : yn / yd;
    const double wo = w[o], ns = s.r_ns[o], st = s.r_st[o], nt = s.r_nt[o];
    ta = m12 * (wo * (ns - x));
    tn = m12 * (wo * (x + st - y)) + m3 * (wo * (st - y));
    ts = m12 * (wo * (nt - ns)) + m3 * (wo * (nt - x));
}

// The points nearer to the candidate (row `row`) than to their third medoid, in point order,
// into `list`; returns their count. Branch-free.
template <class T>
inline index_t msc_survivors(const T* __restrict row, const T* __restrict td, index_t n,
                             std::int32_t* __restrict list) {
    index_t count = 0;
    for (index_t o = 0; o < n; ++o) {
        list[count] = std::int32_t(o);
        count += row[o] < td[o];
    }
    return count;
}

// Best slot to give to the candidate whose distance row is `row`, and the gain (> 0 improves)
// of that swap (docs/algorithms.md, "Scoring a medoid silhouette swap"). k >= 3; `scratch`
// holds msc_scratch(n, k) doubles. The terms are summed in point order, as the reference does.
// Only the few points nearer to the candidate than to their third medoid add anything: they
// are listed first, and only their terms computed.
template <class T>
std::pair<double, std::int32_t> msc_score(const T* row, const ThreeNearest<T>& s, const double* w,
                                          const std::vector<double>& removal, double* scratch) {
    const index_t n = index_t(s.near_d.size()), k = index_t(removal.size());
    double* ploss = scratch;
    for (index_t i = 0; i < k; ++i) ploss[i] = removal[i];
    thread_local std::vector<std::int32_t> idx;
    idx.resize(n);
    const index_t count = msc_survivors(row, s.third_d.data(), n, idx.data());
    const std::int32_t* ni = s.near_i.data();
    const std::int32_t* si = s.seco_i.data();
    double acc = 0.0;
    for (index_t c = 0; c < count; ++c) {
        const std::int32_t o = idx[c];
        double ta, tn, ts;
        msc_term(s, w, o, row[o], ta, tn, ts);
        acc += ta;
        ploss[ni[o]] += tn;
        ploss[si[o]] += ts;
    }
    std::int32_t b = 0;  // the first largest
    for (index_t i = 1; i < k; ++i)
        if (ploss[i] > ploss[b]) b = std::int32_t(i);
    return {ploss[b] + acc, b};
}

// Scratch doubles one candidate's score needs.
inline index_t msc_scratch(index_t /*n*/, index_t k) { return k; }

// Candidates whose sums msc_score_many interleaves.
inline constexpr index_t msc_score_ways = 4;

// msc_score for m candidates at once, on one thread: each candidate's terms are summed in its
// own point order, but the sums of up to four candidates are interleaved, so that additions to
// the same slot (of one candidate) do not wait on each other. `scratch` holds
// msc_score_ways * msc_scratch(n, k) doubles.
template <class T>
void msc_score_many(const T* const* rows, index_t m, const ThreeNearest<T>& s, const double* w,
                    const std::vector<double>& removal, double* scratch,
                    std::pair<double, std::int32_t>* out) {
    constexpr index_t kWays = msc_score_ways;
    const index_t n = index_t(s.near_d.size()), k = index_t(removal.size());
    const index_t stride = msc_scratch(n, k);
    thread_local std::vector<std::int32_t> idx;
    idx.resize(std::size_t(kWays) * n);
    const T* td = s.third_d.data();
    const std::int32_t* ni = s.near_i.data();
    const std::int32_t* si = s.seco_i.data();
    for (index_t c0 = 0; c0 < m; c0 += kWays) {
        const index_t ways = std::min(kWays, m - c0);
        index_t count[kWays] = {0, 0, 0, 0}, longest = 0;
        double acc[kWays] = {0.0, 0.0, 0.0, 0.0};
        double* ploss[kWays];
        for (index_t b = 0; b < ways; ++b) {
            ploss[b] = scratch + b * stride;
            for (index_t i = 0; i < k; ++i) ploss[b][i] = removal[i];
            count[b] = msc_survivors(rows[c0 + b], td, n, &idx[b * n]);
            longest = std::max(longest, count[b]);
        }
        for (index_t c = 0; c < longest; ++c) {
            for (index_t b = 0; b < ways; ++b) {
                if (c >= count[b]) continue;
                const std::int32_t o = idx[b * n + c];
                double ta, tn, ts;
                msc_term(s, w, o, rows[c0 + b][o], ta, tn, ts);
                acc[b] += ta;
                ploss[b][ni[o]] += tn;
                ploss[b][si[o]] += ts;
            }
        }
        for (index_t b = 0; b < ways; ++b) {
            std::int32_t best = 0;  // the first largest
            for (index_t i = 1; i < k; ++i)
                if (ploss[b][i] > ploss[b][best]) best = std::int32_t(i);
            out[c0 + b] = {ploss[b][best] + acc[b], best};
        }
    }
}

// Third nearest slot of point o among all slots but n, s and b, seeded with (b, d).
template <class Src, class T = typename Src::value_type>
inline void msc_rescan_third(const Src& src, const std::vector<index_t>& med, index_t o,
                             std::int32_t n, std::int32_t s, std::int32_t b, T d, std::int32_t& ti,
                             T& td) {
    ti = b, td = d;
    for (std::int32_t i = 0; i < std::int32_t(med.size()); ++i) {
        if (i == n || i == b || i == s) continue;
        const T di = src.at(o, med[i]);
        if (di < td) ti = i, td = di;
    }
}

// Replaces the medoid of slot b by point j (distance row `row`) and updates every point's three
// nearest (docs/algorithms.md, "Applying a medoid silhouette swap"). Returns the new loss.
template <class Src, class T = typename Src::value_type>
double msc_apply(const Src& src, std::vector<index_t>& med, ThreeNearest<T>& s, const double* w,
                 std::int32_t b, index_t j, const T* row, int n_threads) {
    med[b] = j;
    const index_t n = src.size();
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n > 4096)
    for (index_t o = 0; o < n; ++o) {
        std::int32_t &ni = s.near_i[o], &si = s.seco_i[o], &ti = s.third_i[o];
        T &nd = s.near_d[o], &sd = s.seco_d[o], &td = s.third_d[o];
        if (o == j) {
            if (ni != b) {
                if (si != b) ti = si, td = sd;
                si = ni, sd = nd;
            }
            ni = b, nd = T(0);
            continue;
        }
        const T d = row[o];
        if (ni == b) {  // the nearest medoid was replaced
            if (d < sd) {
                nd = d;
            } else if (ti < 0 || d < td) {
                ni = si, nd = sd;
                si = b, sd = d;
            } else {
                ni = si, nd = sd;
                si = ti, sd = td;
                msc_rescan_third(src, med, o, ni, si, b, d, ti, td);
            }
        } else if (si == b) {  // the second nearest was replaced
            if (d < nd) {
                si = ni, sd = nd;
                ni = b, nd = d;
            } else if (ti < 0 || d < td) {
                sd = d;
            } else {
                si = ti, sd = td;
                msc_rescan_third(src, med, o, ni, si, b, d, ti, td);
            }
        } else if (d < nd) {
            ti = si, td = sd;
            si = ni, sd = nd;
            ni = b, nd = d;
        } else if (d < sd) {
            ti = si, td = sd;
            si = b, sd = d;
        } else if (ti < 0 || d < td) {
            ti = b, td = d;
        } else if (ti == b) {  // the third nearest was replaced
            msc_rescan_third(src, med, o, ni, si, b, d, ti, td);
        }
    }
    return msc_loss(s, w);
}

// k = 2: both distances of every point by slot, and its slot (docs/algorithms.md, "Two medoids").
template <class T>
struct TwoMedoids {
    std::vector<T> d0, d1;
    std::vector<std::int32_t> label;
    explicit TwoMedoids(index_t n) : d0(n), d1(n), label(n) {}
};

template <class Src, class T = typename Src::value_type>
double msc2_assign(const Src& src, const std::vector<index_t>& med, const double* w,
                   TwoMedoids<T>& s) {
    const index_t n = src.size();
    std::vector<T> buffer;
    std::vector<const T*> rows;
    gather_rows(src, med.data(), 2, buffer, rows);
    double loss = 0.0;
    for (index_t o = 0; o < n; ++o) {
        const T a = rows[0][o], b = rows[1][o];
        s.d0[o] = a, s.d1[o] = b;
        s.label[o] = a < b ? 0 : 1;  // ties to slot 1, as the reference
        loss += w[o] * (a < b ? msc_ratio(a, b) : msc_ratio(b, a));
    }
    return loss;
}

// The loss after giving slot 0 or slot 1 to the candidate with row `row`: the better slot and
// its loss (the first on ties). The terms are formed branch-free into `scratch` (2n doubles),
// then summed in point order.
template <class T>
PARTITA_MULTIVERSION PARTITA_SELECTS void msc2_terms(const T* __restrict row,
                                                     const T* __restrict d0, const T* __restrict d1,
                                                     const double* __restrict w, index_t n,
                                                     double* __restrict t0, double* __restrict t1) {
    for (index_t o = 0; o < n; ++o) {
        const double d = row[o], a = d0[o], b = d1[o];
        const double n0 = d < b ? d : b, q0 = d < b ? b : d;
        const double n1 = d < a ? d : a, q1 = d < a ? a : d;
        const double r0 = n0 / q0, r1 = n1 / q1;
        t0[o] = w[o] * (((n0 == 0.0) | (q0 == 0.0)) ? 0.0 : r0);
        t1[o] = w[o] * (((n1 == 0.0) | (q1 == 0.0)) ? 0.0 : r1);
    }
}

template <class T>
std::pair<double, std::int32_t> msc2_score(const T* row, const TwoMedoids<T>& s, const double* w,
                                           double* scratch) {
    const index_t n = index_t(s.d0.size());
    msc2_terms(row, s.d0.data(), s.d1.data(), w, n, scratch, scratch + n);
    double p0 = 0.0, p1 = 0.0;
    for (index_t o = 0; o < n; ++o) p0 += scratch[o], p1 += scratch[n + o];
    return p1 < p0 ? std::pair<double, std::int32_t>{p1, 1}
                   : std::pair<double, std::int32_t>{p0, 0};
}

template <class T>
double msc2_apply(std::vector<index_t>& med, TwoMedoids<T>& s, const double* w, std::int32_t b,
                  index_t j, const T* row) {
    med[b] = j;
    const index_t n = index_t(s.d0.size());
    double loss = 0.0;
    for (index_t o = 0; o < n; ++o) {
        T& mine = b == 0 ? s.d0[o] : s.d1[o];
        const T other = b == 0 ? s.d1[o] : s.d0[o];
        if (o == j) {
            s.label[o] = b;
            mine = T(0);
            continue;  // adds 0
        }
        const T d = row[o];
        mine = d;
        if (d < other || (d == other && s.label[o] == b)) {
            s.label[o] = b;
            loss += w[o] * msc_ratio(d, other);
        } else {
            s.label[o] = 1 - b;
            loss += w[o] * msc_ratio(other, d);
        }
    }
    return loss;
}

// The medoid silhouette from the loss: 1 - loss / total weight.
inline double msc_value(double loss, double total_weight) { return 1.0 - loss / total_weight; }

}  // namespace partita::medoids
