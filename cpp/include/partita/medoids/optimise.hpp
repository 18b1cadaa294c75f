// The swap and alternate optimisers chosen by name at run time.
#pragma once

#include <stdexcept>
#include <vector>

#include "partita/common.hpp"
#include "partita/medoids/alternate.hpp"
#include "partita/medoids/fastermsc.hpp"
#include "partita/medoids/fasterpam.hpp"
#include "partita/medoids/fastmsc.hpp"
#include "partita/medoids/fastpam1.hpp"
#include "partita/medoids/pam.hpp"
#include "partita/medoids/pammedsil.hpp"
#include "partita/medoids/pamsil.hpp"

namespace partita::medoids {

// fastermsc, fastmsc and pammedsil maximise the medoid silhouette, pamsil the silhouette; their
// Result.loss is that silhouette.
enum class Method : int {
    fasterpam,
    fastpam1,
    pam,
    alternate,
    fastermsc,
    fastmsc,
    pammedsil,
    pamsil
};

// Runs `method` from the initial medoids `med`.
template <class Src>
Result optimise(const Src& src, Method method, const std::vector<index_t>& med, const double* w,
                index_t max_iter, int n_threads, InterruptCheck& interrupt) {
    switch (method) {
        case Method::fasterpam: return fasterpam(src, med, w, max_iter, n_threads, interrupt);
        case Method::fastpam1: return fastpam1(src, med, w, max_iter, n_threads, interrupt);
        case Method::pam: return pam(src, med, w, max_iter, n_threads, interrupt);
        case Method::alternate: return alternate(src, med, w, max_iter, n_threads, interrupt);
        case Method::fastermsc: return fastermsc(src, med, w, max_iter, n_threads, interrupt);
        case Method::fastmsc: return fastmsc(src, med, w, max_iter, n_threads, interrupt);
        case Method::pammedsil: return pammedsil(src, med, w, max_iter, n_threads, interrupt);
        case Method::pamsil: return pamsil(src, med, w, max_iter, n_threads, interrupt);
    }
    throw std::invalid_argument("unknown k-medoids method");
}

}  // namespace partita::medoids
