"""Slow, obviously-correct reference ("oracle") for the k-medoids algorithms.

This module follows docs/algorithms.md (k-medoids) line by line.  It is written for clarity,
not speed: plain Python loops over plain Python floats (IEEE float64), so every sum accumulates in
float64 in index order (o = 0 .. n-1) exactly as the specification's pseudo-code does.  With
``w=None`` (all weights 1.0, and ``1.0 * x == x`` exactly) the results are bit-for-bit those of
the peer library ``kmedoids`` (Rust) with ``n_cpu=1`` and no random processing order.

Conventions shared by all functions:

* ``D`` is a square float distance matrix (n x n), symmetric with a zero diagonal.
* ``w`` is an optional vector of n non-negative sample weights; ``None`` means all ones.  Every sum
  over points is weighted: TD, removal loss, the scoring accumulators, BUILD gains, medoid sums.
* Medoids live in *slots* 0..k-1; labels are slots.  Slot order is preserved by every swap.
* The per-point state is (near_i, near_d, seco_i, seco_d): nearest and second-nearest medoid slot
  and distance.  An unset second nearest (only possible for k = 1) is (-1, +inf).

Swap algorithms return a dict with keys
``medoids`` (np.int64 array, slot order), ``labels`` (np.int64 array of slots), ``loss`` (float,
weighted TD of the returned medoids), ``n_iter`` (int) and ``n_swaps`` (int).

Documented deviations from the peer (deliberate):

* ``max_iter=0`` never swaps: the given medoids and their assignment are returned with n_iter=0,
  also for k = 1 (the peer solves k = 1 exactly even with max_iter=0 and reports n_iter=1).
* FastPAM1 / PAM: when an applied swap does not lower the recomputed loss (only possible through
  rounding), the peer stops but reports the loss *before* that swap while returning the medoids
  *after* it; the oracle reports the TD of the medoids it returns.
"""

import math

import numpy as np

__all__ = [
    "initial_assignment",
    "total_deviation",
    "removal_loss",
    "score_candidate",
    "apply_swap",
    "build",
    "fasterpam",
    "fastpam1",
    "pam",
    "alternate",
    "lowest_cluster_labels",
]

_UNSET = -1  # slot index of an unset second nearest medoid


# ----------------------------------------------------------------------------------------------
# input helpers
# ----------------------------------------------------------------------------------------------


def _as_lists(D, w):
    """Return D as a list of row lists of Python floats and w as a list of floats (ones if None)."""
    D = np.asarray(D, dtype=np.float64)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError("D must be a square matrix")
    n = D.shape[0]
    if w is None:
        wl = [1.0] * n
    else:
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError("w must have one weight per point")
        wl = w.tolist()
    return D.tolist(), wl


def _as_medoid_list(medoids, n):
    """Return the medoids as a list of Python ints, checking range and that k >= 1."""
    meds = [int(m) for m in np.asarray(medoids).ravel()]
    if len(meds) < 1 or len(meds) > n:
        raise ValueError("need 1 <= k <= n medoids")
    if any(m < 0 or m >= n for m in meds):
        raise ValueError("medoid index out of range")
    return meds


def _result(meds, near_i, loss, n_iter, n_swaps):
    """Pack a swap algorithm's result dict."""
    return {
        "medoids": np.asarray(meds, dtype=np.int64),
        "labels": np.asarray(near_i, dtype=np.int64),
        "loss": float(loss),
        "n_iter": int(n_iter),
        "n_swaps": None if n_swaps is None else int(n_swaps),
    }


# ----------------------------------------------------------------------------------------------
# per-point state
# ----------------------------------------------------------------------------------------------


def _initial_state(Dl, meds):
    """Nearest / second nearest (slot, distance) lists for every point, as the peer computes them.

    Slot 0 initialises the nearest.  For slot m >= 1 with d = D[o, medoids[m]]:
    if d < near_d or o == medoids[m]: the nearest moves to second and nearest = (m, d);
    elif the second is unset or d < seco_d: second = (m, d).
    Strict ``<`` gives ties to the lowest slot; ``o == medoids[m]`` makes a medoid its own nearest
    even when a duplicate point at distance 0 sits in a lower slot.
    """
    n = len(Dl)
    near_i, near_d = [0] * n, [0.0] * n
    seco_i, seco_d = [_UNSET] * n, [math.inf] * n
    for o in range(n):
        near_i[o], near_d[o] = 0, Dl[o][meds[0]]
        for m in range(1, len(meds)):
            d = Dl[o][meds[m]]
            if d < near_d[o] or o == meds[m]:
                seco_i[o], seco_d[o] = near_i[o], near_d[o]
                near_i[o], near_d[o] = m, d
            elif seco_i[o] == _UNSET or d < seco_d[o]:
                seco_i[o], seco_d[o] = m, d
    return near_i, near_d, seco_i, seco_d


