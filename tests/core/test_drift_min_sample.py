"""Drift below the minimum sample: no PSI, and every figure says how many customers it rests on."""

from __future__ import annotations

from tests.conftest import SAMPLES, make_client


def _samples(count: int) -> list[dict[str, object]]:
    samples = [sample for sample, _ in SAMPLES.values()]
    return [dict(samples[i % len(samples)], CustomerID=f"C{i}") for i in range(count)]


def test_a_fresh_server_reports_no_psi_for_a_few_customers() -> None:
    with make_client() as client:
        for customer in _samples(6):
            assert client.post("/predict", json=customer).status_code == 200
        report = client.get("/drift").json()
        gauges = [line for line in client.get("/metrics").text.splitlines()
                  if line.startswith("segmentation_drift_psi{")]
    assert report["min_sample"] == 500 and report["customers"] == 6
    assert all(field["psi"] is None and field["customers"] == 6 for field in report["fields"])
    assert gauges and all(line.endswith(" NaN") for line in gauges), gauges


def test_psi_appears_once_the_configured_minimum_is_reached() -> None:
    with make_client(drift_min_sample=10) as client:
        client.post("/predict/batch", json=_samples(9))
        below = client.get("/drift").json()
        client.post("/predict/batch", json=_samples(1))
        reached = client.get("/drift").json()
    assert {field["psi"] for field in below["fields"]} == {None}
    assert all(isinstance(field["psi"], float) and field["customers"] == 10 for field in reached["fields"])
