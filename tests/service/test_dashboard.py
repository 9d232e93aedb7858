"""The Grafana dashboard queries only metrics the service exposes."""

from __future__ import annotations

import json
import re

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from runtime.service.reload import reload_model
from tests.conftest import README_CUSTOMER, ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"
METRIC = re.compile(r"\b(segmentation_[a-z_]+)\b")


def test_every_panel_queries_an_exposed_metric(client: TestClient) -> None:
    client.post("/predict", json=README_CUSTOMER)
    client.post("/predict/batch", json=[README_CUSTOMER])
    client.post("/predict", content=b"{", headers={"content-type": "application/json"})
    assert reload_model(client.app)  # type: ignore[arg-type]  # so the reload counter has a series
    exposed = {sample.name for family in text_string_to_metric_families(client.get("/metrics").text)
               for sample in family.samples}
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in METRIC.findall(target["expr"])}
    assert queried, "the dashboard queries nothing"
    assert queried <= exposed, queried - exposed
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in ("requests", "latency", "errors", "segment", "drift", "reloads"):
        assert topic in titles