def _weighted_sum(values, wl):
    """Sum w_o * values[o] in index order, in float64."""
    total = 0.0
    for o in range(len(values)):
        total += wl[o] * values[o]
    return total


def initial_assignment(D, medoids):
    """Assign every point to its nearest and second nearest medoid slot.

    Returns (near_i, near_d, seco_i, seco_d) as numpy arrays (int64, float64, int64, float64).
    Ties go to the lowest slot (strict ``<``), but a medoid is always its own nearest.  For k = 1
    the second nearest is unset: seco_i = -1, seco_d = +inf.
    """
    Dl, _ = _as_lists(D, None)
    meds = _as_medoid_list(medoids, len(Dl))
    near_i, near_d, seco_i, seco_d = _initial_state(Dl, meds)
    return (
        np.asarray(near_i, dtype=np.int64),
        np.asarray(near_d, dtype=np.float64),
        np.asarray(seco_i, dtype=np.int64),
        np.asarray(seco_d, dtype=np.float64),
    )


def total_deviation(D, medoids, w=None):
    """Weighted total deviation TD = sum_o w_o * d(o, nearest medoid), summed in index order."""
    Dl, wl = _as_lists(D, w)
    meds = _as_medoid_list(medoids, len(Dl))
    _, near_d, _, _ = _initial_state(Dl, meds)
    return _weighted_sum(near_d, wl)


def _removal_loss(k, wl, near_i, near_d, seco_d):
    """removal[i] = sum over points o with nearest slot i of w_o * (seco_d(o) - near_d(o))."""
    removal = [0.0] * k
    for o in range(len(near_i)):
        removal[near_i[o]] += wl[o] * (seco_d[o] - near_d[o])
    return removal


def removal_loss(D, medoids, w=None):
    """Loss increase if each medoid slot were deleted (weighted), as a float64 array of length k."""
    Dl, wl = _as_lists(D, w)
    meds = _as_medoid_list(medoids, len(Dl))
    near_i, near_d, _, seco_d = _initial_state(Dl, meds)
    return np.asarray(_removal_loss(len(meds), wl, near_i, near_d, seco_d), dtype=np.float64)


def _score(Dl, wl, removal, near_i, near_d, seco_d, j):
    """Score candidate j against all k slots at once; return (delta_td, best_slot).

    Follows the spec's pseudo-code: ploss starts as the removal loss, acc as 0; every point o
    (medoids and j included) with d = D[o, j] adds
      d < near_d:  acc += w (d - near_d);  ploss[near_i] += w (near_d - seco_d)
      d < seco_d:  ploss[near_i] += w (d - seco_d)
    b = first slot with the smallest ploss; delta_td = ploss[b] + acc.
    """
    ploss = list(removal)
    acc = 0.0
    for o in range(len(Dl)):
        d = Dl[o][j]
        if d < near_d[o]:
            acc += wl[o] * (d - near_d[o])
            ploss[near_i[o]] += wl[o] * (near_d[o] - seco_d[o])
        elif d < seco_d[o]:
            ploss[near_i[o]] += wl[o] * (d - seco_d[o])
    b = 0
    for m in range(1, len(ploss)):
        if ploss[m] < ploss[b]:
            b = m
    return ploss[b] + acc, b


def score_candidate(D, medoids, j, w=None):
    """Public wrapper of the O(n) + O(k) scoring of candidate j: returns (delta_td, slot)."""
    Dl, wl = _as_lists(D, w)
    meds = _as_medoid_list(medoids, len(Dl))
    near_i, near_d, _, seco_d = _initial_state(Dl, meds)
    removal = _removal_loss(len(meds), wl, near_i, near_d, seco_d)
    delta, b = _score(Dl, wl, removal, near_i, near_d, seco_d, int(j))
    return float(delta), int(b)


