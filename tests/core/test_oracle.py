"""Predictions against an independent reading of the bundle: the manifest's feature
specification applied by hand with plain NumPy, standardised, weighted, nearest centroid.

Nothing from ``runtime`` computes the expected answers; the service is reached over HTTP."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.conftest import DEFAULT_BUNDLE

MANIFEST = json.loads((DEFAULT_BUNDLE / "manifest.json").read_text())
with np.load(DEFAULT_BUNDLE / "arrays.npz", allow_pickle=False) as _arrays:
    MEAN, SCALE, CENTROIDS = (_arrays[name] for name in ("mean", "scale", "centroids"))
FEATURES = {feature["field"]: feature for feature in MANIFEST["features"]}

money = st.floats(min_value=0, max_value=5e6, allow_nan=False)
customers = st.fixed_dictionaries({
    "CustomerID": st.text(min_size=1, max_size=20),
    "Age": st.integers(0, 120),
    "Gender": st.sampled_from(FEATURES["Gender"]["categories"]),
    "City": st.sampled_from([*FEATURES["City"]["categories"], "Jaipur", "Agra"]),
    "AnnualIncome": money,
    "TotalSpent": money,
    "MonthlyPurchases": st.integers(0, 100),
    "AvgOrderValue": money,
    "AppTimeMinutes": st.floats(min_value=0, max_value=1000, allow_nan=False),
    "DiscountUsage": st.sampled_from(FEATURES["DiscountUsage"]["categories"]),
    "PreferredShoppingTime": st.sampled_from(FEATURES["PreferredShoppingTime"]["categories"]),
})


def _columns(customer: dict[str, Any]) -> list[float]:
    """One customer's raw model columns, as the manifest describes them."""
    row: list[float] = []
    for feature in MANIFEST["features"]:
        if feature["weight"] == 0:
            continue
        value, categories = customer[feature["field"]], feature["categories"]
        if feature["kind"] == "numeric":
            row.append(float(value))
        elif feature["kind"] in ("ordinal", "binary"):
            row.append(float(categories.index(value)))
        else:  # one-hot; an unknown category is given the training mean (neutral)
            start = len(row)
            row.extend(float(value == category) for category in categories)
            if value not in categories:
                row[start:] = MEAN[start:len(row)].tolist()
    return row


def _expected(batch: list[dict[str, Any]]) -> tuple[list[int], list[float]]:
    weights = np.concatenate([np.full(len(f["categories"]) if f["kind"] == "one-hot" else 1, f["weight"])
                              for f in MANIFEST["features"] if f["weight"] > 0])
    scaled = (np.array([_columns(c) for c in batch]) - MEAN) / SCALE * weights
    distances = np.sqrt(((scaled[:, None, :] - CENTROIDS[None, :, :]) ** 2).sum(axis=2))
    segments = distances.argmin(axis=1)
    confidence = np.round(1 - distances.min(axis=1) / distances.max(axis=1), 4)
    return segments.tolist(), confidence.tolist()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(customers, min_size=1, max_size=50))
def test_answers_equal_a_plain_numpy_reading_of_the_bundle(client: TestClient, batch: list[dict[str, Any]]
                                                           ) -> None:
    answer = client.post("/predict/batch", json=batch)
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    segments, confidence = _expected(batch)
    assert [p["cluster"] for p in predictions] == segments
    assert np.allclose([p["confidence_score"] for p in predictions], confidence, atol=1.01e-4)
