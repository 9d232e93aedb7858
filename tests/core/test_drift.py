"""Drift monitoring: training-like traffic shows no drift, a shifted field shows drift on it alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from runtime.core.bundle import FeatureSpec
from runtime.core.drift import bin_index
from runtime.core.feature_layout import FeatureLayout
from runtime.core.features import Encoder
from runtime.scoring.export import COLUMNS, read_export
from tests.conftest import SAMPLES, make_client

STABLE, SHIFTED = 0.1, 0.25


def training_like(data: Path, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    """``n`` customers drawn with replacement from the export's complete rows."""
    export = read_export(data)
    rows = rng.integers(0, len(export), size=n)
    customers = []
    for row in rows.tolist():
        values = {name: export.columns[name][row] for name in COLUMNS}
        # Numbers come as NumPy scalars, text as Python strings.
        customer = {name: value.item() if isinstance(value, np.generic) else value
                    for name, value in values.items()}
        customer["Age"] = int(customer["Age"])
        customer["MonthlyPurchases"] = int(customer["MonthlyPurchases"])
        customers.append(customer)
    return customers


def drift_after(customers: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, float]]:
    with make_client(drift_window=len(customers)) as client:
        for start in range(0, len(customers), 1000):
            response = client.post("/predict/batch", json=customers[start:start + 1000])
            assert response.status_code == 200, response.text
        report = client.get("/drift").json()
        families = text_string_to_metric_families(client.get("/metrics").text)
    gauges = {sample.labels["field"]: sample.value for family in families
              if family.name == "segmentation_drift_psi" for sample in family.samples}
    return report, gauges


def test_training_like_traffic_shows_no_drift(customer_data: Path, rng: np.random.Generator) -> None:
    report, gauges = drift_after(training_like(customer_data, rng, 6000))
    assert report["customers"] == 6000
    assert report["window_size"] == 6000
    assert report["window_start"]
    psi = {field["field"]: field["psi"] for field in report["fields"]}
    assert set(psi) == set(COLUMNS) - {"CustomerID"}
    assert max(psi.values()) < STABLE, psi
    assert gauges == psi


def test_one_shifted_field_drifts_alone(customer_data: Path, rng: np.random.Generator) -> None:
    customers = training_like(customer_data, rng, 6000)
    for customer in customers:
        customer["AnnualIncome"] *= 1.6
    report, _ = drift_after(customers)
    psi = {field["field"]: field["psi"] for field in report["fields"]}
    assert psi["AnnualIncome"] > SHIFTED, psi
    assert max(v for k, v in psi.items() if k != "AnnualIncome") < STABLE, psi


def test_window_rolls_over(customer_data: Path, rng: np.random.Generator) -> None:
    customers = training_like(customer_data, rng, 3000)
    with make_client(drift_window=1000) as client:
        for start in range(0, 3000, 500):
            client.post("/predict/batch", json=customers[start:start + 500])
        report = client.get("/drift").json()
    assert report["customers"] == 1000


def test_single_and_batch_customers_are_counted_once_each() -> None:
    samples = [dict(sample, CustomerID=f"C{i}") for i, (sample, _) in enumerate(SAMPLES.values())]
    with make_client(drift_window=1000) as client:
        assert client.get("/drift").json()["customers"] == 0  # a report before any customer
        for sample in samples:
            assert client.post("/predict", json=sample).status_code == 200
        assert client.post("/predict/batch", json=samples * 3).status_code == 200
        first, again = client.get("/drift").json(), client.get("/drift").json()
    assert first == again  # a report with nothing new pending changes nothing
    assert first["customers"] == 16
    assert all(sum(field["counts"]) == 16 for field in first["fields"])


def test_numeric_bins_count_the_edges_at_or_below(rng: np.random.Generator) -> None:
    spec = FeatureSpec(field="AnnualIncome", kind="numeric", weight=1.0)
    edges = [10.0, 20.0, 20.0, 35.5]  # quantiles may repeat
    values = np.concatenate([rng.uniform(0, 50, 1_000), edges, [-1e300, 1e300]])
    bins = bin_index(spec, edges, values, Encoder(FeatureLayout.of([spec])))
    assert np.array_equal(bins, np.searchsorted(edges, values, side="right"))
    assert bin_index(spec, edges, [], Encoder(FeatureLayout.of([spec]))).tolist() == []
