// k-medoids on the device (docs/algorithms.md, "k-medoids on a GPU"): FasterPAM's and FastPAM1's
// swap schedules, CLARANS, BUILD, LAB, k-medoids++ and the scoring of medoids on all points, from a
// stored matrix or from features. The host drives the schedules; the device scores every
// candidate of a block at once and keeps every point's state.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "device_memory.cuh"
#include "medoids_kernels.cuh"
#include "partita/cuda/medoids.hpp"

namespace partita::cuda::medoids {
namespace {

constexpr int point_threads = 256;

unsigned blocks_for(long long count, int per_block) {
    return unsigned((count + per_block - 1) / per_block);
}

void sync(const char* kernel) {
    check_launch(kernel);
    check(cudaDeviceSynchronize(), kernel);
}

void poll_or_throw(const InterruptPoll& poll) {
    if (poll && poll()) throw Interrupted();
}

// The candidate blocks of the eager schedule: as large as this after a swap, doubling up to
// max_block while no candidate improves (the result does not depend on them). A scan of a stored
// matrix is bound by its critical path (n/32 warp steps) until about as many warps as the GPU
// holds (132 SMs x 64 on an H200), so its first block fills the GPU; on the fly every candidate
// costs n*d arithmetic, and a smaller first block discards less after a swap.
template <class Src>
constexpr long long first_block = Src::stored ? 8192 : 1024;
constexpr long long max_block = 65536;

// Every point's state on the device, and the scans that read it.
template <class T, class Src>
class Engine {
public:
    Engine(const Src& src, long long n, const std::vector<double>& w, long long k)
        : src_(src),
          n_(n),
          k_(k),
          w_host_(w),
          w_(n, "sample weights"),
          med_(k, "medoids"),
          near_i_(n, "nearest slots"),
          seco_i_(n, "second-nearest slots"),
          near_d_(n, "nearest distances"),
          seco_d_(n, "second-nearest distances"),
          removal_(k, "removal losses"),
          near_host_(n) {
        w_.upload(w.data(), n);
    }

    long long n() const { return n_; }

    void set_medoids(const std::vector<long long>& med) {
        med_host_ = med;
        med_.upload(med.data(), k_);
        is_med_.assign(n_, 0);
        for (auto j : med) is_med_[j] = 1;
        if (n_ == 0) return;
        PARTITA_LAUNCH((assign_points_kernel<T, Src>), blocks_for(n_, point_threads), point_threads,
                       0, nullptr)(src_, med_.get(), int(k_), n_, near_i_.get(), near_d_.get(),
                                   seco_i_.get(), seco_d_.get());
        sync("medoids.assign_points_kernel");
    }
    bool is_medoid(long long j) const { return is_med_[j] != 0; }

    // Sequential, in point order, as the CPU's total_deviation.
    double loss() {
        near_d_.download(near_host_.data(), n_);
        double loss = 0.0;
        for (long long o = 0; o < n_; ++o) loss += w_host_[o] * double(near_host_[o]);
        return loss;
    }

    void update_removal() {
        PARTITA_LAUNCH((removal_kernel<T>), blocks_for(k_, warps_per_block), scan_threads, 0,
                       nullptr)(int(k_), n_, near_i_.get(), near_d_.get(), seco_d_.get(), w_.get(),
                                removal_.get());
        sync("medoids.removal_kernel");
    }

    // change[c], slot[c] of the best swap of every candidate, all scored against this state.
    void score(const std::vector<long long>& cand, std::vector<double>& change,
               std::vector<int>& slot) {
        const long long m = (long long)cand.size();
        change.resize(m);
        slot.resize(m);
        if (m == 0) return;
        if ((long long)cand_.size() < m) {
            cand_ = DeviceBuffer<long long>(m, "candidates");
            ploss_ = DeviceBuffer<double>(m * k_, "per-slot loss changes");
            change_ = DeviceBuffer<double>(m, "candidate changes");
            slot_ = DeviceBuffer<int>(m, "candidate slots");
        }
        cand_.upload(cand.data(), m);
        PARTITA_LAUNCH((score_kernel<T, Src>), blocks_for(m, warps_per_block), scan_threads, 0,
                       nullptr)(src_, cand_.get(), int(m), n_, near_i_.get(), near_d_.get(),
                                seco_d_.get(), w_.get(), removal_.get(), int(k_), ploss_.get(),
                                change_.get(), slot_.get());
        sync("medoids.score_kernel");
        change_.download(change.data(), m);
        slot_.download(slot.data(), m);
    }

