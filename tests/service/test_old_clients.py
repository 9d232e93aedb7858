"""The replaced service's clients, replayed against a live server: the keys they read, unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import README_CUSTOMER, SAMPLES, SEGMENT_NAMES
from tests.ship.service import get


@pytest.fixture(scope="module")
def base_url(live_url: str) -> str:
    return live_url


def _json(base_url: str, path: str, body: object = None) -> Any:
    status, answer = get(base_url + path, None if body is None else json.dumps(body).encode())
    assert status == 200, answer
    return json.loads(answer)


@pytest.mark.slow
def test_root_answers_the_old_message_version_and_endpoints(base_url: str) -> None:
    data = _json(base_url, "/")
    assert data["message"] == "Customer Segmentation API"
    assert data["version"] == "1.0.0"
    assert {"POST /predict", "GET /segments", "GET /health"} <= data["endpoints"].keys()
    assert all(isinstance(text, str) for text in data["endpoints"].values())
    assert data["model_version"] == "1.0.0"  # this service's own keys stay beside them


@pytest.mark.slow
def test_health_answers_the_old_keys(base_url: str) -> None:
    data = _json(base_url, "/health")
    assert data["status"] == "healthy"
    assert data["models_loaded"] is True


@pytest.mark.slow
def test_segments_read_as_the_old_clients_read_them(base_url: str) -> None:
    data = _json(base_url, "/segments")
    assert data["total_clusters"] == 3
    seen = {}
    for cluster_id, info in data["segments"].items():  # the old scripts' loop, verbatim
        seen[int(cluster_id)] = info["name"]
        assert isinstance(info["description"], str) and info["description"]
        assert all(isinstance(line, str) for line in info["characteristics"])
        assert all(isinstance(offer, str) for offer in info["offers"])
        assert info["id"] == int(cluster_id) and info["size"] > 0  # and this service's keys
    assert seen == SEGMENT_NAMES


@pytest.mark.slow
@pytest.mark.parametrize("sample", list(SAMPLES))
def test_sample_customers_predict_as_the_old_script_expects(base_url: str, sample: str) -> None:
    fields, segment = SAMPLES[sample]
    customer = README_CUSTOMER if sample == "readme" else {"CustomerID": "C001", **fields}
    data = _json(base_url, "/predict", customer)
    assert data["cluster"] == segment
    assert data["segment_name"] == SEGMENT_NAMES[segment]
    assert isinstance(data["segment_description"], str)
    assert isinstance(data["characteristics"], list) and isinstance(data["recommended_offers"], list)
    assert 0.0 <= data["confidence_score"] <= 1.0


def test_the_openapi_document_shows_the_old_keys(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"message", "version", "endpoints"} <= set(schemas["ServiceInfo"]["required"])
    assert {"status", "models_loaded"} <= set(schemas["Health"]["required"])
    catalogue = schemas["SegmentCatalogue"]
    assert {"total_clusters", "segments"} <= set(catalogue["required"])
    assert catalogue["properties"]["segments"]["type"] == "object"
    assert {"name", "description", "characteristics", "offers"} <= set(
        schemas["SegmentInfo"]["required"])
