"""The demo: cluster a data set with every partita estimator and two baselines, and compare.

  python -m partita                      scikit-learn's handwritten digits, 1797 x 64, 10 classes
  python -m partita --quick              a 400-sample subset (CI)
  python -m partita --plot digits.png    also draw each method's medoids or cluster means as
                                         images beside a 2-D embedding coloured by cluster
                                         (needs matplotlib: pip install "partita[plot]")
  python -m partita --data X.csv --labels y.csv --n-clusters 5    your own data (.csv or .npy)

Every row gives the number of clusters found, the samples left unassigned (label -1), the time,
ARI / NMI against the true classes computed on the assigned samples, and the method's own
objective in the column of its kind, so that values in one column compare.
"""

import argparse
import math
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import (
    adjusted_rand_score,
    euclidean_distances,
    normalized_mutual_info_score,
)
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import partita
from partita import (
    CLARA,
    CLARANS,
    DenseMulticut,
    DynMSC,
    KernelKMeans,
    KMedoids,
    SinkhornKMeans,
)

# The objective columns, one per kind of objective (lower is better in each).
DEVIATION = "deviation"  # total Euclidean distance to the medoids
L1_DEVIATION = "L1 dev."  # total Manhattan distance to the medoids
SSE = "k-means SSE"  # total squared distance to the cluster means (k-means inertia)
RBF = "rbf kernel"  # kernel k-means inertia in the rbf feature space
MULTICUT = "multicut"  # total cost of the cut edges
MEDOID_SIL = "medoid sil."  # medoid silhouette (higher is better)
OBJECTIVES = (DEVIATION, L1_DEVIATION, SSE, RBF, MULTICUT, MEDOID_SIL)
# The fitted attribute that holds each kind of objective (inertia_ for the others).
OBJECTIVE_ATTRIBUTE = {MULTICUT: "objective_", MEDOID_SIL: "medoid_silhouette_"}

QUICK_SIZE = 400  # samples kept by --quick
PAM_MAX_SAMPLES = 5000  # PAM's O(k n^2) swaps and the kmedoids package's n x n matrix beyond


@dataclass
class Run:
    """One row of the comparison: what ran, what it found, and its objective."""

    label: str
    labels: np.ndarray
    seconds: float
    objective: str
    value: float
    partial: bool = False  # the objective covers the assigned samples only
    medoids: np.ndarray = None  # sample indices, for the methods whose centres are samples
    notes: list = field(default_factory=list)  # warnings raised by the fit

    @property
    def n_unassigned(self):
        return int(np.count_nonzero(self.labels < 0))

    @property
    def n_clusters(self):
        return len(np.unique(self.labels[self.labels >= 0]))

    def scores(self, y):
        """(ARI, NMI) against the true classes y, on the assigned samples; None without y."""
        if y is None:
            return None
        assigned = self.labels >= 0
        if not assigned.any():
            return (math.nan, math.nan)
        return (
            adjusted_rand_score(y[assigned], self.labels[assigned]),
            normalized_mutual_info_score(y[assigned], self.labels[assigned]),
        )


