"""The model on the shared data: cleaning, separation, agreement with the seed, sample placement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score

from runtime.core.bundle import Bundle, load_bundle
from runtime.core.predictor import Predictor
from runtime.scoring.export import ExportChunk, read_export
from tests.conftest import DEFAULT_BUNDLE, SAMPLES, SEGMENT_NAMES
from training.model import DISCOUNT_WEIGHT, FittedModel, feature_specs, fit
from training.pipeline import clean


@pytest.fixture(scope="module")
def shipped() -> Bundle:
    return load_bundle(DEFAULT_BUNDLE)


def seed_assignment(path: Path, customers: ExportChunk) -> np.ndarray:
    """The seed model's segment for each customer, matched by CustomerID."""
    by_customer = json.loads(path.read_text())["segment_by_customer"]
    ids = customers.columns["CustomerID"].tolist()
    assert sorted(by_customer) == sorted(ids)  # the same 86 customers
    return np.array([by_customer[customer] for customer in ids])


def as_columns(customers: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [customer[name] for customer in customers] for name in customers[0]}


def place(model: FittedModel, customers: list[dict[str, Any]]) -> list[int]:
    """Nearest centroid of a model fitted here (no bundle written)."""
    columns = {name: np.array(values) for name, values in as_columns(customers).items()}
    space = model.space(ExportChunk(columns, np.arange(len(customers))))
    distances = ((space[:, None, :] - model.centroids[None, :, :]) ** 2).sum(axis=2)
    return distances.argmin(axis=1).tolist()


def test_cleaning_keeps_96_complete_then_86_inside_the_fences(customer_data: Path) -> None:
    export = read_export(customer_data)
    customers, steps = clean(export)
    assert [(s.rows_in, s.rows_out) for s in steps] == [(100, 96), (96, 86)]
    assert steps[1].reasons == {"outlier: AnnualIncome": 8, "outlier: TotalSpent": 2}
    assert len(customers) == 86
    assert customers.lines.tolist() == sorted(customers.lines.tolist())


def test_customer_id_is_never_a_feature(shipped: Bundle, customers: ExportChunk) -> None:
    assert "CustomerID" not in [spec.field for spec in shipped.manifest.features]
    assert "CustomerID" not in [spec.field for spec in feature_specs(customers)]


def test_silhouette_is_at_least_half(shipped: Bundle, customers: ExportChunk) -> None:
    assert shipped.manifest.metrics.silhouette >= 0.50
    predictions = Predictor(shipped).predict(customers.columns)
    recomputed = silhouette_score(predictions.scaled, predictions.segments)
    assert recomputed >= 0.50
    assert recomputed == pytest.approx(shipped.manifest.metrics.silhouette, abs=1e-6)
    assert np.bincount(predictions.segments).tolist() == shipped.manifest.metrics.sizes


def test_the_seed_personas_are_kept(
    shipped: Bundle, customers: ExportChunk, seed_segments: Path
) -> None:
    seed = seed_assignment(seed_segments, customers)
    predicted = Predictor(shipped).predict(customers.columns).segments
    assert adjusted_rand_score(seed, predicted) >= 0.9
    # Contract ids, not merely the same partition: most customers keep the seed's id.
    assert (seed == predicted).mean() >= 0.95


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_samples_land_in_their_segments(shipped: Bundle, sample: str) -> None:
    customer, segment = SAMPLES[sample]
    predictions = Predictor(shipped).predict(as_columns([customer]))
    assert predictions.segments.tolist() == [segment]
    assert shipped.manifest.segments[segment].name == SEGMENT_NAMES[segment]
    assert 0 < predictions.confidence[0] <= 1


def test_the_discount_weight_is_chosen_on_evidence(
    customers: ExportChunk, seed_segments: Path
) -> None:
    seed = seed_assignment(seed_segments, customers)
    customers_in_order = [SAMPLES[name][0] for name in SAMPLES]
    expected = [SAMPLES[name][1] for name in SAMPLES]
    found = {}
    for weight in (0.0, DISCOUNT_WEIGHT, 1.0):
        model = fit(customers, feature_specs(customers, discount_weight=weight))
        found[weight] = (adjusted_rand_score(seed, model.segments), place(model, customers_in_order))
    # Full weight: the price-sensitive sample, a low spender who rarely uses discounts,
    # is pulled among the regulars.
    assert found[1.0][1][2] == 2 != SAMPLES["price-sensitive"][1]
    # No weight: spending alone does not give back the seed's personas.
    assert found[0.0][0] < 0.9
    # The chosen weight does both.
    assert found[DISCOUNT_WEIGHT][0] >= 0.9
    assert found[DISCOUNT_WEIGHT][1] == expected


def test_a_model_fitted_here_matches_the_shipped_one(
    shipped: Bundle, customers: ExportChunk
) -> None:
    model = fit(customers, feature_specs(customers))
    assert np.array_equal(model.centroids, shipped.centroids)
    assert np.array_equal(model.mean, shipped.mean)
    assert np.array_equal(model.scale, shipped.scale)
    assert model.sizes == shipped.manifest.metrics.sizes
    assert np.array_equal(model.segments, Predictor(shipped).predict(customers.columns).segments)
