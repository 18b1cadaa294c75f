// Shared pieces of every partita kernel: array views, thread counts, interrupt polling,
// SIMD multiversioning. Free of Python: the bindings adapt these to pybind11.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>

#include <omp.h>

namespace partita {

using index_t = std::int64_t;

// Hot loops are compiled several times and the best clone is picked at load time, so one
// wheel uses AVX-512 or AVX2 where the machine has it and still runs on any x86-64.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__CUDACC__)
#define PARTITA_MULTIVERSION                                                                       \
    __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define PARTITA_MULTIVERSION
#endif

// A read-only, C-contiguous n x m matrix.
template <class T>
struct MatrixView {
    const T* data = nullptr;
    index_t rows = 0;
    index_t cols = 0;
    const T* row(index_t i) const { return data + i * cols; }
    T operator()(index_t i, index_t j) const { return data[i * cols + j]; }
};

// Raised by a kernel when the user pressed Ctrl-C; the bindings turn it into KeyboardInterrupt.
struct Interrupted : std::exception {
    const char* what() const noexcept override { return "interrupted"; }
};

// Polls for Ctrl-C at most every `interval` so that a long loop can stop promptly without
// paying for a GIL round trip on every iteration. Call it from the master thread only.
class InterruptCheck {
public:
    explicit InterruptCheck(std::function<bool()> poll = {}, double interval_s = 0.25)
        : poll_(std::move(poll)), interval_(interval_s), last_(clock::now()) {}

    // Throws Interrupted when the poll reports a pending signal.
    void operator()() {
        if (!poll_) return;
        auto now = clock::now();
        if (std::chrono::duration<double>(now - last_).count() < interval_) return;
        last_ = now;
        if (poll_()) throw Interrupted();
    }

private:
    using clock = std::chrono::steady_clock;
    std::function<bool()> poll_;
    double interval_;
    clock::time_point last_;
};

// Inside an OpenMP team (or serial code): whether to stop. The master thread polls for Ctrl-C and
// raises `stop` rather than unwinding through OpenMP; the other threads only read it. A loop
// that sees true must leave its work undone, and Interrupted is thrown after the region.
inline bool stop_requested(std::atomic<bool>& stop, InterruptCheck& interrupt) {
    if (omp_get_thread_num() == 0 && !stop.load(std::memory_order_relaxed)) {
        try {
            interrupt();
        } catch (const Interrupted&) {
            stop = true;
        }
    }
    return stop.load(std::memory_order_relaxed);
}

// n_threads <= 0 means: what OpenMP would use (respects OMP_NUM_THREADS and threadpoolctl).
// A positive count is used as given. Python caps it at the usable CPUs (partita._backend.
// n_threads), and that cap is the only protection against a failure to create threads: libgomp
// reports one by ending the process ("Thread creation failed", exit status 1), before any
// code of ours could see it and throw.
inline int resolve_threads(int n_threads) {
    return n_threads > 0 ? n_threads : omp_get_max_threads();
}

inline void require(bool condition, const std::string& message) {
    if (!condition) throw std::invalid_argument(message);
}

// Splits [0, n) into `parts` contiguous ranges of nearly equal size; range p is
// [begin(p), begin(p + 1)). Fixed partitions keep reductions independent of thread timing.
struct EvenSplit {
    index_t n;
    index_t parts;
    index_t begin(index_t p) const { return (n * p) / parts; }
};

// Runs body(u, state) for every work unit u in [0, count), dynamically scheduled over up to
// n_threads threads, each with its own state = make_state() (scratch buffers). Ctrl-C is polled
// from the master thread; when it fires the remaining units are skipped and Interrupted is
// thrown after the loop. One thread (or one unit) runs without an OpenMP team. A unit's result
// must not depend on the thread that runs it: that keeps results independent of n_threads.
template <class MakeState, class Body>
void parallel_units(index_t count, int n_threads, InterruptCheck& interrupt, MakeState&& make_state,
                    Body&& body) {
    if (count <= 0) return;
    const int threads = int(std::max<index_t>(1, std::min<index_t>(n_threads, count)));
    if (threads == 1) {
        auto state = make_state();
        for (index_t u = 0; u < count; ++u) {
            interrupt();
            body(u, state);
        }
        return;
    }
    std::atomic<bool> stop{false};
#pragma omp parallel num_threads(threads)
    {
        auto state = make_state();
#pragma omp for schedule(dynamic, 1)
        for (index_t u = 0; u < count; ++u) {
            if (stop.load(std::memory_order_relaxed)) continue;
            if (omp_get_thread_num() == 0) {
                try {
                    interrupt();
                } catch (const Interrupted&) {
                    stop = true;
                    continue;
                }
            }
            body(u, state);
        }
    }
    if (stop) throw Interrupted();
}

// The same without per-thread state: body(u).
template <class Body>
void parallel_units(index_t count, int n_threads, InterruptCheck& interrupt, Body&& body) {
    parallel_units(
        count, n_threads, interrupt, [] { return 0; }, [&](index_t u, int&) { body(u); });
}

// Scales the d values at x to unit Euclidean norm and returns true, or returns false for a row
// of zeros (left as it is). Where the plain sum of squares overflows or underflows (is not a
// normal number), the row is first divided by its largest |x_t|, as LAPACK's nrm2 does; other
// rows take the plain path, so their results do not change.
template <class T>
bool unit_normalise(T* x, index_t d) {
    T norm = T(0);
    for (index_t t = 0; t < d; ++t) norm += x[t] * x[t];
    if (!(norm >= std::numeric_limits<T>::min() && norm <= std::numeric_limits<T>::max())) {
        T scale = T(0);
        for (index_t t = 0; t < d; ++t) scale = std::max(scale, T(std::abs(x[t])));
        if (!(scale > T(0))) return false;
        for (index_t t = 0; t < d; ++t) x[t] /= scale;
        norm = T(0);
        for (index_t t = 0; t < d; ++t) norm += x[t] * x[t];
    }
    norm = std::sqrt(norm);
    for (index_t t = 0; t < d; ++t) x[t] /= norm;
    return true;
}

}  // namespace partita
