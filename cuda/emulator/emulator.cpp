// The emulator's scheduler (fibers per thread of a block) and host runtime; see emulator.hpp.
#include "emulator.hpp"

#include <ucontext.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <random>
#include <sstream>
#include <unordered_map>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define PARTITA_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PARTITA_EMU_ASAN 1
#endif
#endif
#ifdef PARTITA_EMU_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

uint3 threadIdx{0, 0, 0}, blockIdx{0, 0, 0};
dim3 blockDim, gridDim;

namespace partita_emu {
namespace {

enum class State { runnable, at_barrier, at_warp, exited };

struct Fiber {
    ucontext_t ctx;
    State state = State::runnable;
    uint3 idx{0, 0, 0};
    Site site{nullptr, 0};  // where it waits
    Op op = Op::syncwarp;
    unsigned mask = 0;
    std::uint64_t value = 0, result = 0;
    int arg = 0, width = 32;
    std::string error;  // an exception that left the thread
};

#ifdef PARTITA_EMU_ASAN
constexpr std::size_t stack_bytes = 512 * 1024;  // instrumented frames are larger
#else
constexpr std::size_t stack_bytes = 64 * 1024;
#endif

struct Block {
    const char* kernel = "";
    KernelBody* body = nullptr;
    std::vector<Fiber> fibers;
    char* stacks = nullptr;  // stack_bytes per thread
    ucontext_t scheduler;
    int current = -1;
    void* shared = nullptr;                              // dynamic shared memory
    std::vector<std::pair<const void*, void*>> statics;  // PARTITA_SHARED arrays: site, memory
#ifdef PARTITA_EMU_ASAN
    void* fake_stack = nullptr;
    const void* main_bottom = nullptr;
    std::size_t main_size = 0;
#endif
};

Schedule g_schedule = Schedule::forward;
std::mt19937_64 g_rng;  // the shuffled schedule's permutations

// The order in which to visit `count` threads or blocks under the current schedule.
void schedule_order(std::vector<unsigned>& order, std::size_t count) {
    order.resize(count);
    std::iota(order.begin(), order.end(), 0u);
    if (g_schedule == Schedule::reverse) std::reverse(order.begin(), order.end());
    else if (g_schedule == Schedule::shuffled) std::shuffle(order.begin(), order.end(), g_rng);
}
Block* g_block = nullptr;  // the block being run

std::string where(const Block& b, int t) {
    std::ostringstream s;
    s << "kernel '" << b.kernel << "' block (" << blockIdx.x << "," << blockIdx.y << ","
      << blockIdx.z << ")";
    if (t >= 0) {
        const uint3 i = b.fibers[t].idx;
        s << " thread (" << i.x << "," << i.y << "," << i.z << ")";
    }
    return s.str();
}

std::string site_name(Site s) {
    const char* f = s.file ? s.file : "?";
    const char* slash = std::strrchr(f, '/');
    return std::string(slash ? slash + 1 : f) + ":" + std::to_string(s.line);
}

bool same_site(Site a, Site b) {
    return a.line == b.line && (a.file == b.file || std::strcmp(a.file, b.file) == 0);
}

// Switches from the scheduler to fiber t, which returns here when it blocks or ends.
void run_fiber(Block& b, int t) {
    b.current = t;
    threadIdx = b.fibers[t].idx;
#ifdef PARTITA_EMU_ASAN
    __sanitizer_start_switch_fiber(&b.fake_stack, b.stacks + std::size_t(t) * stack_bytes,
                                   stack_bytes);
#endif
    swapcontext(&b.scheduler, &b.fibers[t].ctx);
#ifdef PARTITA_EMU_ASAN
    __sanitizer_finish_switch_fiber(b.fake_stack, nullptr, nullptr);
#endif
    b.current = -1;
}

// Back to the scheduler from the running fiber (it has set its state).
void yield_to_scheduler(bool exiting) {
    Block& b = *g_block;
    Fiber& f = b.fibers[b.current];
#ifdef PARTITA_EMU_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(exiting ? nullptr : &fake, b.main_bottom, b.main_size);
#endif
    swapcontext(&f.ctx, &b.scheduler);
#ifdef PARTITA_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    (void)exiting;
}

void fiber_entry() {
#ifdef PARTITA_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &g_block->main_bottom, &g_block->main_size);
#endif
    Block& b = *g_block;
    Fiber& f = b.fibers[b.current];
    try {
        b.body->run();
    } catch (const std::exception& e) {
        f.error = e.what();
    } catch (...) {
        f.error = "an unknown exception";
    }
    f.state = State::exited;
    yield_to_scheduler(true);
}

Fiber& running() {
    if (!g_block || g_block->current < 0)
        throw Fault("a device synchronisation primitive was called outside a kernel");
    return g_block->fibers[g_block->current];
}

const char* op_name(Op op) {
    switch (op) {
        case Op::syncwarp: return "__syncwarp";
        case Op::shfl_idx: return "__shfl_sync";
        case Op::shfl_up: return "__shfl_up_sync";
        case Op::shfl_down: return "__shfl_down_sync";
        case Op::shfl_xor: return "__shfl_xor_sync";
        case Op::ballot: return "__ballot_sync";
        case Op::any: return "__any_sync";
        case Op::all: return "__all_sync";
    }
    return "?";
}

std::string state_of(const Fiber& f) {
    switch (f.state) {
        case State::exited: return "has exited";
        case State::at_barrier: return "waits at __syncthreads (" + site_name(f.site) + ")";
        case State::at_warp:
            return std::string("waits at ") + op_name(f.op) + " (" + site_name(f.site) + ")";
        case State::runnable: return "is running";
    }
    return "?";
}

// The source lane of a shuffle, or -1 when the lane keeps its own value.
int shuffle_source(const Fiber& f, int lane) {
    const int w = f.width, base = lane & ~(w - 1);
    switch (f.op) {
        case Op::shfl_idx: return base + (f.arg & (w - 1));
        case Op::shfl_up: return (lane - base) >= f.arg ? lane - f.arg : -1;
        case Op::shfl_down: return (lane - base) + f.arg < w ? lane + f.arg : -1;
        case Op::shfl_xor: {
            // As CUDA: a lane may read an earlier segment of `width` lanes, not a later one.
            const int src = lane ^ f.arg;
            return src >= 0 && src < base + w ? src : -1;
        }
        default: return -1;
    }
}

// Releases the warp collectives whose masks are complete; a mask naming a thread that is not
// waiting at the same call is a fault. Returns whether any thread was released.
bool release_warps(Block& b) {
    const int n = int(b.fibers.size());
    bool released = false;
    for (int t = 0; t < n; ++t) {
        Fiber& f = b.fibers[t];
        if (f.state != State::at_warp) continue;
        const int warp = t / 32, lane = t % 32;
        if (!(f.mask >> lane & 1u))
            throw Fault(where(b, t) + ": " + op_name(f.op) + " (" + site_name(f.site) +
                        ") with a mask that does not name the calling lane");
        unsigned ballot = 0, count = 0;
        bool deferred = false;  // a named lane was released by this pass: judge it next round
        for (int l = 0; l < 32; ++l) {
            if (!(f.mask >> l & 1u)) continue;
            const int u = warp * 32 + l;
            if (u >= n)
                throw Fault(where(b, t) + ": " + op_name(f.op) + " (" + site_name(f.site) +
                            ") names lane " + std::to_string(l) + ", beyond the block");
            const Fiber& g = b.fibers[u];
            if (g.state == State::runnable) {
                deferred = true;
                break;
            }
            if (g.state != State::at_warp || g.op != f.op || g.mask != f.mask ||
                !same_site(g.site, f.site))
                throw Fault(where(b, t) + ": " + op_name(f.op) + " (" + site_name(f.site) +
                            ") with mask 0x" +
                            [&] {
                                std::ostringstream s;
                                s << std::hex << f.mask;
                                return s.str();
                            }() +
                            " names lane " + std::to_string(l) + ", which " + state_of(g) +
                            " (a divergent or partial-warp collective)");
            if (g.value) ballot |= 1u << l;
            ++count;
        }
        if (deferred) continue;
        for (int l = 0; l < 32; ++l) {
            if (!(f.mask >> l & 1u)) continue;
            Fiber& g = b.fibers[warp * 32 + l];
            switch (g.op) {
                case Op::syncwarp: g.result = 0; break;
                case Op::ballot: g.result = ballot; break;
                case Op::any: g.result = ballot != 0; break;
                case Op::all: g.result = __builtin_popcount(ballot) == int(count); break;
                default: {
                    const int src = shuffle_source(g, l);
                    if (src < 0) {
                        g.result = g.value;
                    } else if (!(g.mask >> src & 1u)) {
                        throw Fault(where(b, warp * 32 + l) + ": " + op_name(g.op) + " (" +
                                    site_name(g.site) + ") reads lane " + std::to_string(src) +
                                    ", which is not in the mask");
                    } else {
                        g.result = b.fibers[warp * 32 + src].value;
                    }
                }
            }
        }
        for (int l = 0; l < 32; ++l)
            if (f.mask >> l & 1u) b.fibers[warp * 32 + l].state = State::runnable;
        released = true;
    }
    return released;
}

// Releases a block-wide barrier; returns false when every thread has exited.
bool release_barrier(Block& b) {
    const int n = int(b.fibers.size());
    int first = -1, exited = -1;
    for (int t = 0; t < n; ++t) {
        const Fiber& f = b.fibers[t];
        if (f.state == State::exited) {
            if (exited < 0) exited = t;
            continue;
        }
        if (f.state != State::at_barrier)  // release_warps has handled warp collectives
            throw Fault(where(b, t) + ": deadlock, the thread " + state_of(f));
        if (first < 0) first = t;
        else if (!same_site(f.site, b.fibers[first].site))
            throw Fault(where(b, t) + ": __syncthreads (" + site_name(f.site) + ") while thread " +
                        std::to_string(first) + " waits at __syncthreads (" +
                        site_name(b.fibers[first].site) + ") (a barrier in divergent code)");
    }
    if (first < 0) return false;
    if (exited >= 0)
        throw Fault(where(b, exited) + ": the thread exited while thread " + std::to_string(first) +
                    " waits at __syncthreads (" + site_name(b.fibers[first].site) +
                    ") (a barrier not reached by the whole block)");
    for (auto& f : b.fibers) f.state = State::runnable;
    return true;
}

void run_block(Block& b) {
    const int n = int(b.fibers.size());
    for (int t = 0; t < n; ++t) {
        Fiber& f = b.fibers[t];
        f = Fiber{};
        f.idx = uint3{unsigned(t) % blockDim.x, unsigned(t) / blockDim.x % blockDim.y,
                      unsigned(t) / (blockDim.x * blockDim.y)};
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = b.stacks + std::size_t(t) * stack_bytes;
        f.ctx.uc_stack.ss_size = stack_bytes;
        f.ctx.uc_link = nullptr;
        makecontext(&f.ctx, fiber_entry, 0);
    }
    std::vector<unsigned> order;
    for (;;) {
        bool ran;
        do {
            ran = false;
            schedule_order(order, std::size_t(n));
            for (const unsigned u : order) {
                const int t = int(u);
                if (b.fibers[t].state != State::runnable) continue;
                run_fiber(b, t);
                ran = true;
                if (!b.fibers[t].error.empty()) throw Fault(where(b, t) + ": " + b.fibers[t].error);
            }
        } while (ran);
        if (release_warps(b)) continue;
        if (!release_barrier(b)) return;
    }
}

}  // namespace

void set_schedule(Schedule s, std::uint64_t seed) {
    g_schedule = s;
    g_rng.seed(seed);
}
Schedule schedule() { return g_schedule; }

void sync_block(Site site) {
    Fiber& f = running();
    f.state = State::at_barrier;
    f.site = site;
    yield_to_scheduler(false);
}

std::uint64_t warp_collective(Site site, Op op, unsigned mask, std::uint64_t value, int arg,
                              int width) {
    Fiber& f = running();
    if (width <= 0 || width > 32 || (width & (width - 1)))
        fail(std::string(op_name(op)) + ": width must be a power of two up to 32");
    f.state = State::at_warp;
    f.site = site;
    f.op = op;
    f.mask = mask;
    f.value = value;
    f.arg = arg;
    f.width = width;
    yield_to_scheduler(false);
    return running().result;
}

unsigned active_mask() {
    running();
    const Block& b = *g_block;
    const int warp = b.current / 32, n = int(b.fibers.size());
    unsigned m = 0;
    for (int l = 0; l < 32 && warp * 32 + l < n; ++l)
        if (b.fibers[warp * 32 + l].state != State::exited) m |= 1u << l;
    return m;
}

void* dynamic_shared() {
    running();
    return g_block->shared;
}

void* static_shared(const void* site, std::size_t bytes) {
    running();
    auto& statics = g_block->statics;
    for (const auto& [key, memory] : statics)
        if (key == site) return memory;
    void* memory = std::malloc(bytes ? bytes : 1);  // exact size, for ASan
    if (!memory) throw std::bad_alloc();
    std::memset(memory, 0xff, bytes);  // garbage, as a GPU's shared memory at a block's start
    statics.emplace_back(site, memory);
    return memory;
}

void fail(const std::string& what) {
    if (g_block && g_block->current >= 0)
        throw Fault(where(*g_block, g_block->current) + ": " + what);
    throw Fault(what);
}

namespace {
constexpr std::size_t default_dynamic_shared = 48 * 1024, max_dynamic_shared = 227 * 1024;
std::mutex g_attribute_lock;
std::unordered_map<KernelId, std::size_t>& dynamic_shared_allowed() {
    static std::unordered_map<KernelId, std::size_t> m;
    return m;
}
}  // namespace

void run_grid(const char* name, KernelId kernel, dim3 grid, dim3 block, std::size_t shmem,
              KernelBody& body) {
    // One grid at a time, whatever the host thread: the bindings release the GIL, and the
    // coordinates (threadIdx...) and the shared-memory statics are global.
    static std::mutex grid_lock;
    static thread_local bool in_kernel = false;
    if (in_kernel) throw Fault(std::string("kernel '") + name + "' launched from inside a kernel");
    std::lock_guard<std::mutex> lock(grid_lock);
    struct InKernel {
        InKernel() { in_kernel = true; }
        ~InKernel() { in_kernel = false; }
    } mark;
    const std::size_t threads = std::size_t(block.x) * block.y * block.z;
    // CUDA's limits (compute capability 9.0): a launch beyond them fails on a GPU.
    if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 ||
        grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 ||
        grid.z > 65535)
        throw Fault(std::string("kernel '") + name + "': invalid launch configuration, grid (" +
                    std::to_string(grid.x) + "," + std::to_string(grid.y) + "," +
                    std::to_string(grid.z) + ") block (" + std::to_string(block.x) + "," +
                    std::to_string(block.y) + "," + std::to_string(block.z) + ")");
    if (shmem > max_dynamic_shared)
        throw Fault(std::string("kernel '") + name + "': too much dynamic shared memory");
    if (shmem > default_dynamic_shared) {
        std::size_t allowed = default_dynamic_shared;
        {
            std::lock_guard<std::mutex> lock(g_attribute_lock);
            auto it = dynamic_shared_allowed().find(kernel);
            if (it != dynamic_shared_allowed().end()) allowed = it->second;
        }
        if (shmem > allowed)
            throw Fault(std::string("kernel '") + name + "': " + std::to_string(shmem) +
                        " bytes of dynamic shared memory, over the " + std::to_string(allowed) +
                        " that cudaFuncSetAttribute(cudaFuncAttributeMaxDynamicSharedMemorySize)"
                        " allows");
    }
    Block b;
    b.kernel = name;
    b.body = &body;
    b.fibers.resize(threads);
    // Stacks are kept from launch to launch (not cleared: a fiber's frames initialise themselves).
    static std::unique_ptr<char[]> stacks;
    static std::size_t stacks_threads = 0;
    if (stacks_threads < threads) {
        stacks.reset(new char[threads * stack_bytes]);
        stacks_threads = threads;
    }
    b.stacks = stacks.get();
    blockDim = block;
    gridDim = grid;
    // Every block starts with fresh, poisoned shared memory: none of the previous block's values.
    const auto free_shared = [](Block& blk) {
        std::free(blk.shared);
        blk.shared = nullptr;
        for (const auto& site_memory : blk.statics) std::free(site_memory.second);
        blk.statics.clear();
    };
    struct Reset {
        Block& b;
        void (*free_shared)(Block&);
        ~Reset() {
            free_shared(b);
            g_block = nullptr;
        }
    } reset{b, free_shared};
    g_block = &b;
    // Blocks in the schedule's order too: a kernel whose blocks depend on one another's order
    // (which a GPU does not keep) gives different results.
    const std::size_t blocks = std::size_t(grid.x) * grid.y * grid.z;
    std::vector<unsigned> order;  // empty: forward, or too many blocks to list
    if (g_schedule != Schedule::forward && blocks <= (std::size_t(1) << 24))
        schedule_order(order, blocks);
    for (std::size_t i = 0; i < blocks; ++i) {
        const std::size_t linear = order.empty() ? i : std::size_t(order[i]);
        blockIdx = uint3{unsigned(linear % grid.x), unsigned(linear / grid.x % grid.y),
                         unsigned(linear / (std::size_t(grid.x) * grid.y))};
        free_shared(b);
        b.shared = shmem ? std::malloc(shmem) : nullptr;  // exact size, for ASan
        if (shmem) std::memset(b.shared, 0xff, shmem);
        run_block(b);
    }
}

