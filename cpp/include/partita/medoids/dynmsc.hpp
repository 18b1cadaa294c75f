// DynMSC: FasterMSC for k = k_max down to k_min, removing one medoid at a time, and the k of
// the highest medoid silhouette (docs/algorithms.md, "DynMSC").
#pragma once

#include <cstdint>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/fastermsc.hpp"

namespace partita::medoids {

struct DynResult {
    Result best;                 // the clustering of the best k (n_iter, n_swaps: all k)
    std::vector<double> losses;  // medoid silhouette for k = k_min .. k_max
};

// Third nearest of point o among all slots but n and s; the first slot scanned, then strict <
// (slot b marks "none yet", as in the reference).
template <class Src, class T = typename Src::value_type>
inline void dyn_rescan_third(const Src& src, const std::vector<index_t>& med, index_t o,
                             std::int32_t n, std::int32_t s, std::int32_t b, std::int32_t& ti,
                             T& td) {
    ti = b, td = T(0);
    for (std::int32_t i = 0; i < std::int32_t(med.size()); ++i) {
        if (i == n || i == s) continue;
        const T d = src.at(o, med[i]);
        if (ti == b || d < td) ti = i, td = d;
    }
}

// Removes slot b: the last slot moves into b, every point's three nearest follow. Returns the
// new loss (docs/algorithms.md, "Removing a medoid").
template <class Src, class T = typename Src::value_type>
double msc_remove(const Src& src, std::vector<index_t>& med, ThreeNearest<T>& s, const double* w,
                  std::int32_t b, int n_threads) {
    const std::int32_t l = std::int32_t(med.size()) - 1;
    med[b] = med[l];
    med.pop_back();
    const index_t n = src.size();
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n > 4096)
    for (index_t o = 0; o < n; ++o) {
        std::int32_t &ni = s.near_i[o], &si = s.seco_i[o], &ti = s.third_i[o];
        T &nd = s.near_d[o], &sd = s.seco_d[o], &td = s.third_d[o];
        auto moved = [&](std::int32_t& i) {
            if (i == l) i = b;
        };
        if (ni == b) {
            moved(si), moved(ti);
            ni = si, nd = sd;
            si = ti, sd = td;
            dyn_rescan_third(src, med, o, ni, si, b, ti, td);
        } else if (si == b) {
            moved(ni), moved(ti);
            si = ti, sd = td;
            dyn_rescan_third(src, med, o, ni, si, b, ti, td);
        } else if (ti == b) {
            moved(ni), moved(si);
            dyn_rescan_third(src, med, o, ni, si, b, ti, td);
        } else {
            moved(ni), moved(si), moved(ti);
        }
    }
    return msc_loss(s, w);
}

// DynMSC from the k_max initial medoids `med` down to k_min >= 2.
template <class Src, class T = typename Src::value_type>
DynResult dynmsc(const Src& src, std::vector<index_t> med, index_t k_min, const double* w,
                 index_t max_iter, int n_threads, InterruptCheck& interrupt) {
    const index_t n = src.size(), k_max = index_t(med.size());
    const double total = weight_total(w, n);
    DynResult out;
    out.losses.assign(k_max - k_min + 1, 0.0);
    double best_value = 0.0;
    bool have_best = false;
    index_t n_iter = 0, n_swaps = 0;
    auto keep = [&](const std::vector<index_t>& m, const std::vector<std::int32_t>& labels,
                    double value, const PassLog& log) {
        n_iter += log.n_iter, n_swaps += log.n_swaps;
        out.losses[index_t(m.size()) - k_min] = value;
        if (!have_best || value > best_value) {  // the first k, then strictly better
            out.best.medoids = m;
            out.best.labels = labels;
            out.best.loss = value;
            out.best.converged = log.converged;
            best_value = value;
            have_best = true;
        }
    };
    if (k_max >= 3) {
        ThreeNearest<T> s(n);
        double loss = msc_assign(src, med, w, s, n_threads);
        std::vector<double> removal(k_max);
        for (index_t k = k_max; k >= std::max<index_t>(3, k_min); --k) {
            removal.resize(k);
            PassLog log =
                fastermsc_passes(src, med, s, removal, w, loss, max_iter, n_threads, interrupt);
            keep(med, s.near_i, msc_value(loss, total), log);
            if (k == k_min) break;
            std::int32_t r = 0;  // the first smallest gain
            for (index_t i = 1; i < k; ++i)
                if (removal[i] < removal[r]) r = std::int32_t(i);
            loss = msc_remove(src, med, s, w, r, n_threads);
        }
    }
    if (k_min <= 2) {
        Result r2 = fastermsc_two(src, std::move(med), w, max_iter, n_threads, interrupt);
        PassLog log;
        log.n_iter = r2.n_iter, log.n_swaps = r2.n_swaps, log.converged = r2.converged;
        keep(r2.medoids, r2.labels, r2.loss, log);
    }
    out.best.n_iter = n_iter;
    out.best.n_swaps = n_swaps;
    return out;
}

}  // namespace partita::medoids
