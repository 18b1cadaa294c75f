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
    explicit ThreeNearest(index_t n)
        : near_i(n, 0),
          seco_i(n, -1),
          third_i(n, -1),
          near_d(n, T(0)),
          seco_d(n, T(0)),
          third_d(n, T(0)) {}
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

// gain[i]: what removing slot i changes in the loss (negated), for every slot.
template <class T>
void msc_removal(const ThreeNearest<T>& s, const double* w, std::vector<double>& gain) {
    std::fill(gain.begin(), gain.end(), 0.0);
    for (std::size_t o = 0; o < s.near_d.size(); ++o) {
        const T dn = s.near_d[o], ds = s.seco_d[o], dt = s.third_d[o];
        gain[s.near_i[o]] += w[o] * (msc_ratio(dn, ds) - msc_ratio(ds, dt));
        gain[s.seco_i[o]] += w[o] * (msc_ratio(dn, ds) - msc_ratio(dn, dt));
    }
}

// Best slot to give to the candidate whose distance row is `row`, and the gain (> 0 improves)
// of that swap (docs/algorithms.md, "Scoring a medoid silhouette swap"). k >= 3; `ploss` holds
// k doubles of scratch. Points farther than their third medoid change nothing and are skipped
// a block at a time.
template <class T>
PARTITA_MULTIVERSION std::pair<double, std::int32_t> msc_score(const T* __restrict row,
                                                               const ThreeNearest<T>& s,
                                                               const double* __restrict w,
                                                               const std::vector<double>& removal,
                                                               double* __restrict ploss) {
    const index_t n = index_t(s.near_d.size()), k = index_t(removal.size());
    for (index_t i = 0; i < k; ++i) ploss[i] = removal[i];
    const T* __restrict third = s.third_d.data();
    double acc = 0.0;
    constexpr index_t kBlock = 16;
    for (index_t o0 = 0; o0 < n; o0 += kBlock) {
        const index_t o1 = std::min(n, o0 + kBlock);
        bool any = false;
        for (index_t o = o0; o < o1; ++o) any |= row[o] < third[o];
        if (!any) continue;
        for (index_t o = o0; o < o1; ++o) {
            const T doj = row[o];
            if (!(doj < third[o])) continue;
            const T dn = s.near_d[o], ds = s.seco_d[o], dt = third[o];
            const double wo = w[o];
            if (doj < dn) {
                acc += wo * (msc_ratio(dn, ds) - msc_ratio(doj, dn));
                ploss[s.near_i[o]] +=
                    wo * (msc_ratio(doj, dn) + msc_ratio(ds, dt) - msc_ratio(T(dn + doj), ds));
                ploss[s.seco_i[o]] += wo * (msc_ratio(dn, dt) - msc_ratio(dn, ds));
            } else if (doj < ds) {
                acc += wo * (msc_ratio(dn, ds) - msc_ratio(dn, doj));
                ploss[s.near_i[o]] +=
                    wo * (msc_ratio(dn, doj) + msc_ratio(ds, dt) - msc_ratio(T(dn + doj), ds));
                ploss[s.seco_i[o]] += wo * (msc_ratio(dn, dt) - msc_ratio(dn, ds));
            } else {
                ploss[s.near_i[o]] += wo * (msc_ratio(ds, dt) - msc_ratio(ds, doj));
                ploss[s.seco_i[o]] += wo * (msc_ratio(dn, dt) - msc_ratio(dn, doj));
            }
        }
    }
    std::int32_t b = 0;  // the first largest
    for (index_t i = 1; i < k; ++i)
        if (ploss[i] > ploss[b]) b = std::int32_t(i);
    return {ploss[b] + acc, b};
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
// its loss (the first on ties).
template <class T>
PARTITA_MULTIVERSION std::pair<double, std::int32_t> msc2_score(const T* __restrict row,
                                                                const TwoMedoids<T>& s,
                                                                const double* __restrict w) {
    double p0 = 0.0, p1 = 0.0;
    const index_t n = index_t(s.d0.size());
    for (index_t o = 0; o < n; ++o) {
        const T d = row[o], a = s.d0[o], b = s.d1[o];
        p0 += w[o] * (d < b ? msc_ratio(d, b) : msc_ratio(b, d));
        p1 += w[o] * (d < a ? msc_ratio(d, a) : msc_ratio(a, d));
    }
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