def _methods(k, seed, n):
    """(label, objective kind, fit) for every configuration; fit(X) -> (labels, value, medoids)."""

    def estimator(make, objective):
        def fit(X):
            est = make().fit(X)
            value = getattr(est, OBJECTIVE_ATTRIBUTE.get(objective, "inertia_"))
            return est.labels_, value, getattr(est, "medoid_indices_", None)

        return objective, fit

    def kmedoids_package(X):
        import kmedoids

        # One thread: the package's parallel search visits swaps in another order.
        D = euclidean_distances(X)
        r = kmedoids.fasterpam(D, k, max_iter=300, init="build", n_cpu=1)
        return np.asarray(r.labels, dtype=np.intp), float(r.loss), np.asarray(r.medoids)

    runs = [("KMeans (scikit-learn, 5 inits)", SSE, _sklearn_kmeans(k, seed))]
    try:
        import kmedoids  # noqa: F401

        if n <= PAM_MAX_SAMPLES:
            runs.append(("kmedoids package fasterpam + build", DEVIATION, kmedoids_package))
    except ImportError:
        pass
    methods = ("fasterpam", "fastpam1", "pam", "alternate")
    if n > PAM_MAX_SAMPLES:
        methods = ("fasterpam", "alternate")
    for method in methods:
        runs.append(
            (
                f"KMedoids {method} + build",
                *estimator(lambda m=method: KMedoids(k, method=m, random_state=seed), DEVIATION),
            )
        )
    for init in ("lab", "k-medoids++"):
        runs.append(
            (
                f"KMedoids fasterpam + {init}",
                *estimator(lambda i=init: KMedoids(k, init=i, random_state=seed), DEVIATION),
            )
        )
    runs += [
        (
            "KMedoids fasterpam, manhattan",
            *estimator(lambda: KMedoids(k, metric="manhattan", random_state=seed), L1_DEVIATION),
        ),
        (
            "KMedoids fasterpam, on the fly",
            *estimator(lambda: KMedoids(k, distances="on-the-fly"), DEVIATION),
        ),
        (
            "CLARA (5 samples of 80 + 4k)",
            *estimator(lambda: CLARA(k, random_state=seed), DEVIATION),
        ),
        ("CLARANS (2 restarts)", *estimator(lambda: CLARANS(k, random_state=seed), DEVIATION)),
        (
            "KernelKMeans rbf, 5 inits",
            *estimator(lambda: KernelKMeans(k, n_init=5, random_state=seed), RBF),
        ),
        (
            "KernelKMeans linear (= k-means)",
            *estimator(lambda: KernelKMeans(k, kernel="linear", n_init=5, random_state=seed), SSE),
        ),
        ("SinkhornKMeans balanced", *estimator(lambda: SinkhornKMeans(k, random_state=seed), SSE)),
        (
            "SinkhornKMeans 90% mass",
            *estimator(lambda: SinkhornKMeans(k, mass=0.9, random_state=seed), SSE),
        ),
        (
            "DenseMulticut cosine (k from data)",
            *estimator(lambda: DenseMulticut(metric="cosine", offset=0.2), MULTICUT),
        ),
        (
            "KMedoids fastermsc + build",
            *estimator(lambda: KMedoids(k, method="fastermsc", random_state=seed), MEDOID_SIL),
        ),
        (
            f"DynMSC (k chosen in 2..{2 * k})",
            *estimator(lambda: DynMSC(2, min(2 * k, n - 1), random_state=seed), MEDOID_SIL),
        ),
    ]
    return runs


def _sklearn_kmeans(k, seed):
    def fit(X):
        km = KMeans(k, n_init=5, random_state=seed).fit(X)
        return km.labels_, km.inertia_, None

    return fit


def run_all(X, k, seed=0):
    """Fit every method on X (rows: samples); the list of Run, in table order."""
    runs = []
    for label, objective, fit in _methods(k, seed, X.shape[0]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            labels, value, medoids = fit(X)
            seconds = time.perf_counter() - t0
        labels = np.asarray(labels)
        run = Run(label, labels, seconds, objective, float(value), medoids=medoids)
        run.partial = run.n_unassigned > 0 and objective != MULTICUT
        run.notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        runs.append(run)
    return runs


def format_table(runs, y):
    """The comparison table, with one column per kind of objective that some run has."""
    kinds = [kind for kind in OBJECTIVES if any(r.objective == kind for r in runs)]
    head = f"{'method':35s} {'k':>3s} {'unassigned':>10s} {'time [s]':>8s} {'ARI':>6s} {'NMI':>6s}"
    head += "".join(f" {kind:>12s}" for kind in kinds)
    lines = [head, "-" * len(head)]
    for r in runs:
        scores = r.scores(y)
        ari, nmi = ("-", "-") if scores is None else (f"{scores[0]:.3f}", f"{scores[1]:.3f}")
        flag = "!" if r.notes else " "
        row = f"{r.label + flag:35s} {r.n_clusters:3d} {r.n_unassigned:10d} {r.seconds:8.3f}"
        row += f" {ari:>6s} {nmi:>6s}"
        for kind in kinds:
            cell = ""
            if r.objective == kind:
                cell = f"{r.value:.5g}" + ("*" if r.partial else "")
            row += f" {cell:>12s}"
        lines.append(row.rstrip())
    return "\n".join(lines)


def format_notes(runs, y):
    notes = []
    if any(r.partial for r in runs):
        notes.append("* over the assigned samples only (the others are left unassigned, -1).")
    notes.append(
        "ARI / NMI: agreement with the true classes (1 = perfect), on the assigned samples."
        if y is not None
        else "ARI / NMI: no true classes given (--labels)."
    )
    notes.append(
        "Objectives: lower is better except the medoid silhouette; rows compare within a column. "
        "deviation: total Euclidean "
        "distance to the medoids; L1 dev.: the same in Manhattan distance; k-means SSE: total "
        "squared distance to the cluster means; rbf kernel: the same in the rbf kernel's feature "
        "space; multicut: total cost of the cut edges; medoid sil.: mean over the samples of "
        "1 - (distance to the nearest medoid) / (distance to the second nearest)."
    )
    for r in runs:
        notes += [f"! {r.label}: {note}" for note in r.notes]
    return "\n".join(textwrap.fill(note, 100, subsequent_indent="  ") for note in notes)


# ---- data ----------------------------------------------------------------------------------


def _read_csv(path):
    """A numeric CSV (comma-separated), its first line skipped when it is a header."""
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    try:
        [float(v) for v in first.split(",")]
        skip = 0
    except ValueError:
        skip = 1
    return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)