def _rescan_second(Dl, meds, o, nearest_slot, b, d_oj):
    """Second nearest of o over all slots except the nearest, seeded with (b, d_oj).

    Strict ``<`` against the seed: the new medoid in slot b wins ties.
    """
    best_i, best_d = b, d_oj
    for m in range(len(meds)):
        if m == nearest_slot or m == b:
            continue
        d = Dl[o][meds[m]]
        if d < best_d:
            best_i, best_d = m, d
    return best_i, best_d


def _swap(Dl, wl, meds, near_i, near_d, seco_i, seco_d, b, j):
    """Put point j into slot b, update the state in place (docs/algorithms.md, "Applying a
    swap"); return the new TD."""
    meds[b] = j
    for o in range(len(Dl)):
        if o == j:
            # The new medoid is its own nearest; the old nearest becomes second unless it was b.
            if near_i[o] != b:
                seco_i[o], seco_d[o] = near_i[o], near_d[o]
            near_i[o], near_d[o] = b, 0.0
            continue
        d = Dl[o][j]
        if near_i[o] == b:
            # The nearest medoid was replaced.
            if d < seco_d[o]:
                near_i[o], near_d[o] = b, d
            else:
                near_i[o], near_d[o] = seco_i[o], seco_d[o]
                seco_i[o], seco_d[o] = _rescan_second(Dl, meds, o, near_i[o], b, d)
        else:
            if d < near_d[o]:
                seco_i[o], seco_d[o] = near_i[o], near_d[o]
                near_i[o], near_d[o] = b, d
            elif d < seco_d[o]:
                seco_i[o], seco_d[o] = b, d
            elif seco_i[o] == b:
                # The second nearest was replaced by something farther away.
                seco_i[o], seco_d[o] = _rescan_second(Dl, meds, o, near_i[o], b, d)
    return _weighted_sum(near_d, wl)


def apply_swap(D, medoids, b, j, w=None):
    """Public wrapper: swap slot b for point j starting from the initial state of `medoids`.

    Returns (medoids, (near_i, near_d, seco_i, seco_d), loss) after the incremental update.
    """
    Dl, wl = _as_lists(D, w)
    meds = _as_medoid_list(medoids, len(Dl))
    near_i, near_d, seco_i, seco_d = _initial_state(Dl, meds)
    loss = _swap(Dl, wl, meds, near_i, near_d, seco_i, seco_d, int(b), int(j))
    state = (
        np.asarray(near_i, dtype=np.int64),
        np.asarray(near_d, dtype=np.float64),
        np.asarray(seco_i, dtype=np.int64),
        np.asarray(seco_d, dtype=np.float64),
    )
    return np.asarray(meds, dtype=np.int64), state, float(loss)


# ----------------------------------------------------------------------------------------------
# BUILD
# ----------------------------------------------------------------------------------------------


def build(D, k, w=None):
    """PAM BUILD: return a list of k distinct medoid indices (in the order they were chosen).

    First medoid: argmin of the weighted column sums sum_o w_o D[o, i] (ties: lowest index).
    Next medoids: the non-medoid i minimising sum_o w_o * min(0, D[o, i] - near_d(o)), which
    includes the o = i term -w_i * near_d(i) (accumulated first, as the peer does); the gain must
    be strictly negative, ties go to the lowest index.  If no candidate lowers TD (duplicates),
    take the lowest-index non-medoid so that k distinct medoids are always returned (the peer
    stops early and returns fewer than k).
    """
    Dl, wl = _as_lists(D, w)
    n = len(Dl)
    k = int(k)
    if k < 1 or k > n:
        raise ValueError("need 1 <= k <= n")
    first, first_sum = None, None
    for i in range(n):
        s = 0.0
        for o in range(n):
            s += wl[o] * Dl[o][i]
        if first is None or s < first_sum:
            first, first_sum = i, s
    meds = [first]
    near_d = [Dl[o][first] for o in range(n)]
    while len(meds) < k:
        best, best_gain = None, 0.0
        for i in range(n):
            if i in meds:
                continue
            # The o = i term (-w_i * near_d(i)) is added first, then o != i in index order:
            # the same sum, in the peer's order, so exact ties resolve as the peer's do.
            gain = -wl[i] * near_d[i]
            for o in range(n):
                d = Dl[o][i]
                if o != i and d < near_d[o]:
                    gain += wl[o] * (d - near_d[o])
            if gain < best_gain:
                best, best_gain = i, gain
        if best is None:  # nothing lowers TD: lowest-index non-medoid
            best = next(i for i in range(n) if i not in meds)
        meds.append(best)
        for o in range(n):
            if Dl[o][best] < near_d[o]:
                near_d[o] = Dl[o][best]
    return meds


