"""Properties over random valid customers: one code path for one and many, exact explanations."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from runtime.core.bundle import load_bundle
from runtime.core.customer import EXAMPLE_CUSTOMER, Customer
from runtime.core.features import InvalidValue
from runtime.core.model import Model
from runtime.core.predictor import CONFIDENCE_STEPS, Predictions, Predictor, argmin_rows
from runtime.service.answers import Answers
from tests.conftest import DEFAULT_BUNDLE

money = st.floats(min_value=0, max_value=5e6, allow_nan=False)
customers = st.fixed_dictionaries({
    "CustomerID": st.text(min_size=1, max_size=64),
    "Age": st.integers(0, 120),
    "Gender": st.sampled_from(["F", "M", "female", "MALE", "Female"]),
    "City": st.text(min_size=1, max_size=64),
    "AnnualIncome": money,
    "TotalSpent": money,
    "MonthlyPurchases": st.integers(0, 100),
    "AvgOrderValue": money,
    "AppTimeMinutes": st.floats(min_value=0, max_value=1000, allow_nan=False),
    "DiscountUsage": st.sampled_from(["Low", "Medium", "High", "low", "HIGH"]),
    "PreferredShoppingTime": st.sampled_from(["Day", "Night", "night"]),
})
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(batch=st.lists(customers, min_size=1, max_size=8))
def test_batch_equals_single_answers_in_order(client: TestClient, batch: list[dict[str, Any]]) -> None:
    answer = client.post("/predict/batch", json=batch)
    assert answer.status_code == 200, answer.text
    singles = [client.post("/predict", json=one).json() for one in batch]
    assert answer.json()["predictions"] == singles


@SETTINGS
@given(batch=st.lists(customers, min_size=1, max_size=8))
def test_explained_batch_equals_explained_singles(
    client: TestClient, batch: list[dict[str, Any]]
) -> None:
    answer = client.post("/predict/batch?explain=true", json=batch).json()["predictions"]
    singles = [client.post("/predict?explain=true", json=one).json() for one in batch]
    assert answer == singles


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(load_bundle(DEFAULT_BUNDLE))


def test_contributions_sum_to_the_squared_distance_gap(
    predictor: Predictor, rng: np.random.Generator
) -> None:
    raw = rng.normal(size=(5_000, predictor.encoder.width)) / predictor.multiplier + (
        predictor.offset / predictor.multiplier)
    predictions = predictor.predict_raw(raw)
    explained = predictor.explain(predictions)
    rows = np.arange(len(raw))
    scaled = predictions.scaled
    gap = (((scaled - predictor.centroids[explained.runner_up]) ** 2).sum(axis=1)
           - ((scaled - predictor.centroids[predictions.segments]) ** 2).sum(axis=1))
    assert np.abs(explained.contributions.sum(axis=1) - gap).max() < 1e-9
    assert (gap >= -1e-12).all()  # the assigned centroid is the nearest
    assert (explained.runner_up != predictions.segments).all()
    ordered = np.sort(explained.distances, axis=1)
    assert np.allclose(explained.distances[rows, explained.runner_up], ordered[:, 1])
    assert np.array_equal(explained.distances.argmin(axis=1), predictions.segments)


def test_prediction_matches_a_direct_computation(predictor: Predictor, rng: np.random.Generator) -> None:
    raw = rng.uniform(0, 2, size=(2_000, predictor.encoder.width)) * (
        predictor.offset / predictor.multiplier + 1)
    predictions = predictor.predict_raw(raw)
    scaled = raw * predictor.multiplier - predictor.offset
    distances = np.linalg.norm(scaled[:, None, :] - predictor.centroids[None], axis=2)
    assert np.array_equal(predictions.segments, distances.argmin(axis=1))
    expected = np.round(1 - distances.min(axis=1) / distances.max(axis=1), 4)
    assert np.abs(predictions.confidence - expected).max() <= 1e-4
    steps = np.rint(predictions.confidence * CONFIDENCE_STEPS)
    assert np.array_equal(predictions.confidence, steps / CONFIDENCE_STEPS)  # exactly 4 places


spellings = st.sampled_from(["Low", "medium", " HIGH ", "F", "male", "Night", "day", "Mumbai",
                             "pune", "Atlantis", "", "Sometimes"])


@given(st.lists(st.tuples(spellings, spellings, spellings, spellings), min_size=1, max_size=40))
@settings(max_examples=200, deadline=None)
def test_coded_columns_encode_as_their_spellings_do(rows: list[tuple[str, str, str, str]]) -> None:
    encoder = Predictor(load_bundle(DEFAULT_BUNDLE)).encoder
    fields = ("DiscountUsage", "Gender", "City", "PreferredShoppingTime")
    columns: dict[str, Any] = {field: [row[i] for row in rows] for i, field in enumerate(fields)}
    for field in ("AnnualIncome", "TotalSpent", "MonthlyPurchases", "AvgOrderValue",
                  "AppTimeMinutes", "Age"):
        columns[field] = np.arange(len(rows), dtype=np.float64)
    outcomes = []
    for encode in (encoder.transform, lambda c: encoder.transform(encoder.coded(c))):
        try:
            outcomes.append(encode(columns))
        except InvalidValue as exc:
            outcomes.append(str(exc))
    spelled, coded = outcomes
    if isinstance(spelled, str):
        assert coded == spelled  # the same value refused, with the same message
    else:
        np.testing.assert_array_equal(coded, spelled)


@pytest.mark.parametrize("customers", [1, 64, 65, 40_000])
def test_segments_are_numpys_argmin_with_ties_to_the_first(customers: int, rng: np.random.Generator) -> None:
    # Few distinct values, so many customers sit at equal distance from several centroids.
    squared = rng.integers(0, 3, size=(5, customers)).astype(float)
    segments = np.empty(customers, dtype=np.intp)
    nearest = argmin_rows(squared, segments)
    assert np.array_equal(segments, squared.argmin(axis=0))
    assert np.array_equal(nearest, squared.min(axis=0))


def test_every_confidence_score_is_written_as_its_float(rng: np.random.Generator) -> None:
    model = Model(load_bundle(DEFAULT_BUNDLE))
    scores = np.arange(CONFIDENCE_STEPS + 1) / CONFIDENCE_STEPS
    raw = rng.normal(size=(len(scores), model.predictor.encoder.width))
    predicted = model.predictor.predict_raw(raw)
    every_score = Predictions(predicted.segments, scores, raw, model.predictor)
    body = Answers(model).encode_batch([f"C{i}" for i in range(len(scores))], every_score, explain=False)
    answers = msgspec.json.decode(body)["predictions"]
    assert [answer["confidence_score"] for answer in answers] == scores.tolist()
    assert all(f'"confidence_score":{score!r},'.encode() in body for score in scores.tolist()[::97])


def test_reading_customers_transposes_them_into_columns() -> None:
    model = Model(load_bundle(DEFAULT_BUNDLE))
    customers = [msgspec.convert(dict(EXAMPLE_CUSTOMER, CustomerID=f"C{i}"), Customer) for i in range(3)]
    ids, columns = model.read(customers)
    empty_ids, empty = model.read([])
    assert list(ids) == ["C0", "C1", "C2"]
    assert columns["AnnualIncome"].tolist() == [EXAMPLE_CUSTOMER["AnnualIncome"]] * 3
    assert list(empty_ids) == [] and all(len(values) == 0 for values in empty.values())
