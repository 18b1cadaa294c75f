// Alternate (Voronoi iteration): each medoid replaced by the best medoid of its own cluster, then
// every point reassigned (docs/algorithms.md, "Alternate").
#pragma once

#include <algorithm>
#include <atomic>
#include <vector>

#include "partita/medoids/state.hpp"

namespace partita::medoids {

template <class Src, class T = typename Src::value_type>
Result alternate(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
                 int n_threads, InterruptCheck& interrupt) {
    const index_t n = src.size(), k = index_t(med.size());
    Assignment<T> a = assign(src, med, n_threads, &interrupt);
    double loss = total_deviation(a, w);
    index_t iter = 0, n_swaps = 0;
    bool converged = false;
    std::vector<double> pass_loss;
    std::vector<index_t> pass_swaps;
    std::vector<std::vector<index_t>> members(k);
    while (iter < max_iter) {
        ++iter;
        for (auto& m : members) m.clear();
        for (index_t o = 0; o < n; ++o) members[a.near_i[o]].push_back(o);
        std::vector<char> changed(k, 0);
        std::atomic<bool> stop{false};
        // Clusters are independent; inside one the scan is sequential, so the result does not
        // depend on the thread count. A large cluster on the fly takes seconds: Ctrl-C is polled
        // per candidate.
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
        for (index_t c = 0; c < k; ++c) {
            const auto& mem = members[c];
            auto cost = [&](index_t j) {
                double s = 0.0;
                for (index_t o : mem)
                    if (o != j) s += w[o] * double(src.at(j, o));
                return s;
            };
            const index_t first = med[c];
            index_t best = first;
            double best_cost = cost(first);
            for (index_t j : mem) {
                if (stop_requested(stop, interrupt)) break;
                if (j == first) continue;
                const double cj = cost(j);
                if (cj < best_cost) {
                    best_cost = cj;
                    best = j;
                }
            }
            changed[c] = best != first;
            med[c] = best;
        }
        if (stop) throw Interrupted();
        const index_t n_changed = std::count(changed.begin(), changed.end(), 1);
        if (n_changed == 0) {
            converged = true;
            pass_loss.push_back(loss);
            pass_swaps.push_back(0);
            break;
        }
        n_swaps += n_changed;
        a = assign(src, med, n_threads, &interrupt);
        loss = total_deviation(a, w);
        pass_loss.push_back(loss);
        pass_swaps.push_back(n_changed);
        interrupt();
    }
    return finish(src, std::move(med), a, loss, iter, n_swaps, n_threads, converged,
                  std::move(pass_loss), std::move(pass_swaps));
}

}  // namespace partita::medoids