    // Slot b's medoid becomes point j; returns the new loss.
    double apply(int b, long long j) {
        is_med_[med_host_[b]] = 0;
        is_med_[j] = 1;
        med_host_[b] = j;
        med_.upload(med_host_.data(), k_);
        PARTITA_LAUNCH((apply_swap_kernel<T, Src>), blocks_for(n_, point_threads), point_threads, 0,
                       nullptr)(src_, med_.get(), int(k_), n_, b, j, near_i_.get(), near_d_.get(),
                                seco_i_.get(), seco_d_.get());
        sync("medoids.apply_swap_kernel");
        return loss();
    }

    Result finish(double loss, long long n_iter, long long n_swaps, bool converged,
                  std::vector<double> pass_loss = {}, std::vector<std::int64_t> pass_swaps = {}) {
        Result r;
        r.labels = labels();
        r.medoids.assign(med_host_.begin(), med_host_.end());
        r.loss = loss;
        r.n_iter = n_iter;
        r.n_swaps = n_swaps;
        r.converged = converged;
        r.pass_loss = std::move(pass_loss);
        r.pass_swaps = std::move(pass_swaps);
        return r;
    }

    std::vector<std::int32_t> labels() {
        std::vector<std::int32_t> out(n_);
        if (n_ == 0) return out;
        DeviceBuffer<int> labels(n_, "labels");
        PARTITA_LAUNCH((labels_kernel<T, Src>), blocks_for(n_, point_threads), point_threads, 0,
                       nullptr)(src_, med_.get(), int(k_), n_, near_i_.get(), near_d_.get(),
                                seco_i_.get(), seco_d_.get(), labels.get());
        sync("medoids.labels_kernel");
        labels.download(out.data(), n_);
        return out;
    }

