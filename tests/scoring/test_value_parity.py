"""One table of cell values, each sent to the API and scored in bulk: the same verdict from both.

The API gets each value as a client would write it in JSON (a numeric cell
spliced in as the JSON token it spells, a text cell as a JSON string); the
scorer gets it as a cell of a CSV export. Whatever one takes, the other takes
with the same answer; whatever one refuses, the other refuses.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from runtime.core.customer import EXAMPLE_CUSTOMER
from runtime.service.app import create_app
from runtime.service.settings import Settings
from tests.conftest import DEFAULT_BUNDLE
from tests.scoring.conftest import run_cli

NUMERIC = {"Age", "AnnualIncome", "TotalSpent", "MonthlyPurchases", "AvgOrderValue",
           "AppTimeMinutes"}
CASES: list[tuple[str, str]] = [
    ("Age", "28"), ("Age", "1_000"), ("Age", "\u0662\u0668"), ("Age", "\uff12\uff18"),
    ("Age", "28.0"), ("Age", "2.8e1"), ("Age", "-0"), ("Age", "0028"), ("Age", "+28"),
    ("Age", "nan"), ("Age", "inf"), ("Age", "Infinity"), ("Age", "1e400"), ("Age", "121"),
    ("Age", "0x1C"), ("Age", "28 years"),
    ("AnnualIncome", "450000"), ("AnnualIncome", "4.5e5"), ("AnnualIncome", "450_000"),
    ("AnnualIncome", "-1"), ("AnnualIncome", "1e13"), ("AnnualIncome", "450000."),
    ("AnnualIncome", ".5"), ("AnnualIncome", "1E+5"), ("AnnualIncome", "\u0664\u0665"),
    ("MonthlyPurchases", "6"), ("MonthlyPurchases", "6.5"), ("MonthlyPurchases", "100001"),
    ("AppTimeMinutes", "45.25"), ("AppTimeMinutes", "44641"),
    ("CustomerID", "C\x00D"), ("CustomerID", "\x00"), ("CustomerID", "\u0421001"),
    ("CustomerID", "L" * 64), ("CustomerID", "L" * 65), ("CustomerID", "\u00e9" * 64),
    ("Gender", "female"), ("Gender", "\uff26"), ("Gender", "F\x00"),
    ("City", "Goa"), ("City", "x" * 65),
    ("DiscountUsage", "Sometimes"), ("DiscountUsage", "HIGH"),
    ("PreferredShoppingTime", "Dusk"),
]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(bundle=DEFAULT_BUNDLE))) as test_client:
        yield test_client


def _case_id(index: int, field: str, value: str) -> str:
    return value if field == "CustomerID" else f"case-{index}"


def _body(customer_id: str, field: str, value: str) -> str:
    """The JSON a client would post, the cell spliced in as the token (number) or string it is."""
    parts = []
    for name, default in {**EXAMPLE_CUSTOMER, "CustomerID": customer_id}.items():
        cell = value if name == field else default
        token = cell if name in NUMERIC and name == field else json.dumps(cell)
        parts.append(f"{json.dumps(name)}: {token}")
    return "{" + ", ".join(parts) + "}"


def _api(client: TestClient) -> dict[str, tuple[int, float] | None]:
    verdicts: dict[str, tuple[int, float] | None] = {}
    for index, (field, value) in enumerate(CASES):
        customer_id = _case_id(index, field, value)
        response = client.post("/predict", content=_body(customer_id, field, value).encode(),
                               headers={"content-type": "application/json"})
        assert response.status_code in (200, 400, 422), response.text
        answer = response.json()
        verdicts[customer_id] = ((answer["cluster"], answer["confidence_score"])
                                 if response.status_code == 200 else None)
    return verdicts


def _scorer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[int, float] | None]:
    source = tmp_path / "cases.csv"
    with open(source, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(EXAMPLE_CUSTOMER)
        for index, (field, value) in enumerate(CASES):
            customer = {**EXAMPLE_CUSTOMER, "CustomerID": _case_id(index, field, value),
                        field: value}
            writer.writerow(customer.values())
    out = tmp_path / "cases.parquet"
    code, err = run_cli(capsys, source, "-o", out)
    assert code == 0, err
    verdicts: dict[str, tuple[int, float] | None] = {
        _case_id(index, field, value): None for index, (field, value) in enumerate(CASES)}
    for answer in pq.read_table(out).to_pylist():
        verdicts[answer["CustomerID"]] = (answer["cluster"], answer["confidence_score"])
    return verdicts


def test_every_value_gets_the_same_verdict_from_the_scorer_and_the_api(
        client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = _api(client)
    bulk = _scorer(tmp_path, capsys)
    differing = {key: (api[key], bulk[key]) for key in api if api[key] != bulk[key]}
    assert not differing, differing
    # The table holds both kinds: taken values and refused ones.
    taken = {CASES[i][1] for i in range(len(CASES)) if api[_case_id(i, *CASES[i])] is not None}
    assert {"28", "-0", "4.5e5", "C\x00D", "female"} <= taken
    assert not {"1_000", "\u0662\u0668", "28.0", "nan", "450_000", "0028"} & taken
