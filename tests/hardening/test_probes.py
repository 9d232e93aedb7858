"""Probes: liveness always 200, readiness 200 when loaded (503 when saturated: test_limits)."""

from __future__ import annotations

from tests.hardening.live import LiveServer


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
    assert {"status", "models_loaded", "model_loaded"} <= body.keys()
    assert body["status"] == "healthy"
    assert body["models_loaded"] is True and body["model_loaded"] is True
