"""Slow, obviously-correct reference ("oracle") for kernel k-means (docs/algorithms.md, "Kernel
k-means objective", "Empty clusters").

Plain NumPy on a stored float64 Gram matrix K, written for clarity, not speed. The rules are the
ones partita's C++ kernel implements:

* Distance of point i to the cluster c of a partition L, weights w, s_c = sum_{j in c} w_j:
  ``d(i, c) = K_ii - 2 sum_{j in c} w_j K_ij / s_c + sum_{j,l in c} w_j w_l K_jl / s_c^2``,
  clamped at 0 (rounding can make it slightly negative). Clusters with s_c = 0 are never chosen.
* Ties go to the lowest cluster index.
* The first assignment is to the feature-space images of the seed points:
  ``d(i, {j}) = K_ii - 2 K_ij + K_jj``.
* One iteration: re-seed the empty clusters of the current labels (below), make that partition
  the centres, assign every point to its nearest centre.
* Stop (converged) when no point changes cluster or when the inertia decreased by at most
  ``tol`` times its previous value, or after ``max_iter`` iterations.
* The reported inertia is the objective of the returned labels: the distances to the means of
  their own clusters (on convergence, the centres).
* Re-seeding: every cluster with no positive-weight point, in increasing order, takes the
  positive-weight point farthest from its own centre (ties to the lowest index) among the
  clusters that keep another positive-weight point; a point is moved at most once.
"""

import numpy as np

__all__ = ["kernel_kmeans", "seed_assignment", "partition_distances", "reseed_empty"]


def partition_distances(K, labels, w, k):
    """d(i, c) for every point and cluster of the partition `labels` (inf for empty clusters),
    and the cluster weights s."""
    n = K.shape[0]
    d = np.full((n, k), np.inf)
    s = np.zeros(k)
    for c in range(k):
        members = labels == c
        s[c] = w[members].sum()
        if not s[c] > 0:
            continue
        wc = w * members
        cross = K @ wc  # sum_{j in c} w_j K_ij
        norm = wc @ K @ wc  # sum_{j,l in c} w_j w_l K_jl
        d[:, c] = np.maximum(np.diag(K) - 2 * cross / s[c] + norm / s[c] ** 2, 0.0)
    return d, s


def seed_assignment(K, seeds):
    """Distances to the images of the seed points, shape (n, k)."""
    diag = np.diag(K)
    return np.maximum(diag[:, None] - 2 * K[:, seeds] + diag[seeds][None, :], 0.0)


def nearest(d):
    """Nearest cluster (ties to the lowest index: np.argmin returns the first minimum)."""
    labels = np.argmin(d, axis=1)
    return labels, d[np.arange(len(d)), labels]


def reseed_empty(labels, dist, w, k):
    """The partition with its empty clusters re-seeded, and the number of points moved."""
    L = labels.copy()
    members = np.array([np.sum((L == c) & (w > 0)) for c in range(k)])
    order = sorted(range(len(L)), key=lambda i: (-dist[i], i))
    moved = 0
    pos = 0
    for c in range(k):
        if members[c] > 0:
            continue
        while pos < len(order):
            i = order[pos]
            pos += 1
            if w[i] > 0 and members[L[i]] >= 2:
                members[L[i]] -= 1
                L[i] = c
                members[c] = 1
                moved += 1
                break
    return L, moved


def kernel_kmeans(K, seeds, w=None, max_iter=300, tol=1e-4):
    """Lloyd's kernel k-means from the images of `seeds`.

    Returns a dict: labels, centres (the partition whose means are the final centres),
    inertia (the objective of labels), n_iter, n_reseeded, converged, distances (n x k to the
    final centres).
    """
    K = np.asarray(K, dtype=np.float64)
    n = K.shape[0]
    seeds = np.asarray(seeds, dtype=np.int64)
    k = len(seeds)
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    D = seed_assignment(K, seeds)
    labels, dist = nearest(D)
    inertia = float(np.sum(w * dist))
    centres = labels
    n_iter = n_reseeded = 0
    converged = no_change = False
    while n_iter < max_iter:
        centres, moved = reseed_empty(labels, dist, w, k)
        n_reseeded += moved
        D, _ = partition_distances(K, centres, w, k)
        new_labels, new_dist = nearest(D)
        new_inertia = float(np.sum(w * new_dist))
        n_iter += 1
        changed = int(np.sum(new_labels != centres))
        previous = inertia
        labels, dist, inertia = new_labels, new_dist, new_inertia
        if changed == 0:
            converged = no_change = True
            break
        if previous - inertia <= tol * previous:
            converged = True  # a stop on tol is convergence too, as in scikit-learn
            break
    if not no_change and n_iter > 0:
        own, _ = partition_distances(K, labels, w, k)
        inertia = float(np.sum(w * own[np.arange(n), labels], where=w > 0))
    return dict(
        labels=labels,
        centres=centres,
        inertia=inertia,
        n_iter=n_iter,
        n_reseeded=n_reseeded,
        converged=converged,
        distances=D,
    )
