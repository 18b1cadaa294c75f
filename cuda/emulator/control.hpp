// What the host (the bindings, a test driver) may set in the CUDA emulator; free of the CUDA
// keyword macros of emulator.hpp, so that any C++ file can include it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace partita_emu {

// The order in which the threads of a block run between two synchronisation points, and the
// blocks of a grid: forward, reverse, or shuffled (a new random permutation of the threads at
// every synchronisation point and of the blocks at every launch, drawn from `seed`).
enum class Schedule { forward, reverse, shuffled };
void set_schedule(Schedule s, std::uint64_t seed = 0);
Schedule schedule();

// The device memory the emulator reports (cudaMemGetInfo) and will allocate.
void set_device_memory(std::size_t total_bytes);
std::size_t device_memory();
std::size_t allocated_bytes();

}  // namespace partita_emu
