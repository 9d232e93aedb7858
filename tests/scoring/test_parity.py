"""Bulk answers equal the HTTP API's for the same customers, and both refuse the same ones."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from runtime.scoring.export import COLUMNS, NUMERIC_COLUMNS, read_export
from runtime.service.app import create_app
from runtime.service.settings import Settings
from tests.conftest import DEFAULT_BUNDLE
from tests.scoring.conftest import read_csv, row, run_cli, write_export

WHOLE = ("Age", "MonthlyPurchases")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(bundle=DEFAULT_BUNDLE))) as test_client:
        yield test_client


def _customers(path: Path) -> list[dict[str, Any]]:
    """Every complete row of an export as the JSON body a client would post."""
    chunk = read_export(path)
    customers = []
    for i in range(len(chunk)):
        customer: dict[str, Any] = {}
        for name in COLUMNS:
            value = chunk.columns[name][i]
            value = value.item() if hasattr(value, "item") else value
            if name in NUMERIC_COLUMNS:
                value = int(value) if name in WHOLE and float(value).is_integer() else value
            customer[name] = value
        customers.append(customer)
    return customers


def _answers(client: TestClient, customers: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    found = {}
    for customer in customers:
        response = client.post("/predict", json=customer)
        if response.status_code == 200:
            answer = response.json()
            found[customer["CustomerID"]] = (
                answer["cluster"], answer["segment_name"], answer["confidence_score"])
        else:
            assert response.status_code == 422, response.text
    return found


def _bulk(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    out = tmp_path / f"{path.stem}-scored.csv"
    code, err = run_cli(capsys, path, "-o", out)
    assert code == 0, err
    return {a["CustomerID"]: (int(a["cluster"]), a["segment_name"], float(a["confidence_score"]))
            for a in read_csv(out)}


def test_shared_export_answers_equal_the_api(
        customer_data: Path, tmp_path: Path, client: TestClient,
        capsys: pytest.CaptureFixture[str]) -> None:
    expected = _answers(client, _customers(customer_data))
    assert len(expected) == 96
    assert _bulk(customer_data, tmp_path, capsys) == expected


def test_generated_customers_answer_and_are_refused_as_by_the_api(
        tmp_path: Path, client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.score_bulk import generate

    export = generate(tmp_path / "generated.csv", 600, seed=7)
    rows = [
        row(CustomerID="X-GENDER", Gender="male"), row(CustomerID="X-CITY", City="Goa"),
        row(CustomerID="X-UNKNOWN", PreferredShoppingTime="Dusk"),
        row(CustomerID="X-AGE", Age="121"), row(CustomerID="X-NEG", AnnualIncome="-1"),
        row(CustomerID="L" * 65), row(CustomerID="X-FLOAT", Age="30.0"),
    ]
    with open(export.path, "a", encoding="utf-8", newline="") as file:
        csv.writer(file, lineterminator="\n").writerows(rows)
    customers = _customers(export.path)
    expected = _answers(client, customers)
    assert 550 < len(expected) < len(customers)
    bulk = _bulk(export.path, tmp_path, capsys)
    assert bulk == expected
    assert {"X-GENDER", "X-CITY"} <= set(bulk)
    assert not {"X-UNKNOWN", "X-AGE", "X-NEG", "X-FLOAT", "L" * 65} & set(bulk)


def test_batches_answer_as_single_predictions(
        tmp_path: Path, client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_export(tmp_path / "few.csv", [row(CustomerID=f"C{i}", TotalSpent=str(40_000 * i))
                                               for i in range(1, 30)])
    response = client.post("/predict/batch", json=_customers(path))
    assert response.status_code == 200, response.text
    expected = {a["CustomerID"]: (a["cluster"], a["segment_name"], a["confidence_score"])
                for a in response.json()["predictions"]}
    assert _bulk(path, tmp_path, capsys) == expected


def test_a_parquet_export_in_small_row_groups_answers_as_the_api(
        tmp_path: Path, client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    count = 60
    spellings = {  # categories as a file may spell them: aliases, case, blanks, unknown, none
        "Gender": ["F", "male", "Female", " m", "X", None, ""],
        "City": ["Pune", "Goa", "Mumbai", "delhi"],
        "DiscountUsage": ["Low", "medium", "HIGH", "Sometimes"],
        "PreferredShoppingTime": ["Day", "Night", "night ", "Dusk", "Day"],
    }
    columns: dict[str, Any] = {name: [values[i % len(values)] for i in range(count)]
                               for name, values in spellings.items()}
    columns |= {"CustomerID": [f"P{i}" for i in range(count)],
                "Age": pa.array([18 + i for i in range(count)], pa.int64()),
                "MonthlyPurchases": pa.array([i % 20 for i in range(count)], pa.int64()),
                "AnnualIncome": [20_000.0 * i for i in range(count)],
                "TotalSpent": [12_000.0 * i for i in range(count)],
                "AvgOrderValue": [150.0 * i for i in range(count)],
                "AppTimeMinutes": [2.0 * i for i in range(count)]}
    source = tmp_path / "spelled.parquet"
    pq.write_table(pa.table({name: columns[name] for name in COLUMNS}), source, row_group_size=7)
    expected = _answers(client, _customers(source))
    assert 20 < len(expected) < count
    assert _bulk(source, tmp_path, capsys) == expected
