"""The seed's contract on /predict and /predict/batch, and the inputs the seed refused."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import README_CUSTOMER, SAMPLES, SEGMENT_NAMES

CONTRACT_FIELDS = ["cluster", "segment_name", "segment_description", "characteristics",
                   "recommended_offers", "confidence_score"]

# DESIGN.md: the seed's three samples and where a sensible model places them.
SEED_SAMPLES = [(fields, cluster, SEGMENT_NAMES[cluster])
                for name, (fields, cluster) in SAMPLES.items() if name != "readme"]


def customer(**changes: Any) -> dict[str, Any]:
    return {**README_CUSTOMER, **changes}


def test_readme_example_answers_with_exactly_the_contract_fields(client: TestClient) -> None:
    response = client.post("/predict", json=README_CUSTOMER)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert list(answer)[: len(CONTRACT_FIELDS)] == CONTRACT_FIELDS
    assert set(answer) == {*CONTRACT_FIELDS, "CustomerID", "model_version"}
    assert answer["cluster"] == 2
    assert answer["segment_name"] == "Value-Seeking Regular"
    assert answer["segment_description"] == (
        "Mid-tier customers with moderate income and regular engagement")
    assert len(answer["characteristics"]) == 4
    assert answer["recommended_offers"][0] == "Seasonal sales and limited-time offers"
    assert 0 < answer["confidence_score"] <= 1
    assert round(answer["confidence_score"], 4) == answer["confidence_score"]
    assert answer["CustomerID"] == "C001"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-model-version"] == answer["model_version"]


@pytest.mark.parametrize(("fields", "cluster", "name"), SEED_SAMPLES)
def test_seed_samples_land_in_their_segments(
    client: TestClient, fields: dict[str, Any], cluster: int, name: str
) -> None:
    answer = client.post("/predict", json=customer(**fields)).json()
    assert (answer["cluster"], answer["segment_name"]) == (cluster, name)


def test_confidence_is_the_seeds_formula(client: TestClient) -> None:
    answer = client.post("/predict?explain=true", json=README_CUSTOMER).json()
    distances = [d["distance"] for d in answer["explanation"]["distances"]]
    expected = round(1 - distances[answer["cluster"]] / max(distances), 4)
    assert answer["confidence_score"] == expected


@pytest.mark.parametrize("customer_id", ["C999", "new-customer-42", "x" * 64, "Ünïcødé ✓", "1"])
def test_any_customer_id_is_an_identifier(client: TestClient, customer_id: str) -> None:
    response = client.post("/predict", json=customer(CustomerID=customer_id))
    assert response.status_code == 200, response.text
    assert response.json()["CustomerID"] == customer_id
    assert response.json()["cluster"] == 2


@pytest.mark.parametrize("gender", ["F", "M", "f", "m", "Female", "Male", "FEMALE", "male", " Female "])
def test_gender_in_any_spelling(client: TestClient, gender: str) -> None:
    response = client.post("/predict", json=customer(Gender=gender))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("city", ["Mumbai", "mumbai", "Jaipur", "Paris", "São Paulo", "Unknown City"])
def test_any_city(client: TestClient, city: str) -> None:
    response = client.post("/predict", json=customer(City=city))
    assert response.status_code == 200, response.text
    assert response.json()["cluster"] == 2  # City carries no weight: the segment cannot move


@pytest.mark.parametrize(("field", "values"), [
    ("DiscountUsage", ["low", "MEDIUM", "High", "hIgH"]),
    ("PreferredShoppingTime", ["day", "NIGHT", "Night", "dAy"]),
])
def test_categories_in_any_case(client: TestClient, field: str, values: list[str]) -> None:
    for value in values:
        response = client.post("/predict", json=customer(**{field: value}))
        assert response.status_code == 200, (value, response.text)


def test_case_does_not_change_the_answer(client: TestClient) -> None:
    lower = client.post("/predict", json=customer(DiscountUsage="medium", Gender="female")).json()
    assert lower == client.post("/predict", json=README_CUSTOMER).json()


def test_batch_answers_in_request_order_with_ids(client: TestClient) -> None:
    customers = [customer(CustomerID=f"S{i}", **fields) for i, (fields, _, _) in enumerate(SEED_SAMPLES)]
    response = client.post("/predict/batch", json=customers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == response.headers["x-model-version"]
    assert [p["CustomerID"] for p in body["predictions"]] == ["S0", "S1", "S2"]
    assert [p["cluster"] for p in body["predictions"]] == [cluster for _, cluster, _ in SEED_SAMPLES]


def test_explanation_only_when_asked(client: TestClient) -> None:
    plain = client.post("/predict", json=README_CUSTOMER).json()
    explained = client.post("/predict?explain=true", json=README_CUSTOMER).json()
    assert "explanation" not in plain
    assert {k: v for k, v in explained.items() if k != "explanation"} == plain
    explanation = explained["explanation"]
    assert [d["id"] for d in explanation["distances"]] == [0, 1, 2]
    assert explanation["runner_up"] != explained["cluster"]
    assert explanation["margin"] > 0
    assert sum(explanation["contributions"].values()) == pytest.approx(
        explanation["squared_distance_gap"], abs=1e-9)


def test_segments_catalogue(client: TestClient) -> None:
    catalogue = client.get("/segments").json()
    assert catalogue["total_clusters"] == 3
    segments = catalogue["segments"]
    assert [(key, s["id"], s["name"]) for key, s in segments.items()] == [
        ("0", 0, "Price-Sensitive Occasional"), ("1", 1, "High-Value Loyal"),
        ("2", 2, "Value-Seeking Regular")]
    for segment in segments.values():
        assert set(segment) == {"id", "name", "description", "characteristics", "offers", "size"}
        assert segment["offers"] and segment["characteristics"] and segment["size"] > 0


def test_service_information_and_health(client: TestClient) -> None:
    info = client.get("/").json()
    assert info["model_version"] == "1.0.0"
    assert "CustomerID" not in info["features"]
    health = client.get("/health").json()
    assert health == {"status": "healthy", "models_loaded": True, "model_loaded": True,
                      "model_version": "1.0.0"}
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200