    const std::vector<long long>& medoids() const { return med_host_; }

private:
    Src src_;
    long long n_, k_;
    std::vector<double> w_host_;
    DeviceBuffer<double> w_;
    DeviceBuffer<long long> med_;
    DeviceBuffer<int> near_i_, seco_i_;
    DeviceBuffer<T> near_d_, seco_d_;
    DeviceBuffer<double> removal_;
    DeviceBuffer<long long> cand_;
    DeviceBuffer<double> ploss_, change_;
    DeviceBuffer<int> slot_;
    std::vector<long long> med_host_;
    std::vector<char> is_med_;
    std::vector<T> near_host_;
};

// Per row r of `rows`: the weighted distance sum over the other points, or with `near` BUILD's
// gain (row_sums_kernel).
template <class T, class Src>
std::vector<double> row_sums(const Src& src, long long n, const std::vector<long long>& rows,
                             const DeviceBuffer<double>& w, const double* near) {
    const long long m = (long long)rows.size();
    std::vector<double> out(m);
    if (m == 0) return out;
    DeviceBuffer<long long> r(m, "rows");
    r.upload(rows.data(), m);
    DeviceBuffer<double> sums(m, "row sums");
    PARTITA_LAUNCH((row_sums_kernel<T, Src>), blocks_for(m, warps_per_block), scan_threads, 0,
                   nullptr)(src, r.get(), int(m), n, w.get(), near, sums.get());
    sync("medoids.row_sums_kernel");
    sums.download(out.data(), m);
    return out;
}

// d(rows[a], cols[b]) for every pair (cols empty: every point), downloaded as doubles.
template <class T, class Src>
std::vector<double> pairs(const Src& src, long long n, const std::vector<long long>& rows,
                          const std::vector<long long>& cols) {
    const long long r = (long long)rows.size(), c = cols.empty() ? n : (long long)cols.size();
    std::vector<double> out(r * c);
    if (r * c == 0) return out;
    DeviceBuffer<long long> dr(r, "rows"), dc(cols.size(), "columns");
    dr.upload(rows.data(), r);
    dc.upload(cols.data(), cols.size());
    DeviceBuffer<T> values(r * c, "distances");
    PARTITA_LAUNCH((pairs_kernel<T, Src>), blocks_for(r * c, point_threads), point_threads, 0,
                   nullptr)(src, dr.get(), int(r), cols.empty() ? nullptr : dc.get(), c,
                            values.get());
    sync("medoids.pairs_kernel");
    std::vector<T> tmp(r * c);
    values.download(tmp.data(), r * c);
    out.assign(tmp.begin(), tmp.end());
    return out;
}

std::vector<long long> iota(long long n) {
    std::vector<long long> v(n);
    for (long long i = 0; i < n; ++i) v[i] = i;
    return v;
}

// k = 1: the point with the smallest weighted distance sum, the incumbent winning ties.
template <class T, class Src>
Result single_medoid(const Src& src, long long n, long long incumbent, const std::vector<double>& w,
                     long long max_iter) {
    DeviceBuffer<double> dw(n, "sample weights");
    dw.upload(w.data(), n);
    const std::vector<double> sums = row_sums<T>(src, n, iota(n), dw, nullptr);
    long long best = incumbent;
    Result r;
    if (max_iter > 0) {
        for (long long j = 0; j < n; ++j)
            if (j != incumbent && sums[j] < sums[best]) best = j;
        r.n_iter = 1;
        r.n_swaps = best != incumbent;
        r.converged = true;
    }
    r.medoids = {best};
    r.labels.assign(n, 0);
    r.loss = sums[best];
    if (max_iter > 0) {
        r.pass_loss = {r.loss};
        r.pass_swaps = {r.n_swaps};
    }
    return r;
}

// FasterPAM (docs/algorithms.md, "FasterPAM"): eager swaps in candidate order. A block of
// upcoming candidates is scored at once against the same state and the first improving one is
// applied, the rest discarded: exactly the sequential schedule.
template <class T, class Src>
Result fasterpam(Engine<T, Src>& e, long long max_iter, const InterruptPoll& poll) {
    const long long n = e.n();
    double loss = e.loss();
    e.update_removal();
    long long last_swap = n, n_swaps = 0, iter = 0, block = first_block<Src>;
    bool converged = false;
    std::vector<double> pass_loss, change;
    std::vector<std::int64_t> pass_swaps;
    std::vector<long long> cand;
    std::vector<int> slot;
    while (iter < max_iter) {
        ++iter;
        const long long swaps_before = n_swaps;
        const double loss_before = loss;
        long long j = 0;
        while (j < n && j != last_swap) {
            cand.clear();
            for (; (long long)cand.size() < block && j < n && j != last_swap; ++j)
                if (!e.is_medoid(j)) cand.push_back(j);
            if (cand.empty()) break;
            e.score(cand, change, slot);
            long long hit = -1;
            for (long long c = 0; c < (long long)cand.size() && hit < 0; ++c)
                if (change[c] < 0.0) hit = c;
            if (hit >= 0) {
                ++n_swaps;
                last_swap = cand[hit];
                loss = e.apply(slot[hit], cand[hit]);
                e.update_removal();
                j = cand[hit] + 1;
                block = first_block<Src>;
            } else {
                block = std::min(block * 2, max_block);
            }
            poll_or_throw(poll);
        }
        pass_loss.push_back(loss);
        pass_swaps.push_back(n_swaps - swaps_before);
        if (n_swaps == swaps_before || loss >= loss_before) {
            converged = true;
            break;
        }
    }
    return e.finish(loss, iter, n_swaps, converged, std::move(pass_loss), std::move(pass_swaps));
}

// FastPAM1 (docs/algorithms.md, "FastPAM1"): every candidate scored against the same state, the
// single best swap applied (smallest change, ties to the smallest candidate).
template <class T, class Src>
Result fastpam1(Engine<T, Src>& e, long long max_iter, const InterruptPoll& poll) {
    const long long n = e.n();
    double loss = e.loss();
    long long n_swaps = 0, iter = 0;
    bool converged = false;
    std::vector<double> pass_loss, change, part;
    std::vector<std::int64_t> pass_swaps;
    std::vector<long long> cand;
    std::vector<int> slot, part_slot;
    while (iter < max_iter) {
        ++iter;
        e.update_removal();
        long long best = -1;
        int best_slot = 0;
        double best_change = 0.0;
        for (long long j0 = 0; j0 < n; j0 += max_block) {
            cand.clear();
            for (long long j = j0; j < std::min(n, j0 + max_block); ++j)
                if (!e.is_medoid(j)) cand.push_back(j);
            e.score(cand, part, part_slot);
            for (std::size_t c = 0; c < cand.size(); ++c)
                if (part[c] < best_change) {
                    best_change = part[c];
                    best = cand[c];
                    best_slot = part_slot[c];
                }
            poll_or_throw(poll);
        }
        if (best < 0) {
            converged = true;
            pass_loss.push_back(loss);
            pass_swaps.push_back(0);
            break;
        }
        ++n_swaps;
        const double new_loss = e.apply(best_slot, best);
        const bool stalled = new_loss >= loss;
        loss = new_loss;
        pass_loss.push_back(loss);
        pass_swaps.push_back(1);
        if (stalled) {
            converged = true;
            break;
        }
    }
    return e.finish(loss, iter, n_swaps, converged, std::move(pass_loss), std::move(pass_swaps));
}

// A uniform double in [0, 1) from 53 random bits, as the CPU's seedings draw it.
double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

// CLARANS (docs/algorithms.md, "CLARANS"), the CPU's random stream and rules.
template <class T, class Src>
Result clarans(const Src& src, long long n, long long k, const std::vector<double>& w,
               long long n_local, long long max_neighbors, std::uint64_t seed,
               const InterruptPoll& poll) {
    std::mt19937_64 rng(seed);
    auto uniform_index = [&](long long bound) {
        return (long long)(uniform01(rng) * double(bound));
    };
    if (k == 1) return single_medoid<T>(src, n, uniform_index(n), w, 1);
    Result best;
    best.loss = std::numeric_limits<double>::infinity();
    Engine<T, Src> e(src, n, w, k);
    std::vector<double> change;
    std::vector<int> slot;
    for (long long restart = 0; restart < n_local; ++restart) {
        std::vector<long long> perm = iota(n), med(k);
        for (long long s = 0; s < k; ++s) {
            const long long r = s + uniform_index(n - s);
            std::swap(perm[s], perm[r]);
            med[s] = perm[s];
        }
        e.set_medoids(med);
        double loss = e.loss();
        e.update_removal();
        long long rejected = 0, steps = 0, n_swaps = 0;
        while (rejected < max_neighbors && n > k) {
            long long j;
            do j = uniform_index(n);
            while (e.is_medoid(j));
            e.score({j}, change, slot);
            ++steps;
            if (change[0] < 0.0) {
                loss = e.apply(slot[0], j);
                e.update_removal();
                ++n_swaps;
                rejected = 0;
            } else {
                ++rejected;
            }
            if ((steps & 63) == 0) poll_or_throw(poll);
        }
        if (loss < best.loss) best = e.finish(loss, steps, n_swaps, true);
    }
    return best;
}

// BUILD (docs/algorithms.md, "BUILD"): each step scores the exact gain of every non-medoid on
// the device and takes the most negative, ties to the lowest index.
template <class T, class Src>
std::vector<std::int64_t> build(const Src& src, long long n, long long k,
                                const std::vector<double>& w, const InterruptPoll& poll) {
    DeviceBuffer<double> dw(n, "sample weights"), near(n, "nearest distances");
    dw.upload(w.data(), n);
    const std::vector<double> sums = row_sums<T>(src, n, iota(n), dw, nullptr);
    long long first = 0;
    for (long long i = 1; i < n; ++i)
        if (sums[i] < sums[first]) first = i;
    std::vector<std::int64_t> med{first};
    std::vector<char> is_med(n, 0);
    is_med[first] = 1;
    std::vector<long long> cand;
    for (long long step = 1; step < k; ++step) {
        const long long j = med.back();
        PARTITA_LAUNCH((nearest_kernel<T, Src>), blocks_for(n, point_threads), point_threads, 0,
                       nullptr)(src, j, n, step == 1, near.get());
        sync("medoids.nearest_kernel");
        cand.clear();
        for (long long i = 0; i < n; ++i)
            if (!is_med[i]) cand.push_back(i);
        const std::vector<double> gain = row_sums<T>(src, n, cand, dw, near.get());
        long long best = -1;
        double best_gain = 0.0;
        for (std::size_t c = 0; c < cand.size(); ++c)
            if (gain[c] < best_gain) {
                best_gain = gain[c];
                best = cand[c];
            }
        if (best < 0) best = cand.front();  // nothing lowers the loss (duplicates)
        med.push_back(best);
        is_med[best] = 1;
        poll_or_throw(poll);
    }
    return med;
}

// LAB (docs/algorithms.md, "LAB"): the sample's distances and the chosen medoids' rows come from
// the device; the O(m^2) choice runs here in the CPU's order.
template <class T, class Src>
std::vector<std::int64_t> lab(const Src& src, long long n, const std::vector<std::int64_t>& samples,
                              long long m, const std::vector<double>& w) {
    const long long k = m ? (long long)samples.size() / m : 0;
    std::vector<std::int64_t> med;
    std::vector<char> is_med(n, 0);
    std::vector<double> near(n, std::numeric_limits<double>::infinity());
    for (long long step = 0; step < k; ++step) {
        const std::vector<long long> s(samples.begin() + step * m,
                                       samples.begin() + (step + 1) * m);
        const std::vector<double> d = pairs<T>(src, n, s, s);
        long long best = -1;
        double best_cost = std::numeric_limits<double>::infinity();
        for (long long a = 0; a < m; ++a) {
            if (is_med[s[a]]) continue;
            double cost = 0.0;
            for (long long b = 0; b < m; ++b) cost += w[s[b]] * std::min(d[a * m + b], near[s[b]]);
            if (cost < best_cost) {
                best_cost = cost;
                best = s[a];
            }
        }
        if (best < 0)
            for (long long i = 0; i < n && best < 0; ++i)
                if (!is_med[i]) best = i;
        med.push_back(best);
        is_med[best] = 1;
        const std::vector<double> row = pairs<T>(src, n, {best}, {});
        for (long long o = 0; o < n; ++o) near[o] = std::min(near[o], row[o]);
    }
    return med;
}

// k-medoids++ (docs/algorithms.md, "k-medoids++"): the trials' rows come from the device; the
// draws and sums run here in the CPU's order with its random stream.
template <class T, class Src>
std::vector<std::int64_t> kmedoids_plusplus(const Src& src, long long n, long long k,
                                            const std::vector<double>& w, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const int trials = 2 + int(std::log(double(k)));
    auto draw = [&](const std::vector<double>& p) {
        double total = 0.0;
        for (double v : p) total += v;
        if (!(total > 0.0)) return (long long)-1;
        const double u = uniform01(rng) * total;
        double run = 0.0;
        long long last_positive = -1;
        for (long long o = 0; o < n; ++o) {
            if (p[o] <= 0.0) continue;
            run += p[o];
            last_positive = o;
            if (u < run) return o;
        }
        return last_positive;
    };
    std::vector<std::int64_t> med;
    std::vector<char> is_med(n, 0);
    std::vector<double> p(w), near(n, std::numeric_limits<double>::infinity());
    long long first = draw(p);
    if (first < 0) first = 0;
    med.push_back(first);
    is_med[first] = 1;
    std::vector<double> row = pairs<T>(src, n, {first}, {}), best_row;
    for (long long o = 0; o < n; ++o) near[o] = std::min(near[o], row[o]);
    for (long long step = 1; step < k; ++step) {
        for (long long o = 0; o < n; ++o) p[o] = is_med[o] ? 0.0 : w[o] * near[o] * near[o];
        long long best = -1;
        double best_loss = std::numeric_limits<double>::infinity();
        for (int t = 0; t < trials; ++t) {
            const long long c = draw(p);
            if (c < 0) break;
            row = pairs<T>(src, n, {c}, {});
            double loss = 0.0;
            for (long long o = 0; o < n; ++o) loss += w[o] * std::min(near[o], row[o]);
            if (loss < best_loss) {
                best_loss = loss;
                best = c;
                best_row.swap(row);
            }
        }
        if (best < 0) {
            for (long long i = 0; i < n && best < 0; ++i)
                if (!is_med[i]) best = i;
            best_row = pairs<T>(src, n, {best}, {});
        }
        med.push_back(best);
        is_med[best] = 1;
        for (long long o = 0; o < n; ++o) near[o] = std::min(near[o], best_row[o]);
    }
    return med;
}

// As the CPU's unit_normalise (cosine works on unit rows).
template <class T>
void unit_normalise(T* x, long long d) {
    T norm = T(0);
    for (long long t = 0; t < d; ++t) norm += x[t] * x[t];
    if (!(norm >= std::numeric_limits<T>::min() && norm <= std::numeric_limits<T>::max())) {
        T scale = T(0);
        for (long long t = 0; t < d; ++t) scale = std::max(scale, T(std::abs(x[t])));
        if (!(scale > T(0))) return;
        for (long long t = 0; t < d; ++t) x[t] /= scale;
        norm = T(0);
        for (long long t = 0; t < d; ++t) norm += x[t] * x[t];
    }
    norm = std::sqrt(norm);
    for (long long t = 0; t < d; ++t) x[t] /= norm;
}

// Calls f(src, n) with the device source of the right type, alive for the call.
template <class T, class F>
auto with_typed_source(const DistanceSource& s, F&& f) {
    const ArrayRef& a = s.data;
    const long long n = a.dim(0);
    if (!s.on_the_fly) {
        DeviceInput<T> D(a, "the distance matrix");
        return f(StoredDistances<T>{D.get(), (long long)a.strides[0]}, n);
    }
    const long long d = a.dim(1), ld = n > 1 ? (long long)a.strides[0] : d;
    if (s.metric != Metric::cosine) {
        DeviceInput<T> X(a, "the features");
        return f(FeatureDistances<T>{X.get(), ld, int(d), s.metric}, n);
    }
    const std::size_t span = std::size_t((n - 1) * ld + d);
    std::vector<T> host;
    const T* base = static_cast<const T*>(a.data);
    if (a.on_device) {  // one copy of the whole span, not one per row
        host.resize(span);
        check(cudaMemcpy(host.data(), base, span * sizeof(T), cudaMemcpyDeviceToHost), "download");
        base = host.data();
    }
    std::vector<T> rows(n * d);  // unit rows, contiguous
    for (long long i = 0; i < n; ++i) {
        T* dst = rows.data() + i * d;
        std::copy(base + i * ld, base + i * ld + d, dst);
        unit_normalise(dst, d);
    }
    DeviceBuffer<T> X(n * d, "the unit-normalised features");
    X.upload(rows.data(), n * d);
    return f(FeatureDistances<T>{X.get(), d, int(d), s.metric}, n);
}

template <class F>
auto with_source(const DistanceSource& s, const std::vector<double>& w, F&& f) {
    const ArrayRef& a = s.data;
    if (a.dtype != DType::float32 && a.dtype != DType::float64)
        throw std::invalid_argument("distances: expected float32 or float64");
    if (a.shape.size() != 2 || !a.rows_contiguous())
        throw std::invalid_argument("distances: expected a 2-d array with contiguous rows");
    if (!s.on_the_fly && a.dim(0) != a.dim(1))
        throw std::invalid_argument("D: expected a square distance matrix");
    if (s.on_the_fly && (a.dim(1) < 1 || a.dim(1) > (1 << 30)))
        throw std::invalid_argument("X: expected at least one feature");
    if (a.dim(0) < 1 || a.dim(0) > (1LL << 40))
        throw std::invalid_argument("expected at least one point");
    if ((long long)w.size() != a.dim(0))
        throw std::invalid_argument("weights: expected one weight per point");
    return a.dtype == DType::float32 ? with_typed_source<float>(s, f)
                                     : with_typed_source<double>(s, f);
}

void check_medoids(const std::vector<std::int64_t>& med, long long n) {
    if (med.empty() || (long long)med.size() > n)
        throw std::invalid_argument("medoids: expected between 1 and n medoids");
    std::unordered_set<std::int64_t> seen;
    for (auto j : med) {
        if (j < 0 || j >= n)
            throw std::invalid_argument("medoids: index " + std::to_string(j) + " out of range");
        if (!seen.insert(j).second)
            throw std::invalid_argument("medoids: index " + std::to_string(j) + " repeated");
    }
}

void check_k(long long k, long long n) {
    if (k < 1 || k > n || k > (1 << 30)) throw std::invalid_argument("k: expected between 1 and n");
}

}  // namespace

DeviceCopy to_device(const ArrayRef& a) {
    if (a.on_device) return {a, nullptr};
    if (a.dtype != DType::float32 && a.dtype != DType::float64)
        throw std::invalid_argument("to_device: expected float32 or float64");
    if (a.shape.size() != 2 || !a.rows_contiguous())
        throw std::invalid_argument("to_device: expected a 2-d array with contiguous rows");
    std::size_t span = a.size() ? 1 : 0;
    for (std::size_t i = 0; i < a.shape.size() && span; ++i)
        span += std::size_t(a.shape[i] - 1) * std::size_t(a.strides[i]);
    const std::size_t bytes = span * itemsize(a.dtype);
    auto buffer = std::make_shared<DeviceBuffer<char>>(bytes, "the device copy");
    buffer->upload(static_cast<const char*>(a.data), bytes);
    DeviceCopy c{a, buffer};
    c.ref.data = buffer->get();
    c.ref.on_device = true;
    return c;
}

DeviceCopy distance_matrix(const DistanceSource& source) {
    if (!source.on_the_fly) throw std::invalid_argument("distance_matrix: expected features");
    const std::vector<double> unit(std::size_t(std::max<std::int64_t>(source.data.dim(0), 0)), 1.0);
    return with_source(source, unit, [&](auto src, long long n) {
        using T = typename decltype(src)::value_type;
        auto matrix = std::make_shared<DeviceBuffer<T>>(std::size_t(n) * n, "the distance matrix");
        DeviceBuffer<long long> rows(n, "rows");
        rows.upload(iota(n).data(), n);
        PARTITA_LAUNCH((pairs_kernel<T, decltype(src)>), blocks_for(n * n, point_threads),
                       point_threads, 0,
                       nullptr)(src, rows.get(), int(n), nullptr, n, matrix->get());
        sync("medoids.pairs_kernel");
        DeviceCopy c;
        c.ref.data = matrix->get();
        c.ref.dtype = source.data.dtype;
        c.ref.on_device = true;
        c.ref.shape = {n, n};
        c.ref.strides = {n, 1};
        c.owner = matrix;
        return c;
    });
}

Result optimise(const DistanceSource& source, std::vector<std::int64_t> medoids,
                const std::vector<double>& weights, Method method, std::int64_t max_iter,
                const InterruptPoll& poll) {
    return with_source(source, weights, [&](auto src, long long n) {
        using T = typename decltype(src)::value_type;
        check_medoids(medoids, n);
        const long long k = (long long)medoids.size();
        if (k == 1) return single_medoid<T>(src, n, medoids[0], weights, max_iter);
        Engine<T, decltype(src)> e(src, n, weights, k);
        e.set_medoids(std::vector<long long>(medoids.begin(), medoids.end()));
        return method == Method::fasterpam ? fasterpam(e, max_iter, poll)
                                           : fastpam1(e, max_iter, poll);
    });
}

Result clarans(const DistanceSource& source, std::int64_t k, const std::vector<double>& weights,
               std::int64_t n_local, std::int64_t max_neighbors, std::uint64_t seed,
               const InterruptPoll& poll) {
    return with_source(source, weights, [&](auto src, long long n) {
        using T = typename decltype(src)::value_type;
        check_k(k, n);
        return clarans<T>(src, n, k, weights, n_local, max_neighbors, seed, poll);
    });
}

Labelling label(const DistanceSource& source, const std::vector<std::int64_t>& medoids,
                const std::vector<double>& weights) {
    return with_source(source, weights, [&](auto src, long long n) {
        using T = typename decltype(src)::value_type;
        check_medoids(medoids, n);
        Engine<T, decltype(src)> e(src, n, weights, (long long)medoids.size());
        e.set_medoids(std::vector<long long>(medoids.begin(), medoids.end()));
        Labelling out;
        out.labels = e.labels();
        out.loss = e.loss();
        return out;
    });
}

std::vector<std::int64_t> build(const DistanceSource& source, std::int64_t k,
                                const std::vector<double>& weights, const InterruptPoll& poll) {
    return with_source(source, weights, [&](auto src, long long n) {
        using T = typename decltype(src)::value_type;
        check_k(k, n);
        return build<T>(src, n, k, weights, poll);
    });
}

std::vector<std::int64_t> lab(const DistanceSource& source,
                              const std::vector<std::int64_t>& samples, std::int64_t m,
                              const std::vector<double>& weights) {
    return with_source(source, weights, [&](auto src, long long n) {
        using T = typename decltype(src)::value_type;
        if (m < 1 || samples.size() % std::size_t(m) != 0)
            throw std::invalid_argument("samples: expected k rows of m point indices");
        for (auto i : samples)
            if (i < 0 || i >= n) throw std::invalid_argument("samples: index out of range");
        check_k((long long)samples.size() / m, n);
        return lab<T>(src, n, samples, m, weights);
    });
}

std::vector<std::int64_t> kmedoids_plusplus(const DistanceSource& source, std::int64_t k,
                                            const std::vector<double>& weights,
                                            std::uint64_t seed) {
    return with_source(source, weights, [&](auto src, long long n) {
        using T = typename decltype(src)::value_type;
        check_k(k, n);
        return kmedoids_plusplus<T>(src, n, k, weights, seed);
    });
}

}  // namespace partita::cuda::medoids
