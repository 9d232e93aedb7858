"""Metrics: the Prometheus text format, read with prometheus_client's parser."""

from __future__ import annotations

import hashlib
import http.client
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.hardening.conftest import Serve
from tests.hardening.live import HOST, ROOT, SAMPLES, LiveServer, customer, metric

DEFAULT_ARRAYS = ROOT / "artifacts" / "customer-segmentation" / "1.0.0" / "arrays.npz"
REQUESTS = "segmentation_requests_total"
LATENCY = "segmentation_request_duration_seconds"


def test_metrics_are_prometheus_text(server: LiveServer) -> None:
    answer = server.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    names = {sample.name for sample in server.metrics()}
    assert {"segmentation_requests_total", "segmentation_request_duration_seconds_bucket",
            "segmentation_model_info", "segmentation_reloads_total"} <= names


def test_requests_and_latency_by_route_and_status(server: LiveServer) -> None:
    before = server.metrics()
    with server.client() as client:
        for index in range(3):
            assert client.post("/predict", json=customer(index)).status_code == 200
        for _ in range(2):
            assert client.post("/predict", json=customer(Age="old")).status_code == 422
        assert client.get("/no-such-page").status_code == 404
    after = server.metrics()

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew(REQUESTS, route="/predict", method="POST", status="200") == 3
    assert grew(REQUESTS, route="/predict", method="POST", status="422") == 2
    assert grew(REQUESTS, route="other", method="GET", status="404") == 1
    assert grew(f"{LATENCY}_count", route="/predict", status="200") == 3
    assert grew(f"{LATENCY}_count", route="/predict", status="422") == 2
    assert grew(f"{LATENCY}_bucket", route="/predict", status="200", le="+Inf") == 3
    assert grew(f"{LATENCY}_sum", route="/predict", status="200") > 0


def test_predictions_by_segment_and_batch_sizes(server: LiveServer) -> None:
    before = server.metrics()
    with server.client() as client:
        for segment, body in SAMPLES.items():
            assert client.post("/predict", json=body).json()["cluster"] == segment
        batch = client.post("/predict/batch", json=[SAMPLES[1], SAMPLES[1], SAMPLES[0]])
        assert batch.status_code == 200
    after = server.metrics()

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("segmentation_predictions_total", segment_id="0") == 2
    assert grew("segmentation_predictions_total", segment_id="1", segment="High-Value Loyal") == 3
    assert grew("segmentation_predictions_total", segment_id="2") == 1
    assert grew("segmentation_batch_size_count") == 1
    assert grew("segmentation_batch_size_sum") == 3
    assert grew("segmentation_batch_size_bucket", le="10.0") == 1
    assert grew("segmentation_batch_size_bucket", le="1.0") == 0


def test_model_info_names_the_bundle(server: LiveServer) -> None:
    checksum = hashlib.sha256(DEFAULT_ARRAYS.read_bytes()).hexdigest()
    info = [s for s in server.metrics() if s.name == "segmentation_model_info" and s.value == 1]
    assert len(info) == 1
    assert info[0].labels == {"name": "customer-segmentation", "version": "1.0.0",
                              "checksum": checksum}


def test_reload_counters_exist_from_the_start(server: LiveServer) -> None:
    samples = server.metrics()
    results = {s.labels["result"] for s in samples if s.name == "segmentation_reloads_total"}
    assert results == {"success", "failure"}
    assert metric(samples, "segmentation_reloads_total") == 0


def _predict_on_a_new_connection(port: int, index: int) -> int:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        body = customer(index)
        connection.request("POST", "/predict", body=json.dumps(body),
                           headers={"Content-Type": "application/json", "Connection": "close"})
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def test_two_workers_are_summed(serve: Serve) -> None:
    live = serve(workers=2)
    assert len(live.worker_pids()) == 2
    sent = 120
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda i: _predict_on_a_new_connection(live.port, i), range(sent)))
    assert statuses == [200] * sent
    samples = live.metrics()
    assert metric(samples, REQUESTS, route="/predict", status="200") == sent
    assert metric(samples, f"{LATENCY}_count", route="/predict") == sent
    assert metric(samples, "segmentation_predictions_total") == sent
    # Both workers answered some of them: the sum above is not one worker's count.
    by_worker = Counter(line["pid"] for line in live.access_lines() if line["path"] == "/predict")
    assert sum(by_worker.values()) == sent
    assert len(by_worker) == 2, by_worker