def _read_labels(path, n):
    path = Path(path)
    if path.suffix == ".npy":
        labels = np.load(path, allow_pickle=False).ravel()
    else:
        with open(path, encoding="utf-8") as f:
            labels = np.array([line.strip() for line in f if line.strip()])
        if len(labels) == n + 1:  # a header line
            labels = labels[1:]
    if len(labels) != n:
        raise ValueError(f"{path} holds {len(labels)} labels for {n} samples")
    return np.unique(labels, return_inverse=True)[1].ravel()


def load_data(args, parser):
    """(X, y or None, description) from the command line's options."""
    if args.data is None:
        if args.labels is not None:
            parser.error("--labels needs --data")
        digits = load_digits()
        return digits.data, digits.target, "handwritten digits"
    path = Path(args.data)
    if path.suffix not in (".csv", ".npy"):
        parser.error(f"--data takes a .csv or .npy file, got {path.name!r}")
    try:
        X = np.load(path, allow_pickle=False) if path.suffix == ".npy" else _read_csv(path)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 3:
            raise ValueError(f"{path} must hold a 2-D matrix of at least 3 samples, got {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{path} holds NaN or infinite values")
        y = None if args.labels is None else _read_labels(args.labels, X.shape[0])
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    return X, y, path.name


# ---- the picture ---------------------------------------------------------------------------


def _colours_of(labels, reference, palette):
    """A colour per cluster: the colour of the reference class it matches best (one cluster per
    class, by the assignment that maximises agreement), grey shades for the others; and the
    clusters ordered by that class, then by size."""
    from scipy.optimize import linear_sum_assignment

    clusters = np.unique(labels[labels >= 0])
    classes = np.unique(reference[reference >= 0])
    both = (labels >= 0) & (reference >= 0)
    table = np.zeros((len(clusters), len(classes)))
    np.add.at(
        table,
        (np.searchsorted(clusters, labels[both]), np.searchsorted(classes, reference[both])),
        1,
    )
    rows, cols = linear_sum_assignment(-table)
    matched = dict(zip(rows.tolist(), cols.tolist()))
    colours, order = {}, []
    sizes = np.bincount(np.searchsorted(clusters, labels[labels >= 0]), minlength=len(clusters))
    greys = iter(np.linspace(0.25, 0.75, max(1, len(clusters) - len(matched))))
    for i in sorted(range(len(clusters)), key=lambda i: (matched.get(i, len(classes)), -sizes[i])):
        c = clusters[i]
        colours[c] = palette(matched[i] % palette.N) if i in matched else str(next(greys))
        order.append(c)
    return colours, order


