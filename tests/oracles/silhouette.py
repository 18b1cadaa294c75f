"""Slow, obviously-correct references for the silhouette and the medoid silhouette
(docs/algorithms.md, "Silhouette" and "Medoid silhouette"): plain Python loops over float64, each
sum in point order.

* ``D`` is a square distance matrix (n x n), symmetric with a zero diagonal.
* ``w`` is an optional vector of n non-negative weights; ``None`` means all ones.
"""

import numpy as np

__all__ = ["silhouette_samples", "silhouette", "medoid_silhouette_samples", "medoid_silhouette"]


def _weights(w, n):
    return [1.0] * n if w is None else [float(x) for x in w]


def silhouette_samples(D, labels, w=None):
    """Every point's (b - a) / max(a, b): a = weighted mean distance to the other points of its
    cluster, b = the smallest weighted mean distance to another cluster of positive weight; 0 for
    a point whose cluster has no other weight."""
    n = len(labels)
    w = _weights(w, n)
    clusters = sorted(set(int(c) for c in labels))
    out = np.zeros(n)
    for i in range(n):
        sums = {c: 0.0 for c in clusters}
        weight = {c: 0.0 for c in clusters}
        for j in range(n):
            if j == i:
                continue
            c = int(labels[j])
            sums[c] += w[j] * float(D[i][j])
            weight[c] += w[j]
        own = int(labels[i])
        if not weight[own] > 0:
            continue
        a = sums[own] / weight[own]
        others = [sums[c] / weight[c] for c in clusters if c != own and weight[c] > 0]
        b = min(others) if others else 0.0
        m = max(a, b)
        out[i] = (b - a) / m if m > 0 else 0.0
    return out


def silhouette(D, labels, w=None):
    """Weighted mean of silhouette_samples."""
    n = len(labels)
    s = silhouette_samples(D, labels, w)
    ww = _weights(w, n)
    return sum(ww[i] * s[i] for i in range(n)) / sum(ww)


def medoid_silhouette_samples(D, medoids):
    """Every point's 1 - d1 / d2 with d1 <= d2 its two smallest distances to the medoids (1 when
    d1 = 0)."""
    n = len(D)
    out = np.ones(n)
    for i in range(n):
        d = sorted(float(D[i][m]) for m in medoids)
        if d[0] != 0.0:
            out[i] = 1.0 - d[0] / d[1]
    return out


def medoid_silhouette(D, medoids, w=None):
    """Weighted mean of medoid_silhouette_samples."""
    n = len(D)
    s = medoid_silhouette_samples(D, medoids)
    ww = _weights(w, n)
    return sum(ww[i] * s[i] for i in range(n)) / sum(ww)
