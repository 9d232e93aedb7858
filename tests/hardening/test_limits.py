"""Limits: bodies over the limit refused early, batches over the limit, overload refused."""

from __future__ import annotations

import contextlib
import json
import time

from runtime.service.settings import Settings
from tests.hardening.conftest import Serve
from tests.hardening.live import LiveServer, RawUpload, customer, wait_for

MB = 1024 * 1024


def test_a_48_mb_body_is_refused_before_it_is_read(server: LiveServer) -> None:
    declared = 48 * MB
    upload = RawUpload(server.port, "/predict/batch", b"[" + b" " * (64 * 1024), declared=declared)
    try:
        upload.send(64 * 1024)
        # The answer is there after one 64 KiB piece: the other 47.9 MB were never needed.
        wait_for(upload.answered, timeout=5.0, what="an answer after the first piece")
        status, headers, body = upload.response()
    finally:
        upload.close()
    assert upload.sent <= 64 * 1024 + 1
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    error = json.loads(body)
    assert error["error"] == "payload_too_large"
    assert str(declared) in error["message"]
    assert str(Settings().body_limit) in error["message"]


def test_a_chunked_body_over_the_limit_is_refused(serve: Serve) -> None:
    live = serve(env={"SEGMENTATION_MAX_BODY_BYTES": str(256 * 1024)})
    upload = RawUpload(live.port, "/predict/batch", b"[" + b" " * (4 * MB), chunked=True)
    try:
        for _ in range(64):  # at most 4 MB, in 64 KiB chunks
            if upload.answered():
                break
            try:
                upload.send(64 * 1024)
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.01)
        status, _, body = upload.response()
    finally:
        upload.close()
    assert status == 413
    assert json.loads(body)["error"] == "payload_too_large"
    assert upload.sent < 1 * MB, "the server read far past its limit"
    # A chunked body under the limit is still welcome.
    small = RawUpload(live.port, "/predict", json.dumps(customer()).encode(), chunked=True)
    try:
        small.send(100)
        small.finish()
        assert small.response()[0] == 200
    finally:
        small.close()


def test_a_batch_over_the_limit_names_the_limit(serve: Serve) -> None:
    live = serve(env={"SEGMENTATION_MAX_BATCH": "5"})
    with live.client() as client:
        assert client.post("/predict/batch", json=[customer(i) for i in range(5)]).status_code == 200
        answer = client.post("/predict/batch", json=[customer(i) for i in range(6)])
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()
    assert error["error"] == "batch_too_large"
    assert "the limit is 5" in error["message"]
    assert "6 customers" in error["message"]


def test_overload_answers_503_with_retry_after(serve: Serve) -> None:
    live = serve(env={"SEGMENTATION_MAX_CONCURRENCY": "1"})
    body = json.dumps(customer()).encode()
    with contextlib.ExitStack() as stack:
        slow = RawUpload(live.port, "/predict", body)
        stack.callback(slow.close)
        slow.send(len(body) // 2)  # headers and half the body, then nothing: one request in progress
        with live.client() as client:
            refused = wait_for(
                lambda: (r := client.post("/predict", json=customer(1))).status_code == 503 and r,
                timeout=5.0, what="a 503 while the slow upload holds the only slot")
            assert refused.headers["retry-after"] == "1"
            assert refused.headers["content-type"] == "application/json"
            assert refused.json()["error"] == "overloaded"
            # Probes are never refused for load, and readiness tells the truth: no slot is free.
            assert client.get("/health/live").status_code == 200
            assert client.get("/health/ready").json() == {
                "status": "overloaded", "models_loaded": True, "model_loaded": True,
                "model_version": "1.0.0"}
            slow.finish()
            status, _, answer = slow.response()
            assert status == 200
            assert json.loads(answer)["CustomerID"] == "C000000"
            # The slot is free again.
            assert client.post("/predict", json=customer(2)).status_code == 200
            assert client.get("/health/ready").status_code == 200