def draw(runs, X_raw, X, y, path, seed=0, max_images=12):
    """A PNG: for each run, a 2-D t-SNE embedding coloured by cluster, and its medoids (or
    cluster means) drawn as images (square feature vectors) or strips."""
    import matplotlib

    matplotlib.use("Agg")  # a file, no display needed
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    n = X.shape[0]
    # Small data: one thread, as OpenMP's threads cost more than they save there.
    threads = 1 if n < 1000 else None
    with warnings.catch_warnings(), threadpool_limits(threads):
        warnings.simplefilter("ignore")
        embedding = TSNE(
            2, perplexity=min(30.0, (n - 1) / 3), init="pca", random_state=seed
        ).fit_transform(X)
    side = math.isqrt(X_raw.shape[1])
    square = side * side == X_raw.shape[1]
    reference = y if y is not None else runs[0].labels
    palette = plt.get_cmap("tab10" if len(np.unique(reference)) <= 10 else "tab20")
    rows = ([("true classes", y, None)] if y is not None else []) + [
        (r.label, r.labels, r.medoids) for r in runs
    ]
    n_images = min(max_images, max(len(np.unique(lab[lab >= 0])) for _, lab, _ in rows))
    per_line = (n_images + 1) // 2  # the images in two lines beside a square embedding
    n_columns = 2 if len(rows) > 4 else 1  # panels side by side
    n_lines = -(-len(rows) // n_columns)
    fig = plt.figure(figsize=(n_columns * 0.8 * (per_line + 2.3), n_lines * 2.0), dpi=100)
    outer = fig.add_gridspec(n_lines, n_columns, wspace=0.06, hspace=0.3)
    vmin, vmax = X_raw.min(), X_raw.max()
    for panel, (label, labels, medoids) in enumerate(rows):
        cell = outer[panel // n_columns, panel % n_columns].subgridspec(
            2, per_line + 2, wspace=0.08, hspace=0.25
        )
        colours, order = _colours_of(labels, reference, palette)
        ax = fig.add_subplot(cell[:, :2])
        point_colours = [colours.get(c, "0.85") for c in labels]
        ax.scatter(embedding[:, 0], embedding[:, 1], s=1.5, c=point_colours, linewidths=0)
        ax.set_box_aspect(1)
        ax.set_xticks([])
        ax.set_yticks([])
        if medoids is not None:
            kind = "medoids"
        else:
            kind = "class means" if label == "true classes" else "cluster means"
        ax.set_title(f"{label}: {kind}", fontsize=7, loc="left")
        for j, c in enumerate(order[:n_images]):
            members = labels == c
            image = X_raw[medoids[c]] if medoids is not None else X_raw[members].mean(axis=0)
            ax = fig.add_subplot(cell[j // per_line, 2 + j % per_line])
            ax.imshow(
                image.reshape(side, side) if square else image[None, :],
                cmap="gray_r",
                vmin=vmin,
                vmax=vmax,
                aspect="equal" if square else "auto",
                interpolation="nearest",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor(colours[c])
                spine.set_linewidth(2.5)
            ax.set_xlabel(str(int(members.sum())), fontsize=6, labelpad=1)
        if len(order) > n_images:
            ax.text(1.08, 0.5, f"+{len(order) - n_images}", transform=ax.transAxes, fontsize=6)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


# ---- the command ---------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m partita",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE} random samples")
    parser.add_argument("--seed", type=int, default=0, help="random_state of every method")
    parser.add_argument("--data", metavar="FILE", help="features, one sample a row (.csv, .npy)")
    parser.add_argument("--labels", metavar="FILE", help="true classes of --data (.csv, .npy)")
    parser.add_argument(
        "--n-clusters",
        type=int,
        metavar="K",
        help="clusters to find (default: the number of classes, or 8 without labels)",
    )
    parser.add_argument("--plot", metavar="FILE.png", help="draw the clusters (matplotlib)")
    args = parser.parse_args(argv)
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error('--plot needs matplotlib: pip install "partita[plot]"')

    X_raw, y, name = load_data(args, parser)
    if args.quick and X_raw.shape[0] > QUICK_SIZE:
        keep = np.sort(
            np.random.default_rng(args.seed).choice(X_raw.shape[0], QUICK_SIZE, replace=False)
        )
        X_raw, y = X_raw[keep], (None if y is None else y[keep])
    k = args.n_clusters or (len(np.unique(y)) if y is not None else 8)
    if not 2 <= k < X_raw.shape[0]:
        parser.error(f"--n-clusters must be at least 2 and below {X_raw.shape[0]}, got {k}")
    X = StandardScaler().fit_transform(X_raw)
    classes = "" if y is None else f", {len(np.unique(y))} classes"
    print(
        f"partita {partita.__version__}: {name}, {X.shape[0]} samples x {X.shape[1]} features"
        f"{classes} (standardised), k = {k}\n"
    )
    runs = run_all(X, k, args.seed)
    print(format_table(runs, y))
    print()
    print(format_notes(runs, y))
    if args.plot is not None:
        draw(runs, X_raw, X, y, args.plot, seed=args.seed)
        print(f"\npicture: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