# ----------------------------------------------------------------------------------------------
# k = 1: exact solution
# ----------------------------------------------------------------------------------------------


def _best_in_cluster(Dl, wl, members, incumbent):
    """Member minimising the weighted distance sum to the members; keep the incumbent unless a
    member is strictly better (scan in index order).  Returns (medoid, its sum)."""

    def cost(j):
        s = 0.0
        for o in members:
            s += wl[o] * Dl[o][j]
        return s

    best, best_sum = incumbent, cost(incumbent)
    for j in members:
        if j == incumbent:
            continue
        s = cost(j)
        if s < best_sum:
            best, best_sum = j, s
    return best, best_sum


def _solve_k1(Dl, wl, meds):
    """k = 1 solved exactly: n_iter = 1, n_swaps = 1 if the medoid changed."""
    n = len(Dl)
    best, loss = _best_in_cluster(Dl, wl, list(range(n)), meds[0])
    changed = best != meds[0]
    return _result([best], [0] * n, loss, 1, 1 if changed else 0)


# ----------------------------------------------------------------------------------------------
# swap algorithms
# ----------------------------------------------------------------------------------------------


def fasterpam(D, medoids, max_iter=300, w=None):
    """FasterPAM (eager swaps); returns the result dict (medoids, labels, loss, n_iter, n_swaps).

    Candidates j = 0..n-1 in index order; medoids are skipped (j == medoids[near_i[j]]); any
    swap with delta < 0 is applied at once.  A pass stops early when it reaches the candidate of
    the last swap (so passes after the first usually end there).  Stop after a pass that made no
    swap or did not lower the loss, or after max_iter passes.  k = 1 is solved exactly.
    """
    Dl, wl = _as_lists(D, w)
    n = len(Dl)
    meds = _as_medoid_list(medoids, n)
    k = len(meds)
    near_i, near_d, seco_i, seco_d = _initial_state(Dl, meds)
    loss = _weighted_sum(near_d, wl)
    if max_iter <= 0:
        return _result(meds, near_i, loss, 0, 0)
    if k == 1:
        return _solve_k1(Dl, wl, meds)
    removal = _removal_loss(k, wl, near_i, near_d, seco_d)
    last_swap, n_swaps, n_iter = n, 0, 0
    while n_iter < max_iter:
        n_iter += 1
        swaps_before, loss_before = n_swaps, loss
        for j in range(n):
            if j == last_swap:
                break
            if j == meds[near_i[j]]:
                continue  # already a medoid
            delta, b = _score(Dl, wl, removal, near_i, near_d, seco_d, j)
            if not delta < 0.0:
                continue
            n_swaps += 1
            last_swap = j
            loss = _swap(Dl, wl, meds, near_i, near_d, seco_i, seco_d, b, j)
            removal = _removal_loss(k, wl, near_i, near_d, seco_d)
        if n_swaps == swaps_before or loss >= loss_before:
            break
    return _result(meds, near_i, loss, n_iter, n_swaps)


def _best_swap_loop(Dl, wl, meds, max_iter, find_best):
    """Shared driver of FastPAM1 and PAM: one best swap per iteration.

    find_best(state) returns (delta, slot, j) with j None when no swap has delta < 0.
    Stops when the best delta is >= 0, when the swap did not lower the loss, or after max_iter.
    """
    _n, k = len(Dl), len(meds)
    near_i, near_d, seco_i, seco_d = _initial_state(Dl, meds)
    loss = _weighted_sum(near_d, wl)
    if max_iter <= 0:
        return _result(meds, near_i, loss, 0, 0)
    if k == 1:
        return _solve_k1(Dl, wl, meds)
    n_swaps, n_iter = 0, 0
    while n_iter < max_iter:
        n_iter += 1
        delta, b, j = find_best(near_i, near_d, seco_i, seco_d)
        if j is None or not delta < 0.0:
            break
        n_swaps += 1
        new_loss = _swap(Dl, wl, meds, near_i, near_d, seco_i, seco_d, b, j)
        if new_loss >= loss:
            loss = new_loss  # report the TD of the medoids returned (the peer keeps the old one)
            break
        loss = new_loss
    return _result(meds, near_i, loss, n_iter, n_swaps)


