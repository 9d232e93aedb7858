"""Bootstrap stability: the vectorised scores against scikit-learn and hand counts, and the
figures on the shared data (fresh refits against warm ones)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix

from runtime.core.bundle import Bundle, load_bundle
from runtime.core.predictor import Predictor
from runtime.scoring.export import ExportChunk
from tests.conftest import DEFAULT_BUNDLE, SEED
from tests.training.conftest import Retrain
from training.stability import (
    STABILITY_SAMPLE,
    adjusted_rand,
    bootstrap,
    clusterwise_jaccard,
)


@pytest.fixture(scope="module")
def shipped() -> Bundle:
    return load_bundle(DEFAULT_BUNDLE)


def test_the_adjusted_rand_index_matches_scikit_learn(rng: np.random.Generator) -> None:
    k = 4
    tables, expected = [], []
    for _ in range(50):
        first = rng.integers(0, k, size=int(rng.integers(5, 200)))
        # Half of the second labelling agrees with the first, the rest is noise.
        second = np.where(rng.random(len(first)) < 0.5, first, rng.integers(0, k, len(first)))
        table = np.zeros((k, k), dtype=np.int64)
        found = contingency_matrix(first, second)
        table[np.ix_(np.unique(first), np.unique(second))] = found
        tables.append(table)
        expected.append(adjusted_rand_score(first, second))
    np.testing.assert_allclose(adjusted_rand(np.stack(tables)), expected, atol=1e-12,
                               err_msg=f"seed {SEED}")


def test_the_adjusted_rand_index_of_two_single_cluster_partitions_is_one() -> None:
    assert adjusted_rand(np.array([[[5, 0], [0, 0]]])).tolist() == [1.0]


def test_clusterwise_jaccard_takes_the_best_match_and_averages_over_resamples() -> None:
    tables = np.array([
        # Segment 0 = {a, b}, refit cluster 0 = {a, b, c}: 2/3. Segment 1 = {c, d}: best is
        # refit cluster 1 = {d}: 1/2 (cluster 0 gives 1/4).
        [[2, 0], [1, 1]],
        # Both segments found exactly.
        [[3, 0], [0, 2]],
        # Segment 1 absent from this resample: its mean is over the two others only.
        [[2, 2], [0, 0]],
    ])
    np.testing.assert_allclose(clusterwise_jaccard(tables), [(2 / 3 + 1 + 1 / 2) / 3, (1 / 2 + 1) / 2])


def test_well_separated_segments_are_perfectly_stable_and_large_inputs_are_sampled(
    rng: np.random.Generator,
) -> None:
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    segments = np.repeat([0, 1, 2], 1_000)
    space = centres[segments] + rng.normal(0, 0.5, size=(len(segments), 2))
    for init in (None, centres):
        result = bootstrap(space, segments, 3, init=init, resamples=20, seed=SEED)
        summary = result.stability
        assert summary.sample_size == STABILITY_SAMPLE < len(space)
        assert (summary.resamples, summary.seed, len(result.ari)) == (20, SEED, 20)
        assert summary.refit == ("fresh" if init is None else "warm")
        assert summary.ari_worst == summary.ari_mean == 1.0
        assert summary.jaccard == [1.0, 1.0, 1.0]


def test_a_tiny_export_whose_resamples_lose_a_segment_is_unstable_not_an_error() -> None:
    space = np.array([[0.0], [1.0], [5.0], [6.0], [10.0]])
    summary = bootstrap(space, np.array([0, 0, 1, 1, 2]), 3, resamples=30, seed=1).stability
    assert summary.ari_worst < 1.0
    assert all(0 < value <= 1 for value in summary.jaccard)


def test_fewer_than_one_resample_is_refused() -> None:
    with pytest.raises(ValueError, match="resamples must be at least 1, got 0"):
        bootstrap(np.zeros((4, 1)), np.zeros(4, dtype=int), 2, resamples=0)


def _stability(shipped: Bundle, customers: ExportChunk, warm: bool) -> tuple[float, ...]:
    predictions = Predictor(shipped).predict(customers.columns)
    init = shipped.centroids if warm else None
    summary = bootstrap(predictions.scaled, predictions.segments, 3, init=init, seed=42).stability
    return summary.ari_mean, summary.ari_p5, summary.ari_worst, *summary.jaccard


def test_on_the_shared_data_warm_refits_keep_the_segments_and_fresh_ones_do_not(
    shipped: Bundle, customers: ExportChunk
) -> None:
    # Seed 42 (training's default), 100 resamples, as `python -m training` records them.
    fresh = _stability(shipped, customers, warm=False)
    warm = _stability(shipped, customers, warm=True)
    print(f"fresh {fresh}\nwarm {warm}")
    warm_mean, warm_p5, _, *warm_jaccard = warm
    fresh_mean, fresh_p5, _, *fresh_jaccard = fresh
    # The targets of issue 17 for a routine retrain.
    assert warm_mean >= 0.95
    assert warm_p5 >= 0.80
    assert min(warm_jaccard) >= 0.95
    # Fresh refits: one in twenty lands in the data's other local optimum.
    assert fresh_mean < 0.9 and fresh_p5 < 0.5 and max(fresh_jaccard) < 0.95
    assert warm_mean - fresh_mean > 0.1


def test_a_retrain_records_its_stability(retrain: Retrain) -> None:
    summary = retrain.bundle.manifest.metrics.stability
    assert summary is not None
    assert (summary.refit, summary.resamples, summary.seed, summary.sample_size) == (
        "fresh", 100, 42, 86)
    assert summary.ari_worst <= summary.ari_p5 <= summary.ari_mean <= 1
    assert len(summary.jaccard) == 3
    page = (retrain.out / "report" / "report.md").read_text()
    assert "## Stability" in page
    assert f"| {summary.ari_mean:.3f} | {summary.ari_p5:.3f} | {summary.ari_worst:.3f} |" in page
    assert "bootstrap stability (100 fresh refits on 86 customers, " in retrain.stderr
