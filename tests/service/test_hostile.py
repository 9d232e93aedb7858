"""Hostile input: every bad request gets a 4xx JSON error naming the field, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.conftest import README_CUSTOMER, make_client

JSON_HEADERS = {"content-type": "application/json"}


def body(**changes: Any) -> bytes:
    return json.dumps({**README_CUSTOMER, **changes}).encode()


def without(field: str) -> bytes:
    return json.dumps({k: v for k, v in README_CUSTOMER.items() if k != field}).encode()


def raw(text: str) -> bytes:
    """A body spliced by hand: JSON that the json module would not write."""
    return json.dumps(README_CUSTOMER).replace('"AnnualIncome": 450000.0', text).encode()


# (name, path, body, headers, status, error code, field)
CASES: list[tuple[str, str, bytes, dict[str, str], int, str, str | None]] = [
    ("malformed JSON", "/predict", b'{"CustomerID": ', JSON_HEADERS, 400, "malformed_json", None),
    ("not JSON at all", "/predict", b"hello", JSON_HEADERS, 400, "malformed_json", None),
    ("empty body", "/predict", b"", JSON_HEADERS, 400, "malformed_json", None),
    ("invalid UTF-8", "/predict", body(City="X").replace(b'"X"', b'"\xff\xfe"'), JSON_HEADERS,
     400, "malformed_json", None),
    ("null body", "/predict", b"null", JSON_HEADERS, 422, "invalid_value", "$"),
    ("array for one customer", "/predict", b"[]", JSON_HEADERS, 422, "invalid_value", "$"),
    ("string for a number", "/predict", body(Age="28"), JSON_HEADERS, 422, "invalid_value", "$.Age"),
    ("null for a number", "/predict", body(AnnualIncome=None), JSON_HEADERS, 422, "invalid_value",
     "$.AnnualIncome"),
    ("boolean for a number", "/predict", body(TotalSpent=True), JSON_HEADERS, 422, "invalid_value",
     "$.TotalSpent"),
    ("boolean for an integer", "/predict", body(Age=False), JSON_HEADERS, 422, "invalid_value", "$.Age"),
    ("NaN", "/predict", raw('"AnnualIncome": NaN'), JSON_HEADERS, 400, "malformed_json", None),
    ("Infinity", "/predict", raw('"AnnualIncome": Infinity'), JSON_HEADERS, 400, "malformed_json", None),
    ("1e309", "/predict", raw('"AnnualIncome": 1e309'), JSON_HEADERS, 422, "invalid_value",
     "$.AnnualIncome"),
    ("negative money", "/predict", body(AnnualIncome=-1.0), JSON_HEADERS, 422, "invalid_value",
     "$.AnnualIncome"),
    ("negative order value", "/predict", body(AvgOrderValue=-0.01), JSON_HEADERS, 422, "invalid_value",
     "$.AvgOrderValue"),
    ("impossible age", "/predict", body(Age=200), JSON_HEADERS, 422, "invalid_value", "$.Age"),
    ("negative age", "/predict", body(Age=-3), JSON_HEADERS, 422, "invalid_value", "$.Age"),
    ("fractional age", "/predict", body(Age=28.5), JSON_HEADERS, 422, "invalid_value", "$.Age"),
    ("non-integer purchases", "/predict", body(MonthlyPurchases=6.5), JSON_HEADERS, 422,
     "invalid_value", "$.MonthlyPurchases"),
    ("negative purchases", "/predict", body(MonthlyPurchases=-1), JSON_HEADERS, 422, "invalid_value",
     "$.MonthlyPurchases"),
    ("negative app time", "/predict", body(AppTimeMinutes=-5.0), JSON_HEADERS, 422, "invalid_value",
     "$.AppTimeMinutes"),
    ("unknown DiscountUsage", "/predict", body(DiscountUsage="Sometimes"), JSON_HEADERS, 422,
     "invalid_value", "$.DiscountUsage"),
    ("unknown Gender", "/predict", body(Gender="Q"), JSON_HEADERS, 422, "invalid_value", "$.Gender"),
    ("unknown shopping time", "/predict", body(PreferredShoppingTime="Noon"), JSON_HEADERS, 422,
     "invalid_value", "$.PreferredShoppingTime"),
    ("empty CustomerID", "/predict", body(CustomerID=""), JSON_HEADERS, 422, "invalid_value",
     "$.CustomerID"),
    ("oversized CustomerID", "/predict", body(CustomerID="x" * 65), JSON_HEADERS, 422, "invalid_value",
     "$.CustomerID"),
    ("oversized City", "/predict", body(City="y" * 10_000), JSON_HEADERS, 422, "invalid_value",
     "$.City"),
    ("numeric CustomerID", "/predict", body(CustomerID=1), JSON_HEADERS, 422, "invalid_value",
     "$.CustomerID"),
    ("missing field", "/predict", without("AnnualIncome"), JSON_HEADERS, 422, "invalid_value",
     "$.AnnualIncome"),
    ("missing CustomerID", "/predict", without("CustomerID"), JSON_HEADERS, 422, "invalid_value",
     "$.CustomerID"),
    ("wrong content type", "/predict", body(), {"content-type": "text/plain"}, 415,
     "unsupported_media_type", None),
    ("form content type", "/predict", body(), {"content-type": "application/x-www-form-urlencoded"},
     415, "unsupported_media_type", None),
    ("explain not a boolean", "/predict?explain=maybe", body(), JSON_HEADERS, 422, "invalid_value",
     "explain"),
    ("empty batch", "/predict/batch", b"[]", JSON_HEADERS, 422, "empty_batch", "$"),
    ("object for a batch", "/predict/batch", body(), JSON_HEADERS, 422, "invalid_value", "$"),
    ("batch item of the wrong type", "/predict/batch",
     json.dumps([README_CUSTOMER, README_CUSTOMER, README_CUSTOMER,
                 {**README_CUSTOMER, "Age": "old"}]).encode(), JSON_HEADERS, 422, "invalid_value",
     "$[3].Age"),
    ("batch item with an unknown category", "/predict/batch",
     json.dumps([README_CUSTOMER, {**README_CUSTOMER, "DiscountUsage": "Always"}]).encode(),
     JSON_HEADERS, 422, "invalid_value", "$[1].DiscountUsage"),
    ("batch item missing a field", "/predict/batch",
     json.dumps([README_CUSTOMER, {"CustomerID": "C2"}]).encode(), JSON_HEADERS, 422,
     "invalid_value", "$[1].Age"),
    ("batch of nulls", "/predict/batch", b"[null]", JSON_HEADERS, 422, "invalid_value", "$[0]"),
]


@pytest.mark.parametrize(("name", "path", "content", "headers", "status", "error", "field"), CASES,
                         ids=[case[0] for case in CASES])
def test_hostile_input(
    client: TestClient, name: str, path: str, content: bytes, headers: dict[str, str],
    status: int, error: str, field: str | None,
) -> None:
    response = client.post(path, content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert set(answer) == {"error", "message", "field"}
    assert answer["error"] == error
    assert answer["field"] == field
    assert answer["message"]
    if field and field.startswith("$"):
        assert field.rsplit(".", 1)[-1].split("[")[0] in answer["message"] or field == "$"


def test_batch_over_the_limit_names_the_limit() -> None:
    with make_client(max_batch=3) as client:
        response = client.post("/predict/batch", json=[README_CUSTOMER] * 4)
    assert response.status_code == 413
    assert response.json()["error"] == "batch_too_large"
    assert "limit is 3" in response.json()["message"]


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    missing = client.get("/nowhere")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    wrong = client.get("/predict")
    assert (wrong.status_code, wrong.json()["error"]) == (405, "method_not_allowed")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children,
                                                                      max_size=6),
    max_leaves=20,
)
customer_like = st.fixed_dictionaries({}, optional={k: json_values for k in README_CUSTOMER})
partially_valid = st.builds(lambda changes: {**README_CUSTOMER, **changes}, customer_like)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=json_values | customer_like | partially_valid | st.lists(partially_valid, max_size=3))
def test_arbitrary_json_never_answers_5xx(client: TestClient, payload: object) -> None:
    for path in ("/predict", "/predict/batch"):
        response = client.post(path, content=json.dumps(payload), headers=JSON_HEADERS)
        assert response.status_code < 500, (path, payload, response.text)
        assert response.headers["content-type"] == "application/json"
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "message", "field"}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200))
def test_arbitrary_bytes_never_answer_5xx(client: TestClient, content: bytes) -> None:
    for path in ("/predict", "/predict/batch"):
        response = client.post(path, content=content, headers=JSON_HEADERS)
        assert 400 <= response.status_code < 500, (path, content, response.text)
