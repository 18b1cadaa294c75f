"""The GPU path of :class:`~partita.KernelKMeans` (``device="cuda"``).

The Gram matrix lives on the device (``_cuda.kernel_kmeans.Problem``): stored when it fits in half
the free device memory (or given precomputed), otherwise recomputed in tiles from the features at
every pass. The device computes Gram rows, the pass E += w K[j] over the rows of the points that
moved, and the assignment; this module runs the CPU's Lloyd loop around them
(cpp/include/partita/kernel_kmeans/lloyd.hpp) with the same sums in the same order, so that the
labels equal the CPU's from the same seeds. The schedule is specified in docs/algorithms.md
("Kernel k-means on a GPU").
"""

from types import SimpleNamespace

import numpy as np

from . import _backend


def kernels():
    """``_cuda.kernel_kmeans`` (warns GPUNotValidatedWarning until validated on a GPU)."""
    return _backend.family_module("kernel_kmeans", "cuda")


def _sequential_sum(x):
    """sum(x) in index order, as the CPU's loops (NumPy's sum is pairwise)."""
    return float(np.cumsum(x)[-1]) if x.size else 0.0


class DeviceGram:
    """A Gram matrix on the device, with the interface KernelKMeans's initialisation uses."""

    def __init__(self, problem):
        self.problem = problem
        self.dtype = np.dtype(problem.dtype)

    def diagonal(self):
        return self.problem.diagonal()

    def rows(self, idx, threads=None):  # threads: the CPU's signature; the device ignores it
        return self.problem.rows(np.ascontiguousarray(idx, dtype=np.int64))


def gram_source(X, kernel_args, gram, builtin):
    """(DeviceGram, mode): features of a built-in kernel (stored or recomputed on the device,
    ``gram`` as the estimator's parameter), or a stored Gram matrix X uploaded as it is."""
    mod = kernels()
    if not builtin:
        return DeviceGram(mod.Problem.precomputed(np.ascontiguousarray(X))), "stored"
    kernel, gamma, degree, coef0 = kernel_args
    name = {"poly": "polynomial"}.get(kernel, kernel)
    params = mod.KernelParams(getattr(mod.Kernel, name), gamma, degree, coef0)
    n = X.shape[0]
    store = gram == "stored"
    if gram == "auto":
        store = n * n * X.dtype.itemsize <= int(mod.free_device_memory()) // 2
    problem = mod.Problem(X, params, store)
    return DeviceGram(problem), ("stored" if store else "blocked")


def _reseed_empty(L, dist, w, k):
    """The CPU's reseed_empty: empty clusters, in increasing order, take the positive-weight points
    farthest from their centre (ties to the lowest index) from clusters that keep another one."""
    members = np.bincount(L[w > 0], minlength=k)
    empty = np.flatnonzero(members == 0)
    if empty.size == 0:
        return 0
    order = np.argsort(-dist, kind="stable")
    moved = pos = 0
    n = L.shape[0]
    for c in empty:
        while pos < n:
            i = order[pos]
            pos += 1
            if w[i] > 0 and members[L[i]] >= 2:
                members[L[i]] -= 1
                L[i] = c
                members[c] = 1
                moved += 1
                break
    return moved


class _CentreSums:
    """E = K Z on the device and s, F, norms on the host: the CPU's CentreSums."""

    def __init__(self, problem, n, k):
        self.problem, self.n, self.k = problem, n, k
        self.centres = None
        self.s = np.zeros(k)
        self.norms = np.zeros(k)

    def move_to(self, nxt, w):
        positive = w != 0
        if self.centres is None:
            full = True
        else:
            moved = (nxt != self.centres) & positive
            full = 2 * int(moved.sum()) > self.n
        if full:
            self.problem.reset_sums(self.k)
            js = np.flatnonzero(positive)
            from_ = np.full(js.shape[0], -1, dtype=np.int32)
        else:
            js = np.flatnonzero(moved)
            from_ = self.centres[js]
        self.problem.accumulate(js, from_, nxt[js], w[js])
        self.centres = nxt.copy()
        self._weigh(w)

    def _weigh(self, w):
        own = self.problem.own_sums(self.centres)
        # bincount adds in index order, as the CPU's loop.
        self.s = np.bincount(self.centres, weights=w, minlength=self.k)
        F = np.bincount(self.centres, weights=w * own, minlength=self.k)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.norms = np.where(self.s > 0, F / (self.s * self.s), 0.0)

    def objective(self, L, diag, w):
        """The CPU's labels_objective for the partition these sums hold (L = centres)."""
        own = self.problem.own_sums(L)
        s = self.s[L]
        keep = (w != 0) & (s > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = diag - 2.0 * own / s + self.norms[L]
        d = np.where(keep, np.maximum(d, 0.0) * w, 0.0)
        return _sequential_sum(d)


def lloyd(source, seeds, weights, max_iter, tol, progress=None):
    """The CPU's lloyd() (cpp/include/partita/kernel_kmeans/lloyd.hpp) over a DeviceGram: the
    same result fields, the same labels in float64 from the same seeds."""
    problem = source.problem
    n, k = int(problem.size), int(seeds.shape[0])
    w = np.ascontiguousarray(weights, dtype=np.float64)
    diag = np.asarray(problem.diagonal(), dtype=np.float64)
    # The seeds' images: E row c = K[seed_c], s = 1, norms = K_jj gives K_ii - 2 K_ij + K_jj.
    problem.reset_sums(k)
    problem.accumulate(seeds, np.full(k, -1, np.int32), np.arange(k, dtype=np.int32), np.ones(k))
    a = problem.assign(np.ones(k), diag[seeds])
    labels, dist = a.labels, a.distances
    res = SimpleNamespace(n_iter=0, n_reseeded=0, converged=False, tol_reached=False, inertia=0.0)
    res.inertia = _sequential_sum(w * dist)
    sums = _CentreSums(problem, n, k)
    while res.n_iter < max_iter:
        nxt = labels.copy()
        res.n_reseeded += _reseed_empty(nxt, dist, w, k)
        sums.move_to(nxt, w)
        a = problem.assign(sums.s, sums.norms)
        new_labels, new_dist = a.labels, a.distances
        inertia = _sequential_sum(w * new_dist)
        changed = int(np.count_nonzero(new_labels != sums.centres))
        res.n_iter += 1
        if progress is not None:
            progress(res.n_iter, changed, inertia)
        previous = res.inertia
        labels, dist, res.inertia = new_labels, new_dist, inertia
        if changed == 0:
            res.converged = True
            break
        if previous - inertia <= tol * previous:
            res.tol_reached = True
            break
    res.labels = labels
    res.distances = dist
    res.centres = sums.centres
    res.cluster_weights = sums.s
    res.centre_norms = sums.norms
    if not res.converged and res.n_iter > 0:
        sums.move_to(labels, w)
        res.inertia = sums.objective(labels, diag, w)
    return res
