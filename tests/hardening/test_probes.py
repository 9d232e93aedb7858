"""Probes: liveness always 200, readiness 200 when loaded and 503 JSON while draining."""

from __future__ import annotations

import signal
import time

from tests.hardening.conftest import Serve
from tests.hardening.live import LiveServer, customer, wait_for


def test_live_is_200(server: LiveServer) -> None:
    answer = server.get("/health/live")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["status"] == "alive"


def test_ready_is_200_once_loaded(server: LiveServer) -> None:
    answer = server.get("/health/ready")
    assert answer.status_code == 200
    assert answer.json() == {"status": "healthy", "models_loaded": True, "model_loaded": True,
                             "model_version": "1.0.0"}


def test_health_keeps_the_seed_shape(server: LiveServer) -> None:
    answer = server.get("/health")
    assert answer.status_code == 200
    body = answer.json()
    assert {"status", "model_loaded"} <= body.keys()
    assert body["status"] == "healthy"
    assert body["model_loaded"] is True


def test_draining_turns_readiness_503_and_liveness_stays_200(serve: Serve) -> None:
    live = serve(env={"SEGMENTATION_DRAIN_SECONDS": "3", "SEGMENTATION_GRACE_SECONDS": "2"})
    with live.client() as client:
        assert client.get("/health/ready").status_code == 200
        live.signal(signal.SIGTERM)
        began = time.monotonic()
        ready = wait_for(lambda: (r := client.get("/health/ready")).status_code == 503 and r,
                         timeout=1.0, what="readiness 503 after SIGTERM")
        assert ready.headers["content-type"] == "application/json"
        assert ready.json() == {"status": "draining", "models_loaded": True,
                                "model_loaded": True, "model_version": "1.0.0"}
        assert client.get("/health/live").status_code == 200
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "draining"
        # Draining is not refusing: requests still arriving are served until the socket closes.
        assert client.post("/predict", json=customer()).status_code == 200
        assert time.monotonic() - began < 3.0
    assert live.wait(3 + 2 + 5) == 0
