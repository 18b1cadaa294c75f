"""The demo (python -m partita): its rows, columns and options, on small data."""

import sys

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from partita import __main__ as demo


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=60, n_features=4, centers=3, cluster_std=1.0, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def noisy(blobs):
    """The blobs and 4 far outliers (a class of their own), which a 90% transport leaves out."""
    X, y = blobs
    outliers = np.random.default_rng(0).uniform(-40, 40, size=(4, X.shape[1]))
    return np.vstack([X, outliers]), np.concatenate([y, [3, 3, 3, 3]])


@pytest.fixture(scope="module")
def runs(noisy):
    X, _ = noisy
    return demo.run_all(X, 3, seed=0)


def by_label(runs):
    return {r.label: r for r in runs}


def test_every_run_counts_its_unassigned_samples_and_scores_the_assigned_ones(noisy, runs):
    _, y = noisy
    for r in runs:
        assert r.n_unassigned == np.count_nonzero(r.labels == -1)
        assigned = r.labels >= 0
        ari, nmi = r.scores(y)
        assert ari == adjusted_rand_score(y[assigned], r.labels[assigned])
        assert nmi == normalized_mutual_info_score(y[assigned], r.labels[assigned])
        assert r.partial == (r.n_unassigned > 0 and r.objective != demo.MULTICUT)
        assert r.objective in demo.OBJECTIVES
        assert r.scores(None) is None
    partial = by_label(runs)["SinkhornKMeans 90% mass"]
    assert partial.n_unassigned > 0 and partial.partial


def test_the_baselines_run_and_share_the_columns_of_their_objective(runs):
    rows = by_label(runs)
    kmeans = rows["KMeans (scikit-learn, 5 inits)"]
    # The linear kernel's feature space is the input space: the same objective, the same column.
    assert kmeans.objective == rows["KernelKMeans linear (= k-means)"].objective == demo.SSE
    assert kmeans.value == pytest.approx(rows["KernelKMeans linear (= k-means)"].value, rel=1e-9)


def test_the_kmedoids_baseline_equals_fasterpam_from_build(runs):
    pytest.importorskip("kmedoids")
    rows = by_label(runs)
    peer, ours = rows["kmedoids package fasterpam + build"], rows["KMedoids fasterpam + build"]
    assert peer.objective == ours.objective == demo.DEVIATION
    assert sorted(peer.medoids.tolist()) == sorted(ours.medoids.tolist())
    assert peer.value == pytest.approx(ours.value, rel=1e-12)


def test_the_table_has_one_column_per_kind_of_objective(noisy, runs):
    _, y = noisy
    header, _, *rows = demo.format_table(runs, y).splitlines()
    for kind in demo.OBJECTIVES:
        assert header.count(kind) == 1
    assert len(rows) == len(runs)
    (partial,) = [row for row in rows if row.startswith("SinkhornKMeans 90% mass")]
    assert partial.endswith("*")
    assert "* over the assigned samples only" in demo.format_notes(runs, y)
    without_labels = demo.format_table(runs, None).splitlines()[2]
    assert " -      - " in without_labels


def test_quick_runs_on_a_subset_of_the_digits(monkeypatch, capsys):
    monkeypatch.setattr(demo, "QUICK_SIZE", 120)
    assert demo.main(["--quick", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "handwritten digits, 120 samples x 64 features, 10 classes" in out
    assert "KMeans (scikit-learn, 5 inits)" in out
    assert "DenseMulticut cosine" in out


@pytest.fixture
def files(tmp_path, blobs):
    X, y = blobs
    csv, npy = tmp_path / "X.csv", tmp_path / "X.npy"
    np.savetxt(csv, X, delimiter=",", header="a,b,c,d", comments="")
    np.save(npy, X)
    labels_csv, labels_npy = tmp_path / "y.csv", tmp_path / "y.npy"
    labels_csv.write_text("class\n" + "\n".join(f"c{v}" for v in y) + "\n")
    np.save(labels_npy, y)
    return {"csv": csv, "npy": npy, "labels_csv": labels_csv, "labels_npy": labels_npy}


@pytest.mark.parametrize(("data", "labels"), [("csv", "labels_csv"), ("npy", "labels_npy")])
def test_data_and_labels_from_csv_or_npy(files, data, labels, capsys):
    assert demo.main(["--data", str(files[data]), "--labels", str(files[labels])]) == 0
    out = capsys.readouterr().out
    assert f"X.{data}, 60 samples x 4 features, 3 classes (standardised), k = 3" in out
    kmeans_row = next(line for line in out.splitlines() if line.startswith("KMeans"))
    assert float(kmeans_row.split()[7]) > 0.9  # ARI on three separated blobs


def test_data_without_labels_takes_n_clusters_and_shows_no_scores(files, capsys):
    assert demo.main(["--data", str(files["npy"]), "--n-clusters", "4"]) == 0
    out = capsys.readouterr().out
    assert "60 samples x 4 features (standardised), k = 4" in out
    assert "no true classes given" in out
    kmeans_row = next(line for line in out.splitlines() if line.startswith("KMeans"))
    k, unassigned, _, ari, nmi = kmeans_row.split()[4:9]  # after the 4 words of the name
    assert (k, unassigned, ari, nmi) == ("4", "0", "-", "-")


def test_plot_writes_a_png(files, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "clusters.png"
    args = ["--data", str(files["csv"]), "--labels", str(files["labels_csv"]), "--plot", str(png)]
    assert demo.main(args) == 0
    assert f"picture: {png}" in capsys.readouterr().out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_what_to_install(files, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib then fails
    with pytest.raises(SystemExit) as exc:
        demo.main(["--data", str(files["npy"]), "--plot", str(tmp_path / "x.png")])
    assert exc.value.code == 2
    assert 'pip install "partita[plot]"' in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{tmp}/missing.csv"], "missing.csv"),
        (["--data", "{tmp}/X.txt"], "a .csv or .npy file"),
        (["--data", "{npy}", "--labels", "{tmp}/short.csv"], "holds 3 labels for 60 samples"),
        (["--labels", "{labels_npy}"], "--labels needs --data"),
        (["--data", "{npy}", "--n-clusters", "1"], "--n-clusters must be at least 2"),
        (["--data", "{tmp}/nan.npy"], "NaN or infinite"),
        (["--data", "{tmp}/flat.npy"], "2-D matrix"),
    ],
)
def test_bad_options_exit_with_a_message(files, tmp_path, args, message, capsys):
    (tmp_path / "X.txt").write_text("1,2\n")
    (tmp_path / "short.csv").write_text("0\n1\n2\n")
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan], [0.0, 1.0], [2.0, 2.0]]))
    np.save(tmp_path / "flat.npy", np.arange(5.0))
    paths = {"tmp": tmp_path, "npy": files["npy"], "labels_npy": files["labels_npy"]}
    with pytest.raises(SystemExit) as exc:
        demo.main([a.format(**paths) for a in args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
