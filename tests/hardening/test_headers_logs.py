"""Headers and logs: model version, request ids, security headers, JSON access lines, CORS."""

from __future__ import annotations

import re
import uuid

from tests.hardening.conftest import Serve
from tests.hardening.live import LiveServer, customer, wait_for

ACCESS_FIELDS = {"method", "path", "status", "duration_ms", "request_id", "model_version"}
# Values that must never reach the logs unless customer logging is switched on.
SECRET_ID = "CUST-PRIVATE-7781"
SECRET_INCOME = 987654.32


def _secret_customer() -> dict[str, object]:
    return customer(CustomerID=SECRET_ID, AnnualIncome=SECRET_INCOME)


def _line_for(server: LiveServer, request_id: str) -> dict[str, object]:
    lines = wait_for(lambda: [line for line in server.access_lines()
                              if line.get("request_id") == request_id],
                     timeout=5.0, what=f"access line for {request_id}")
    assert len(lines) == 1, lines
    return lines[0]


def test_every_predict_answer_carries_the_model_version(server: LiveServer) -> None:
    with server.client() as client:
        answers = [
            client.post("/predict", json=customer()),
            client.post("/predict?explain=true", json=customer(1)),
            client.post("/predict/batch", json=[customer(2), customer(3)]),
            client.post("/predict", json=customer(Age=-1)),
            client.post("/predict", content=b"{not json", headers={"content-type": "application/json"}),
            client.post("/predict/batch", json=[]),
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 422, 400, 422]
    for answer in answers:
        assert answer.headers["x-model-version"] == "1.0.0", answer.request.url


def test_request_id_is_echoed_when_given(server: LiveServer) -> None:
    request_id = f"test-{uuid.uuid4().hex}"
    answer = server.post("/predict", customer(), headers={"X-Request-ID": request_id})
    assert answer.headers["x-request-id"] == request_id


def test_request_id_is_generated_when_absent_or_unusable(server: LiveServer) -> None:
    with server.client() as client:
        absent = client.get("/health").headers["x-request-id"]
        again = client.get("/health").headers["x-request-id"]
        # A header that could forge log lines is replaced, not echoed.
        forged = client.get("/health", headers={"X-Request-ID": 'x" injected\\n{"level":"error"}'})
    assert re.fullmatch(r"[0-9a-f]{32}", absent)
    assert absent != again
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])


def test_one_json_access_line_per_request(server: LiveServer) -> None:
    ids = [f"line-{uuid.uuid4().hex}" for _ in range(4)]
    with server.client() as client:
        client.post("/predict", json=customer(), headers={"X-Request-ID": ids[0]})
        client.post("/predict/batch", json=[customer()], headers={"X-Request-ID": ids[1]})
        client.post("/predict", json=customer(Gender=""), headers={"X-Request-ID": ids[2]})
        client.get("/health/live", headers={"X-Request-ID": ids[3]})
    lines = [_line_for(server, request_id) for request_id in ids]
    for line in lines:
        assert line.keys() >= ACCESS_FIELDS
        assert isinstance(line["duration_ms"], float)
        assert line["duration_ms"] >= 0
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", "/predict", 200), ("POST", "/predict/batch", 200),
        ("POST", "/predict", 422), ("GET", "/health/live", 200),
    ]
    assert [line["model_version"] for line in lines] == ["1.0.0", "1.0.0", "1.0.0", None]
    # Every line on stderr is JSON (log_lines fails otherwise), the service's and uvicorn's alike.
    assert any(line["logger"].startswith("uvicorn") for line in server.log_lines())


def test_no_customer_data_in_logs_by_default(server: LiveServer) -> None:
    request_id = f"private-{uuid.uuid4().hex}"
    with server.client() as client:
        client.post("/predict", json=_secret_customer(), headers={"X-Request-ID": request_id})
        client.post("/predict/batch", json=[_secret_customer()])
        client.post("/predict", json=customer(CustomerID=SECRET_ID, Gender=SECRET_ID))  # a 422
    assert "customers" not in _line_for(server, request_id)
    text = server.log.read_text()
    assert SECRET_ID not in text
    assert "987654" not in text


def test_customer_ids_are_logged_only_when_asked(serve: Serve) -> None:
    live = serve(env={"SEGMENTATION_LOG_CUSTOMERS": "1"})
    request_id = f"ids-{uuid.uuid4().hex}"
    live.post("/predict/batch", [_secret_customer(), customer(7)], headers={"X-Request-ID": request_id})
    assert _line_for(live, request_id)["customers"] == [SECRET_ID, "C000007"]
    assert "987654" not in live.log.read_text()  # ids only, never the figures


def test_warning_level_silences_access_lines(serve: Serve) -> None:
    live = serve(env={"SEGMENTATION_LOG_LEVEL": "warning"})
    with live.client() as client:
        for index in range(5):
            assert client.post("/predict", json=customer(index)).status_code == 200
        assert client.get("/nothing-here").status_code == 404
    live.stop()
    lines = live.log_lines()
    assert not [line for line in lines if line["logger"] == "runtime.access"]
    assert not [line for line in lines if line["level"] in ("debug", "info")]


def test_security_headers_on_every_answer(server: LiveServer) -> None:
    with server.client() as client:
        answers = [
            client.get("/"), client.get("/health"), client.get("/metrics"),
            client.get("/missing"), client.put("/predict"),
            client.post("/predict", json=customer()), client.post("/predict", json={}),
            client.post("/predict", content=b"x" * (17 * 1024 * 1024)),  # over the body limit
        ]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.request.url
        assert "x-request-id" in answer.headers


def test_no_cors_headers_by_default(server: LiveServer) -> None:
    origin = {"Origin": "https://shop.example"}
    with server.client() as client:
        simple = client.post("/predict", json=customer(), headers=origin)
        preflight = client.options("/predict", headers={**origin, "Access-Control-Request-Method": "POST"})
    for answer in (simple, preflight):
        assert not [name for name in answer.headers if name.startswith("access-control-")]


def test_cors_headers_for_the_configured_origin_only(serve: Serve) -> None:
    live = serve(env={"SEGMENTATION_CORS_ORIGINS": "https://shop.example"})
    with live.client() as client:
        allowed = client.post("/predict", json=customer(), headers={"Origin": "https://shop.example"})
        other = client.post("/predict", json=customer(), headers={"Origin": "https://evil.example"})
        preflight = client.options("/predict", headers={
            "Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
        refused = client.options("/predict", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
