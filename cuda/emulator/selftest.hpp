// Small kernels with planted bugs (and their correct twins) that the emulator must catch:
// partita._cuda_emulated.selftest and the AddressSanitizer driver run them.
#pragma once

#include <vector>

namespace partita_emu::selftest {

// Sum of x by one block of 256 threads: a shared-memory tree reduction, with or without the
// barrier between its levels (without it, results depend on the thread schedule).
double block_sum(const std::vector<double>& x, bool with_barrier);

// Per-warp sums of x (one block of 64 threads, one value each): with `divergent`, the shuffles
// sit in a branch that only half of each warp takes, with a full-warp mask.
std::vector<double> warp_sums(const std::vector<double>& x, bool divergent);

// As warp_sums, but the two halves of each warp shuffle at two different calls (if / else), each
// with a full-warp mask: the lanes named by a mask are not at the same call.
std::vector<double> warp_sums_split(const std::vector<double>& x);

// Copies x (one value per thread, 64 threads) through shared memory; with `divergent`, the
// barrier sits in a branch only half of the block takes.
std::vector<double> shared_copy(const std::vector<double>& x, bool divergent);

// out[t] = max(x[t - 1], x[t + 1]) (clamped at the ends) for 63 threads through shared memory,
// with or without the barrier between the writes and the reads. Without it, a thread that runs
// before either neighbour still gets the right answer when the other neighbour holds the maximum,
// as on data alternating 2, 1, 2, ...: forward and reverse orders both hide the race, a shuffled
// order finds it.
std::vector<double> neighbour_max(const std::vector<double>& x, bool with_barrier);

// Sum of 0..n-1 staged through 64 KiB of dynamic shared memory (one block of 256 threads); the
// launch asks for more than 48 KiB, which needs cudaFuncSetAttribute first (`set_attribute`).
long long large_shared_sum(bool set_attribute);

// out[b * 64 + t] = x[b * 64 + t] * w[63 - t], by blocks of 64 threads through a shared table
// of the 64 weights; without `every_block` only the first block loads the table (a stale read:
// the other blocks read shared memory no thread of theirs wrote).
std::vector<double> table_scale(const std::vector<double>& x, const std::vector<double>& w,
                                bool every_block);

// Planted misuses the emulator must report: `barrier_sites` has every thread reach a barrier,
// half the block at one __syncthreads and half at another (if / else); `shuffle_source` has the
// lower half-warp, with a mask naming only itself, read lane 20.
double barrier_sites(const std::vector<double>& x);
double shuffle_source(const std::vector<double>& x);

// Writes i to out[i] for i < n (+1 with `past_end`) into an n-entry device buffer: the
// out-of-range write only AddressSanitizer sees. Returns the sum of the n entries.
long long fill_indices(int n, bool past_end);

// Reverses x (64 values) through a 64-entry PARTITA_SHARED array; with `past_end`, one thread
// also writes the entry after the array, which only AddressSanitizer sees. Returns out[0].
double shared_reverse(const std::vector<double>& x, bool past_end);

// Every intrinsic the emulator provides, used correctly (two warps of 32 threads, dynamic shared
// memory, a partial-warp shuffle with a matching mask): one row of results per thread, see
// tests/test_cuda_emulator.py for the expected values.
std::vector<long long> intrinsics();
constexpr int intrinsics_columns = 11;

}  // namespace partita_emu::selftest
