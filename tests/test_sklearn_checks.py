"""scikit-learn's estimator checks on KMedoids.

DESIGN.md: every estimator passes ``parametrize_with_checks``; any expected failure is listed with
its reason and must be one that scikit-learn itself accepts for KMeans.
"""
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from partita import KMedoids

ESTIMATORS = [
    KMedoids(n_clusters=3, random_state=0),
    KMedoids(n_clusters=3, method="alternate", random_state=0),
    KMedoids(n_clusters=3, init="k-medoids++", random_state=0),
    KMedoids(n_clusters=3, metric="manhattan", random_state=0),
]

# check name -> reason. Only checks that scikit-learn lists for KMeans in
# sklearn/utils/_test_common/instance_generator.py::PER_ESTIMATOR_XFAIL_CHECKS may appear here.
# KMeans is allowed to fail "check_sample_weight_equivalence_on_dense_data" / "_on_sparse_data"
# ("sample_weight is not equivalent to removing/repeating samples."), but KMedoids passes the
# dense one with these instances (BUILD and the swaps are deterministic, k-medoids++ sees the
# weights) and rejects sparse input, so nothing is expected to fail.
EXPECTED_FAILED_CHECKS = {}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_expected_failures_are_ones_sklearn_accepts_for_kmeans():
    instance_generator = pytest.importorskip("sklearn.utils._test_common.instance_generator")
    from sklearn.cluster import KMeans

    accepted = instance_generator.PER_ESTIMATOR_XFAIL_CHECKS.get(KMeans, {})
    assert set(EXPECTED_FAILED_CHECKS) <= set(accepted)
    for name, reason in EXPECTED_FAILED_CHECKS.items():
        assert isinstance(reason, str) and reason


@pytest.mark.parametrize("metric, pairwise", [("precomputed", True), ("euclidean", False)])
def test_pairwise_tag_follows_metric(metric, pairwise):
    tags = KMedoids(metric=metric).__sklearn_tags__()
    assert tags.input_tags.pairwise is pairwise
    assert set(tags.transformer_tags.preserves_dtype) == {"float64", "float32"}
