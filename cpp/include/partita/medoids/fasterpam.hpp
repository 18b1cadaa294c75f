// FasterPAM: eager swaps in candidate order (docs/algorithms.md, "FasterPAM").
#pragma once

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/state.hpp"

namespace partita::medoids {

// Eager swaps in candidate index order. The schedule is always exactly the sequential one, so
// the thread count never changes the result:
//  - stored matrix: a block of upcoming candidates is scored at once against the same state and
//    the first improving one (in index order) is applied, the others discarded. The block grows
//    while no swap is found (late passes) and shrinks back after a swap (the first pass).
//  - on the fly: the distance rows of a block of upcoming points are computed together (the
//    expensive part, in parallel), then scored one by one; a row does not depend on the state,
//    so rows computed before a swap stay valid after it.
template <class Src, class T = typename Src::value_type>
Result fasterpam(const Src& src, std::vector<index_t> med, const double* w, index_t max_iter,
                 int n_threads, InterruptCheck& interrupt) {
    const index_t n = src.size(), k = index_t(med.size());
    if (k == 1) return single_medoid(src, med[0], w, max_iter, n_threads);
    Assignment<T> a = assign(src, med, n_threads, &interrupt);
    double loss = total_deviation(a, w);
    std::vector<double> removal(k);
    removal_loss(a, w, removal);
    index_t last_swap = n, n_swaps = 0, iter = 0;
    bool converged = false;
    std::vector<double> pass_loss;
    std::vector<index_t> pass_swaps;
    auto is_medoid = [&](index_t j) { return med[a.near_i[j]] == j; };

    if constexpr (!Src::stored) {
        const index_t block = row_block<Src>();
        std::vector<T> buffer;
        std::vector<const T*> rows;
        std::vector<index_t> js;
        std::vector<double> ploss(k);
        while (iter < max_iter) {
            ++iter;
            const index_t swaps_before = n_swaps;
            const double loss_before = loss;
            index_t j0 = 0;
            while (j0 < n && j0 != last_swap) {
                // Rows of the next points, up to the end or to the last swap (where the pass
                // stops); a swap inside the block moves the stop behind us.
                const index_t stop = last_swap > j0 ? std::min(n, last_swap) : n;
                const index_t count = std::min(block, stop - j0);
                js.resize(count);
                for (index_t c = 0; c < count; ++c) js[c] = j0 + c;
                gather_rows(src, js.data(), count, buffer, rows);
                for (index_t c = 0; c < count; ++c) {
                    const index_t j = j0 + c;
                    if (is_medoid(j)) continue;
                    const auto [change, b] = score_swap(rows[c], a, w, removal, ploss.data());
                    if (!(change < 0.0)) continue;
                    ++n_swaps;
                    last_swap = j;
                    loss = apply_swap(src, med, a, w, b, j, rows[c], n_threads);
                    removal_loss(a, w, removal);
                }
                j0 += count;
                interrupt();
            }
            pass_loss.push_back(loss);
            pass_swaps.push_back(n_swaps - swaps_before);
            if (n_swaps == swaps_before || loss >= loss_before) {
                converged = true;
                break;
            }
        }
        return finish(src, std::move(med), a, loss, iter, n_swaps, n_threads, converged,
                      std::move(pass_loss), std::move(pass_swaps));
    } else {
        constexpr index_t kParallelScanMin = 4096;
        const index_t max_block = 16 * index_t(n_threads);
        std::vector<double> ploss(std::size_t(max_block) * k);
        std::vector<index_t> cand(max_block);
        std::vector<double> change(max_block);
        std::vector<std::int32_t> slot(max_block);
        // Below a few thousand points a scan takes microseconds, less than waking threads.
        const bool speculate = n_threads > 1 && n >= kParallelScanMin;
        index_t block = speculate ? n_threads : 1;
        while (iter < max_iter) {
            ++iter;
            const index_t swaps_before = n_swaps;
            const double loss_before = loss;
            index_t j = 0;
            while (j < n && j != last_swap) {
                // The next `block` non-medoid candidates, stopping at the last swap (a full
                // cycle without improvement ends the pass).
                index_t m = 0;
                for (; m < block && j < n && j != last_swap; ++j)
                    if (!is_medoid(j)) cand[m++] = j;
                if (m == 0) break;
                if (m == 1) {
                    std::tie(change[0], slot[0]) =
                        score_swap(src.D.row(cand[0]), a, w, removal, ploss.data());
                } else {
#pragma omp parallel for num_threads(n_threads) schedule(static, 1)
                    for (index_t c = 0; c < m; ++c)
                        std::tie(change[c], slot[c]) =
                            score_swap(src.D.row(cand[c]), a, w, removal, ploss.data() + c * k);
                }
                index_t hit = -1;
                for (index_t c = 0; c < m && hit < 0; ++c)
                    if (change[c] < 0.0) hit = c;
                if (hit >= 0) {
                    ++n_swaps;
                    last_swap = cand[hit];
                    loss = apply_swap(src, med, a, w, slot[hit], cand[hit], src.D.row(cand[hit]),
                                      n_threads);
                    removal_loss(a, w, removal);
                    j = cand[hit] + 1;
                    block = speculate ? n_threads : 1;
                } else if (speculate) {
                    block = std::min(block * 2, max_block);
                }
                interrupt();
            }
            pass_loss.push_back(loss);
            pass_swaps.push_back(n_swaps - swaps_before);
            if (n_swaps == swaps_before || loss >= loss_before) {
                converged = true;
                break;
            }
        }
        return finish(src, std::move(med), a, loss, iter, n_swaps, n_threads, converged,
                      std::move(pass_loss), std::move(pass_swaps));
    }
}

}  // namespace partita::medoids