// ---- host runtime
// ---------------------------------------------------------------------------------

namespace {
std::mutex g_memory_lock;
std::unordered_map<void*, std::size_t>& allocations() {
    static std::unordered_map<void*, std::size_t> a;
    return a;
}
std::size_t g_total = std::size_t(1) << 34, g_used = 0;
cudaError_t g_last = cudaSuccess;
cudaError_t record(cudaError_t e) {
    if (e != cudaSuccess) g_last = e;
    return e;
}
}  // namespace

void set_device_memory(std::size_t total_bytes) { g_total = total_bytes; }
std::size_t allocated_bytes() { return g_used; }
std::size_t device_memory() { return g_total; }

}  // namespace partita_emu

using partita_emu::record;

cudaError_t partita_emu_set_max_dynamic_shared(void (*kernel)(), int bytes) {
    if (bytes < 0 || std::size_t(bytes) > partita_emu::max_dynamic_shared)
        return record(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(partita_emu::g_attribute_lock);
    partita_emu::dynamic_shared_allowed()[kernel] = std::size_t(bytes);
    return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* count) {
    *count = 1;
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
    *device = 0;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
    return device == 0 ? cudaSuccess : record(cudaErrorInvalidDevice);
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
    if (device != 0) return record(cudaErrorInvalidDevice);
    *prop = cudaDeviceProp{};
    std::strcpy(prop->name, "partita CPU emulator");
    prop->totalGlobalMem = partita_emu::g_total;
    prop->sharedMemPerBlock = 48 * 1024;
    prop->sharedMemPerBlockOptin = 227 * 1024;
    prop->major = 0;
    prop->minor = 0;
    prop->multiProcessorCount = 1;
    prop->maxThreadsPerBlock = 1024;
    prop->warpSize = 32;
    return cudaSuccess;
}
cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
    std::lock_guard<std::mutex> lock(partita_emu::g_memory_lock);
    if (bytes > partita_emu::g_total - partita_emu::g_used) {
        *ptr = nullptr;
        return record(cudaErrorMemoryAllocation);
    }
    *ptr = std::malloc(bytes ? bytes : 1);  // exact size: ASan reports any overrun
    if (!*ptr) return record(cudaErrorMemoryAllocation);
    partita_emu::allocations()[*ptr] = bytes;
    partita_emu::g_used += bytes;
    return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
    if (!ptr) return cudaSuccess;
    std::lock_guard<std::mutex> lock(partita_emu::g_memory_lock);
    auto it = partita_emu::allocations().find(ptr);
    if (it == partita_emu::allocations().end()) return record(cudaErrorInvalidValue);
    partita_emu::g_used -= it->second;
    partita_emu::allocations().erase(it);
    std::free(ptr);
    return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind) {
    // Stricter than CUDA may be: a null pointer is refused whatever the size, so that the host
    // code never leans on what a driver does with one.
    if (!dst || !src) return record(cudaErrorInvalidValue);
    if (bytes) std::memmove(dst, src, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t) {
    return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes) {
    if (bytes) std::memset(ptr, value, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t) {
    return cudaMemset(ptr, value, bytes);
}
cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
    *free_bytes = partita_emu::g_total - partita_emu::g_used;
    *total_bytes = partita_emu::g_total;
    return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* stream) {
    *stream = reinterpret_cast<cudaStream_t>(new char);
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    delete reinterpret_cast<char*>(stream);
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t* event) {
    *event = reinterpret_cast<cudaEvent_t>(new char);
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
    delete reinterpret_cast<char*>(event);
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }
cudaError_t cudaGetLastError() {
    const cudaError_t e = partita_emu::g_last;
    partita_emu::g_last = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError() { return partita_emu::g_last; }
const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
        case cudaErrorNoDevice: return "cudaErrorNoDevice";
    }
    return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t e) { return cudaGetErrorName(e); }
