// PAMSIL: the best swap by the exact silhouette (docs/algorithms.md, "PAMSIL"). O(k n^3) per
// swap: for reference and small data only.
#pragma once

#include <cstdint>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/fastermsc.hpp"
#include "partita/medoids/silhouette.hpp"

namespace partita::medoids {

// Every point's nearest slot: the lowest on ties, a medoid always its own.
template <class Src>
void pamsil_assign(const Src& src, const std::vector<index_t>& med,
                   std::vector<std::int32_t>& label) {
    const index_t n = src.size(), k = index_t(med.size());
    for (index_t o = 0; o < n; ++o) {
        std::int32_t b = 0;
        auto bd = src.at(o, med[0]);
        for (index_t m = 1; m < k; ++m) {
            const auto d = src.at(o, med[m]);
            if (d < bd || o == med[m]) b = std::int32_t(m), bd = d;
        }
        label[o] = b;
    }
}

// Whether j is the medoid of a slot other than m.
inline bool holds_elsewhere(const std::vector<index_t>& med, index_t m, index_t j) {
    for (index_t q = 0; q < index_t(med.size()); ++q)
        if (q != m && med[q] == j) return true;
    return false;
}

template <class Src>
Result pamsil(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
              int n_threads, InterruptCheck& interrupt) {
    const index_t n = src.size(), k = index_t(med.size());
    if (k == 1) return msc_single(src, med[0], w, max_iter, n_threads);
    std::vector<std::int32_t> label(n);
    auto score = [&] {
        pamsil_assign(src, med, label);
        return silhouette(src, label.data(), k, w, false, n_threads, interrupt).mean;
    };
    double sil = score();
    PassLog log;
    bool stopped = false;
    while (log.n_iter < max_iter) {
        ++log.n_iter;
        double best = 0.0;
        index_t best_m = -1, best_j = -1;
        for (index_t m = 0; m < k; ++m) {
            const index_t incumbent = med[m];
            // Skip every current medoid: the last trial's labels are stale after a swap, and
            // reading them let a medoid of another slot be tried here (duplicate medoids).
            for (index_t j = 0; j < n; ++j) {
                if (j == incumbent || holds_elsewhere(med, m, j)) continue;
                med[m] = j;
                const double trial = score();
                if (trial > best) best = trial, best_m = m, best_j = j;
            }
            med[m] = incumbent;
        }
        if (!(best > sil)) {
            stopped = true;
            break;
        }
        ++log.n_swaps;
        med[best_m] = best_j;
        sil = best;
        log.pass_loss.push_back(sil);
        log.pass_swaps.push_back(1);
    }
    log.converged = stopped;
    pamsil_assign(src, med, label);
    Result r;
    r.medoids = std::move(med);
    r.labels = std::move(label);
    r.loss = sil;
    r.n_iter = log.n_iter;
    r.n_swaps = log.n_swaps;
    r.converged = log.converged;
    r.pass_loss = std::move(log.pass_loss);
    r.pass_swaps = std::move(log.pass_swaps);
    return r;
}

}  // namespace partita::medoids
