"""NumPy oracles of the dense multicut (docs/algorithms.md, "Multicut objective" and "GAEC"),
written for clarity, not speed; and the clustered test data of the multicut tests.

Edge costs c_ij = <f_i, f_j> - offset on the complete graph; the objective is the sum of the
costs of the cut edges (lower is better; one cluster scores 0). With node weights w, a node of
weight w_i stands for w_i coincident nodes, so the edge (i, j) costs w_i w_j c_ij.
"""

import numpy as np


def edge_costs(X, offset, metric="dot", w=None):
    """The explicit n x n cost matrix (diagonal unused), w_i w_j c_ij with node weights w."""
    X = np.asarray(X, dtype=np.float64)
    if metric == "cosine":
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
    C = X @ X.T - offset
    if w is not None:
        w = np.asarray(w, dtype=np.float64)
        C = C * np.outer(w, w)
    return C


def objective(X, labels, offset, metric="dot", w=None):
    """Sum of (w_i w_j) c_ij over the pairs i < j in different clusters."""
    C = edge_costs(X, offset, metric, w)
    labels = np.asarray(labels)
    cut = labels[:, None] != labels[None, :]
    return float(np.sum(np.triu(C * cut, 1)))


def canonical(labels):
    """Labels renumbered 0..c-1 in the order of each cluster's first sample."""
    labels = np.asarray(labels)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse.reshape(-1)]


def gaec(X, offset, metric="dot", w=None):
    """Greedy additive edge contraction on the explicit complete graph.

    W holds the summed cost between every two active clusters (-inf on the diagonal and for
    clusters merged away); each step contracts the active pair with the largest positive W,
    ties to the lexicographically smallest pair (lo, hi) of representatives (a cluster's
    representative, and its row in W, is its smallest sample). W is symmetric, so the first
    maximum in row-major order lies in row lo at column hi. Returns (labels, n_merges).
    """
    W = edge_costs(X, offset, metric, w)
    n = W.shape[0]
    np.fill_diagonal(W, -np.inf)
    labels = np.arange(n)
    merges = 0
    while n > 1:
        lo, hi = np.unravel_index(np.argmax(W), W.shape)
        if not W[lo, hi] > 0:
            break
        merged = W[lo, :] + W[hi, :]
        W[lo, :] = merged
        W[:, lo] = merged
        W[lo, lo] = -np.inf
        W[hi, :] = -np.inf
        W[:, hi] = -np.inf
        labels[labels == hi] = lo
        merges += 1
    return canonical(labels), merges


def set_partitions(n):
    """Every partition of range(n) as a restricted growth string (labels)."""
    labels = [0] * n

    def rec(i, top):
        if i == n:
            yield list(labels)
            return
        for v in range(top + 2):
            labels[i] = v
            yield from rec(i + 1, max(top, v))

    if n == 0:
        yield []
        return
    yield from rec(1, 0)


def exhaustive(X, offset, metric="dot", w=None):
    """The optimal objective over all partitions (n <= 10) and one optimal labelling."""
    C = edge_costs(X, offset, metric, w)
    n = C.shape[0]
    iu = np.triu_indices(n, 1)
    costs = C[iu]
    best, best_labels = np.inf, None
    for labels in set_partitions(n):
        lab = np.asarray(labels)
        value = float(costs[lab[iu[0]] != lab[iu[1]]].sum())
        if value < best:
            best, best_labels = value, lab
    return best, best_labels


def embeddings(n, d=16, n_centres=5, spread=1.5, seed=0):
    """Test data: unit vectors around random unit centres (the benchmark's generator, smaller);
    (X, centre of every row)."""
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((n_centres, d))
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    lab = rng.integers(n_centres, size=n)
    X = C[lab] + rng.standard_normal((n, d)) * np.sqrt(spread / d)
    return X / np.linalg.norm(X, axis=1, keepdims=True), lab
