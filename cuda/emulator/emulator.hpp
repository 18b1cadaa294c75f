// A CPU emulator of CUDA thread blocks, so that the kernels of cuda/src/*.cu compile with a host
// C++ compiler and run (slowly) on machines without a GPU, with checks that a GPU would not do.
//
// Every thread of a block is a fiber (ucontext) with a small stack; the blocks of a grid run one
// after another. A fiber runs until it reaches a barrier, a warp collective (*_sync) or its end;
// when no fiber can run, the waiting collectives are checked and released:
//   - __syncthreads must be reached by every thread of the block at the same call;
//   - a warp collective's mask must name only threads waiting at that same call, with that mask.
// Fibers run between two synchronisation points in forward, reverse or shuffled (seeded random)
// thread order, and the blocks of a grid likewise (the schedule): a kernel missing a barrier
// reads shared memory before or after it is written, and its results differ between schedules.
// Forward order exposes a thread that reads what a higher-numbered thread has yet to write (a
// tree reduction without its barrier), reverse order the converse, shuffled order also a thread
// that reads both sides when either fresh side would hide the race; the tests run all three.
// Shared memory, static (PARTITA_SHARED) or dynamic, is exact-size heap memory of the block,
// filled with 0xff bytes (NaN for floats, -1 for integers) before every block: a read of an
// element no thread of the block wrote, or a stale read after a missing barrier, gets garbage as
// on a GPU (never the previous block's values). A bare __shared__ does not compile here. Device
// memory is exact-size host memory too, so an AddressSanitizer build reports out-of-range
// accesses. A fault throws partita_emu::Fault, which names the kernel, the block and the thread.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#ifndef PARTITA_CUDA_EMULATOR
#define PARTITA_CUDA_EMULATOR 1
#endif

#include "control.hpp"

// ---- CUDA keywords on the host ------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __restrict__ __restrict
// Static shared arrays are declared with PARTITA_SHARED (below), poisoned per block.
#define __shared__                                                                                 \
    static_assert(false,                                                                           \
                  "bare __shared__: declare shared arrays with PARTITA_SHARED "                    \
                  "(cuda/README.md)");
#define __constant__ static
#define __launch_bounds__(...)

struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

// The running fiber's coordinates, set by the scheduler at every switch.
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;
constexpr int warpSize = 32;

namespace partita_emu {

// A kernel bug (or misuse) found by the emulator.
struct Fault : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class Op { syncwarp, shfl_idx, shfl_up, shfl_down, shfl_xor, ballot, any, all };

struct Site {
    const char* file;
    int line;
};

// Blocks the calling fiber at a barrier / collective; returns the collective's result.
void sync_block(Site site);
std::uint64_t warp_collective(Site site, Op op, unsigned mask, std::uint64_t value, int arg,
                              int width);
unsigned active_mask();
// Dynamic shared memory of the running block (exact size, filled with 0xff bytes).
void* dynamic_shared();
// The running block's copy of the static shared array declared at `site`: `bytes` of heap memory,
// filled with 0xff bytes when the block's first thread reaches the declaration, freed at its end.
void* static_shared(const void* site, std::size_t bytes);
template <class Array>
Array& shared_array(const void* site) {
    static_assert(alignof(Array) <= alignof(std::max_align_t), "over-aligned shared array");
    return *static_cast<Array*>(static_shared(site, sizeof(Array)));
}
// Raises a Fault naming the running kernel, block and thread (e.g. from an assert).
[[noreturn]] void fail(const std::string& what);

template <class T>
std::uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
    std::uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}
template <class T>
T from_bits(std::uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
}

template <class T>
T shfl(Site s, Op op, unsigned mask, T v, int arg, int width) {
    return from_bits<T>(warp_collective(s, op, mask, to_bits(v), arg, width));
}

// Runs `body` (the kernel call) on every thread of every block of the grid.
struct KernelBody {
    virtual void run() = 0;
    virtual ~KernelBody() = default;
};
// `kernel` identifies the kernel for its attributes (cudaFuncSetAttribute).
using KernelId = void (*)();
void run_grid(const char* name, KernelId kernel, dim3 grid, dim3 block, std::size_t shmem,
              KernelBody& body);

template <class... P>
struct Launch {
    const char* name;
    void (*kernel)(P...);
    dim3 grid, block;
    std::size_t shmem;

    template <class... A>
    void operator()(A&&... a) const {
        struct Body : KernelBody {
            void (*k)(P...);
            std::tuple<P...> args;
            Body(void (*k_)(P...), A&&... a_) : k(k_), args(std::forward<A>(a_)...) {}
            void run() override { std::apply(k, args); }  // each thread gets its own copies
        } body(kernel, std::forward<A>(a)...);
        run_grid(name, reinterpret_cast<KernelId>(kernel), grid, block, shmem, body);
    }
};

template <class... P, class Stream>
Launch<P...> launcher(const char* name, void (*kernel)(P...), dim3 grid, dim3 block,
                      std::size_t shmem, Stream) {
    return Launch<P...>{name, kernel, grid, block, shmem};
}

}  // namespace partita_emu

#define PARTITA_EMU_SITE (::partita_emu::Site{__FILE__, __LINE__})

