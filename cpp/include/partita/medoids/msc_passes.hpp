// The two swap schedules of the medoid silhouette optimisers over a distance source: eager
// passes in candidate order (FasterMSC, DynMSC) and one best swap per iteration (FastMSC).
// Candidates are scored in parallel against the same state and chosen in index order, so the
// schedule, and the result, are the sequential ones on any number of threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/sources.hpp"

namespace partita::medoids {

// Candidates scored together on one thread from a stored matrix.
inline constexpr index_t kSerialBlock = 4;

struct PassLog {
    index_t n_iter = 0, n_swaps = 0;
    bool converged = false;
    std::vector<double> pass_loss;
    std::vector<index_t> pass_swaps;
};

// Eager passes (docs/algorithms.md, "FasterMSC"): in every pass the points are visited in index
// order, stopping at the last one swapped in; a non-medoid whose score improves is swapped in
// at once. Stops after a pass without swaps or without a lower loss, or after max_iter passes.
//   is_medoid(j), score(row, t) -> (value, slot) with t the scoring thread (scratch index),
//   score_many(rows, m, out): m candidates on this thread, improves(value),
//   apply(slot, j, row) -> new loss.
template <class Src, class IsMedoid, class Score, class ScoreMany, class Improves, class Apply,
          class T = typename Src::value_type>
PassLog eager_passes(const Src& src, double& loss, index_t max_iter, int n_threads,
                     InterruptCheck& interrupt, IsMedoid is_medoid, Score score,
                     ScoreMany score_many, Improves improves, Apply apply, index_t max_block) {
    const index_t n = src.size();
    PassLog log;
    index_t last_swap = n;
    // A stored matrix scores a few candidates at a time on one thread; otherwise a block at
    // once, grown while nothing is found (late passes), reset after a swap.
    const bool parallel = n_threads > 1 && n >= 4096;
    const index_t base = Src::stored ? (parallel ? n_threads : kSerialBlock) : max_block;
    index_t block = base;
    std::vector<T> buffer;
    std::vector<const T*> rows;
    std::vector<index_t> js, cand(max_block);
    std::vector<const T*> cand_rows(max_block);
    std::vector<std::pair<double, std::int32_t>> scored(max_block);
    while (log.n_iter < max_iter) {
        ++log.n_iter;
        const index_t swaps_before = log.n_swaps;
        const double loss_before = loss;
        index_t j = 0;
        while (j < n && j != last_swap) {
            const index_t stop = last_swap > j ? std::min(n, last_swap) : n;
            const index_t count = std::min(block, stop - j);
            js.resize(count);
            for (index_t c = 0; c < count; ++c) js[c] = j + c;
            gather_rows(src, js.data(), count, buffer, rows);
            bool swapped = false;
            for (index_t p = j, end = j + count; p < end;) {
                index_t m = 0;
                for (index_t q = p; q < end; ++q)
                    if (!is_medoid(q)) cand[m++] = q;
                if (m == 0) break;
                if (parallel && m > 1) {
#pragma omp parallel for num_threads(n_threads) schedule(static, 1)
                    for (index_t c = 0; c < m; ++c)
                        scored[c] = score(rows[cand[c] - j], omp_get_thread_num());
                } else {
                    for (index_t c = 0; c < m; ++c) cand_rows[c] = rows[cand[c] - j];
                    score_many(cand_rows.data(), m, scored.data());
                }
                index_t hit = -1;
                for (index_t c = 0; c < m && hit < 0; ++c)
                    if (improves(scored[c].first)) hit = c;
                if (hit < 0) break;
                ++log.n_swaps;
                last_swap = cand[hit];
                loss = apply(scored[hit].second, cand[hit], rows[cand[hit] - j]);
                swapped = true;
                p = cand[hit] + 1;
            }
            j += count;
            if (Src::stored && parallel) block = swapped ? base : std::min(block * 2, max_block);
            interrupt();
        }
        log.pass_loss.push_back(loss);
        log.pass_swaps.push_back(log.n_swaps - swaps_before);
        if (log.n_swaps == swaps_before || loss >= loss_before) {
            log.converged = true;
            break;
        }
    }
    return log;
}

// The most candidates an eager schedule scores at once.
template <class Src>
index_t eager_block(int n_threads) {
    return Src::stored ? std::max<index_t>(16 * index_t(n_threads), kSerialBlock)
                       : std::max<index_t>(row_block<Src>(), n_threads);
}

// Scores every non-medoid against the same state, in parallel, into `scored` (index order):
// score(row, j, thread) -> (value, slot).
template <class Src, class IsMedoid, class Score, class T = typename Src::value_type>
void score_all(const Src& src, int n_threads, InterruptCheck& interrupt, IsMedoid is_medoid,
               Score score, std::vector<std::pair<double, std::int32_t>>& scored,
               std::vector<char>& valid) {
    const index_t n = src.size();
    scored.resize(n);
    valid.assign(n, 0);
    const index_t block = Src::stored ? std::max<index_t>(n, 1) : row_block<Src>();
    std::vector<T> buffer;
    std::vector<const T*> rows;
    std::vector<index_t> js;
    for (index_t j0 = 0; j0 < n; j0 += block) {
        const index_t count = std::min(block, n - j0);
        js.resize(count);
        for (index_t c = 0; c < count; ++c) js[c] = j0 + c;
        gather_rows(src, js.data(), count, buffer, rows);
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 16) if (n > 256)
        for (index_t c = 0; c < count; ++c) {
            const index_t jj = j0 + c;
            if (is_medoid(jj)) continue;
            scored[jj] = score(rows[c], jj, omp_get_thread_num());
            valid[jj] = 1;
        }
        interrupt();
    }
}

}  // namespace partita::medoids
