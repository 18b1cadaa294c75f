"""The demo: cluster a real data set with every partita estimator and print a comparison.

python -m partita            # scikit-learn's handwritten digits, 1797 x 64, 10 classes
python -m partita --quick    # a 400-sample subset, for CI
"""

import argparse
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.preprocessing import StandardScaler

import partita
from partita import CLARA, CLARANS, DenseMulticut, KernelKMeans, KMedoids, SinkhornKMeans


def _estimators(k, seed):
    """(label, estimator) for every configuration the demo runs."""
    runs = []
    for method in ("fasterpam", "fastpam1", "pam", "alternate"):
        runs.append((f"KMedoids {method} + build", KMedoids(k, method=method, random_state=seed)))
    for init in ("lab", "k-medoids++"):
        runs.append((f"KMedoids fasterpam + {init}", KMedoids(k, init=init, random_state=seed)))
    runs.append(
        ("KMedoids fasterpam, manhattan", KMedoids(k, metric="manhattan", random_state=seed))
    )
    runs.append(("KMedoids fasterpam, on the fly", KMedoids(k, distances="on-the-fly")))
    runs.append(("CLARA (5 samples of 80 + 4k)", CLARA(k, random_state=seed)))
    runs.append(("CLARANS (2 restarts)", CLARANS(k, random_state=seed)))
    runs.append(("KernelKMeans rbf, 5 inits", KernelKMeans(k, n_init=5, random_state=seed)))
    runs.append(
        (
            "KernelKMeans linear (= k-means)",
            KernelKMeans(k, kernel="linear", n_init=5, random_state=seed),
        )
    )
    runs.append(("SinkhornKMeans balanced", SinkhornKMeans(k, random_state=seed)))
    runs.append(("SinkhornKMeans 90% mass", SinkhornKMeans(k, mass=0.9, random_state=seed)))
    runs.append(("DenseMulticut cosine (k from data)", DenseMulticut(metric="cosine", offset=0.2)))
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m partita",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a small subset, for CI")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    digits = load_digits()
    X, y = digits.data, digits.target
    if args.quick:
        idx = np.random.default_rng(args.seed).choice(len(X), 400, replace=False)
        X, y = X[np.sort(idx)], y[np.sort(idx)]
    X = StandardScaler().fit_transform(X)
    k = len(np.unique(y))
    print(
        f"partita {partita.__version__}: handwritten digits, {X.shape[0]} samples x "
        f"{X.shape[1]} features, {k} classes (standardised)\n"
    )

    header = f"{'method':34s} {'clusters':>8s} {'time [s]':>9s} {'ARI':>6s} {'NMI':>6s}  objective"
    print(header)
    print("-" * len(header))
    for label, est in _estimators(k, args.seed):
        t0 = time.perf_counter()
        labels = est.fit_predict(X)
        elapsed = time.perf_counter() - t0
        ari = adjusted_rand_score(y, labels)
        nmi = normalized_mutual_info_score(y, labels)
        n_clusters = len(np.unique(labels[labels >= 0]))  # -1: left unassigned
        if isinstance(est, DenseMulticut):
            objective, value = "multicut objective", est.objective_
        else:
            value = est.inertia_
            objective = {
                KernelKMeans: "kernel k-means inertia",
                SinkhornKMeans: "k-means inertia",
            }.get(type(est), "total deviation")
        print(
            f"{label:34s} {n_clusters:8d} {elapsed:9.3f} {ari:6.3f} {nmi:6.3f}  "
            f"{objective} {value:.2f}"
        )
    print(
        "\nARI / NMI: agreement with the true digit labels (1 = perfect). The objective is each "
        "estimator's own loss: lower is better within a metric."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
