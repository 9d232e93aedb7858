"""Random batches answer alike through V2 (JSON and binary) and ``/predict/batch``: the same
segments and scores, and the same refusals, naming the same customer and field."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.service.v2_requests import INFER, binary_request, json_request, read_binary_response

TEXT = st.text(min_size=1, max_size=24)
CUSTOMER = st.fixed_dictionaries({
    "CustomerID": TEXT,
    "Age": st.integers(0, 120),
    "Gender": st.sampled_from(["M", "F", "Female", " male ", "f"]),
    "City": st.sampled_from(["Mumbai", "Delhi", "Pune"]) | TEXT,
    "AnnualIncome": st.floats(0, 1e12),
    "TotalSpent": st.floats(0, 1e7),
    "MonthlyPurchases": st.integers(0, 100_000),
    "AvgOrderValue": st.floats(0, 1e5),
    "AppTimeMinutes": st.floats(0, 44_640),
    "DiscountUsage": st.sampled_from(["Low", "Medium", "High", "HIGH"]),
    "PreferredShoppingTime": st.sampled_from(["Day", "Night", "night"]),
})
# Values the Customer struct refuses, written from its declaration by hand, and unknown categories.
REFUSED = {
    "CustomerID": ["", "x" * 65], "Age": [-1, 121], "Gender": ["", "x" * 17, "Other"],
    "City": ["", "y" * 65],
    "AnnualIncome": [-0.5, 1.5e12], "TotalSpent": [-1.0], "MonthlyPurchases": [-1, 100_001],
    "AvgOrderValue": [-2.0], "AppTimeMinutes": [44_641.0], "DiscountUsage": ["x" * 17, "Sometimes"],
    "PreferredShoppingTime": ["", "Evening"],
}
SPOILS = st.none() | st.tuples(st.integers(0, 1_000), st.sampled_from(sorted(REFUSED)),
                               st.integers(0, 2))
_V2_AT = re.compile(r"input '(?P<field>\w+)' index (?P<index>\d+)")
_PREDICT_AT = re.compile(r"^\$\[(?P<index>\d+)\]\.(?P<field>\w+)$")


def _spoil(customers: list[dict[str, Any]], spoil: tuple[int, str, int] | None) -> None:
    if spoil is not None:
        row, field, choice = spoil
        refused = REFUSED[field]
        customers[row % len(customers)][field] = refused[choice % len(refused)]


def _outputs(body: dict[str, Any]) -> dict[str, list[Any]]:
    return {output["name"]: output["data"] for output in body["outputs"]}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customers=st.lists(CUSTOMER, min_size=1, max_size=40), spoil=SPOILS)
def test_v2_answers_as_predict_batch(
    client: TestClient, customers: list[dict[str, Any]], spoil: tuple[int, str, int] | None,
) -> None:
    _spoil(customers, spoil)
    expected = client.post("/predict/batch", json=customers)
    plain = client.post(INFER, json=json_request(customers))
    body, headers = binary_request(customers)
    binary = client.post(INFER, content=body, headers=headers)
    event(f"/predict/batch answered {expected.status_code}")
    if expected.status_code == 422:
        where = _PREDICT_AT.match(expected.json()["field"])
        assert where, expected.text
        for answer in (plain, binary):
            assert answer.status_code == 400, answer.text
            found = _V2_AT.search(answer.json()["error"])
            assert found, answer.text
            assert (found["field"], found["index"]) == (where["field"], where["index"])
        return
    assert expected.status_code == 200, expected.text
    predictions = expected.json()["predictions"]
    wanted = {"cluster": [p["cluster"] for p in predictions],
              "confidence_score": [p["confidence_score"] for p in predictions],
              "segment_name": [p["segment_name"] for p in predictions]}
    assert plain.status_code == 200, plain.text
    assert _outputs(plain.json()) == wanted
    assert binary.status_code == 200, binary.text
    length = int(binary.headers["inference-header-content-length"])
    assert read_binary_response(binary.content, length) == wanted