def fastpam1(D, medoids, max_iter=300, w=None):
    """FastPAM1: per iteration score every non-medoid candidate (O(n) each, all slots at once)
    and perform the single best swap; ties: smallest j, then smallest slot.  Returns the dict."""
    Dl, wl = _as_lists(D, w)
    n = len(Dl)
    meds = _as_medoid_list(medoids, n)
    k = len(meds)

    def find_best(near_i, near_d, seco_i, seco_d):
        removal = _removal_loss(k, wl, near_i, near_d, seco_d)
        best = (0.0, None, None)
        for j in range(n):
            if j == meds[near_i[j]]:
                continue
            delta, b = _score(Dl, wl, removal, near_i, near_d, seco_d, j)
            if delta < best[0]:
                best = (delta, b, j)
        return best

    return _best_swap_loop(Dl, wl, meds, max_iter, find_best)


def _pam_delta(Dl, wl, near_i, near_d, seco_d, m, j):
    """Classic PAM: change of TD when slot m is replaced by point j, one O(n) pass.

    Starts with -w_j * near_d(j) (j becomes a medoid), then for every other point o:
    if o's nearest is slot m: it moves to j (if D[o, j] < seco_d) or to its second nearest;
    otherwise it moves to j only when D[o, j] < near_d.
    """
    acc = -wl[j] * near_d[j]
    for o in range(len(Dl)):
        if o == j:
            continue
        d = Dl[o][j]
        if near_i[o] == m:
            if d < seco_d[o]:
                acc += wl[o] * (d - near_d[o])
            else:
                acc += wl[o] * (seco_d[o] - near_d[o])
        elif d < near_d[o]:
            acc += wl[o] * (d - near_d[o])
    return acc


def pam(D, medoids, max_iter=300, w=None):
    """Original PAM SWAP: evaluate every (slot, candidate) pair in O(n) and perform the best
    swap; ties: smallest j, then smallest slot (strict ``<`` as in the peer).  O(k n^2) per
    iteration.  Returns the result dict."""
    Dl, wl = _as_lists(D, w)
    n = len(Dl)
    meds = _as_medoid_list(medoids, n)
    k = len(meds)

    def find_best(near_i, near_d, seco_i, seco_d):
        best = (0.0, None, None)
        for j in range(n):
            if j == meds[near_i[j]]:
                continue
            for m in range(k):
                delta = _pam_delta(Dl, wl, near_i, near_d, seco_d, m, j)
                if delta < best[0]:
                    best = (delta, m, j)
        return best

    return _best_swap_loop(Dl, wl, meds, max_iter, find_best)


def alternate(D, medoids, max_iter=300, w=None):
    """Alternate (Voronoi iteration).  Returns the result dict.

    Each iteration: with the labels fixed, every slot in order takes the cluster member with the
    smallest weighted within-cluster distance sum (incumbent kept unless strictly better, scan in
    index order); if no medoid changed, stop; otherwise reassign every point to its nearest
    medoid (ties to the lowest slot, a medoid to itself).  n_iter counts iterations including the
    final one that changed nothing (as the peer); n_swaps is the total number of slot changes
    (the peer reports None).
    """
    Dl, wl = _as_lists(D, w)
    n = len(Dl)
    meds = _as_medoid_list(medoids, n)
    k = len(meds)
    labels, near_d, _, _ = _initial_state(Dl, meds)
    loss = _weighted_sum(near_d, wl)
    n_iter, n_swaps = 0, 0
    while n_iter < max_iter:
        n_iter += 1
        changed = False
        for m in range(k):
            members = [o for o in range(n) if labels[o] == m]
            best, _ = _best_in_cluster(Dl, wl, members, meds[m])
            if best != meds[m]:
                meds[m] = best
                n_swaps += 1
                changed = True
        if not changed:
            break
        labels, near_d, _, _ = _initial_state(Dl, meds)
        loss = _weighted_sum(near_d, wl)
    return _result(meds, labels, loss, n_iter, n_swaps)


# ----------------------------------------------------------------------------------------------
# labels
# ----------------------------------------------------------------------------------------------


def lowest_cluster_labels(D, medoid_indices):
    """The labels the estimators report (docs/algorithms.md, "Ties"): every point's nearest
    medoid slot, the lowest slot among equally near ones (a medoid's own sample included), i.e.
    argmin over the medoids' distance rows. The swap algorithms above return the per-point state
    instead, where a medoid is its own nearest and a tie stays where a swap left it."""
    D = np.asarray(D)
    medoids = np.asarray(medoid_indices, dtype=np.int64)
    return np.argmin(D[medoids], axis=0).astype(np.int64)