// ---- synchronisation and warp intrinsics --------------------------------------------------------
#define __syncthreads() ::partita_emu::sync_block(PARTITA_EMU_SITE)
#define __syncwarp(...)                                                                            \
    ((void)::partita_emu::warp_collective(PARTITA_EMU_SITE, ::partita_emu::Op::syncwarp,           \
                                          ::partita_emu::detail_mask(__VA_ARGS__), 0, 0, 32))
#define __shfl_sync(mask, v, lane, ...)                                                            \
    ::partita_emu::shfl(PARTITA_EMU_SITE, ::partita_emu::Op::shfl_idx, mask, v, lane,              \
                        ::partita_emu::detail_width(__VA_ARGS__))
#define __shfl_up_sync(mask, v, delta, ...)                                                        \
    ::partita_emu::shfl(PARTITA_EMU_SITE, ::partita_emu::Op::shfl_up, mask, v, delta,              \
                        ::partita_emu::detail_width(__VA_ARGS__))
#define __shfl_down_sync(mask, v, delta, ...)                                                      \
    ::partita_emu::shfl(PARTITA_EMU_SITE, ::partita_emu::Op::shfl_down, mask, v, delta,            \
                        ::partita_emu::detail_width(__VA_ARGS__))
#define __shfl_xor_sync(mask, v, lanemask, ...)                                                    \
    ::partita_emu::shfl(PARTITA_EMU_SITE, ::partita_emu::Op::shfl_xor, mask, v, lanemask,          \
                        ::partita_emu::detail_width(__VA_ARGS__))
#define __ballot_sync(mask, pred)                                                                  \
    unsigned(::partita_emu::warp_collective(PARTITA_EMU_SITE, ::partita_emu::Op::ballot, mask,     \
                                            (pred) ? 1 : 0, 0, 32))
#define __any_sync(mask, pred)                                                                     \
    int(::partita_emu::warp_collective(PARTITA_EMU_SITE, ::partita_emu::Op::any, mask,             \
                                       (pred) ? 1 : 0, 0, 32))
#define __all_sync(mask, pred)                                                                     \
    int(::partita_emu::warp_collective(PARTITA_EMU_SITE, ::partita_emu::Op::all, mask,             \
                                       (pred) ? 1 : 0, 0, 32))
#define __activemask() ::partita_emu::active_mask()

namespace partita_emu {
constexpr unsigned detail_mask() { return 0xffffffffu; }
constexpr unsigned detail_mask(unsigned m) { return m; }
constexpr int detail_width() { return 32; }
constexpr int detail_width(int w) { return w; }
}  // namespace partita_emu

namespace partita_emu {
template <class T>
struct same {
    using type = T;
};
}  // namespace partita_emu

// ---- atomics: fibers switch only at synchronisation points, so a plain update is atomic -------
template <class T>
inline T atomicAdd(T* p, typename partita_emu::same<T>::type v) {
    T old = *p;
    *p = old + v;
    return old;
}
template <class T>
inline T atomicSub(T* p, typename partita_emu::same<T>::type v) {
    T old = *p;
    *p = old - v;
    return old;
}
template <class T>
inline T atomicMin(T* p, typename partita_emu::same<T>::type v) {
    T old = *p;
    if (v < old) *p = v;
    return old;
}
template <class T>
inline T atomicMax(T* p, typename partita_emu::same<T>::type v) {
    T old = *p;
    if (old < v) *p = v;
    return old;
}
template <class T>
inline T atomicExch(T* p, typename partita_emu::same<T>::type v) {
    T old = *p;
    *p = v;
    return old;
}
template <class T>
inline T atomicCAS(T* p, typename partita_emu::same<T>::type compare,
                   typename partita_emu::same<T>::type v) {
    T old = *p;
    if (old == compare) *p = v;
    return old;
}

// ---- device functions CUDA provides
// --------------------------------------------------------------
template <class T>
inline T __ldg(const T* p) {
    return *p;
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(unsigned x) { return __builtin_ffs(int(x)); }
inline int __clz(unsigned x) { return x ? __builtin_clz(x) : 32; }
inline void __threadfence() {}
inline void __threadfence_block() {}

// ---- the kernel-launch shim (kernel<<<grid, block, shmem, stream>>> under nvcc)
// ------------------
#define PARTITA_LAUNCH(kernel, grid, block, shmem, stream)                                         \
    ::partita_emu::launcher(#kernel, kernel, grid, block, shmem, stream)
#define PARTITA_DYNAMIC_SHARED(type, name)                                                         \
    type* name = static_cast<type*>(::partita_emu::dynamic_shared())
// `__shared__ T name[count]` (and [rows][cols], [d0][d1][d2]) under nvcc; here a reference to the
// block's poisoned copy, whose address is keyed by a static of the declaration.
#define PARTITA_EMU_SHARED_ARRAY(name, ...)                                                        \
    static const char partita_shared_site_##name = 0;                                              \
    auto& name = ::partita_emu::shared_array<__VA_ARGS__>(&partita_shared_site_##name)
#define PARTITA_SHARED(type, name, count) PARTITA_EMU_SHARED_ARRAY(name, type[count])
#define PARTITA_SHARED_2D(type, name, rows, cols) PARTITA_EMU_SHARED_ARRAY(name, type[rows][cols])
#define PARTITA_SHARED_3D(type, name, d0, d1, d2) PARTITA_EMU_SHARED_ARRAY(name, type[d0][d1][d2])

#include "runtime_api.hpp"
