"""Slow clients: 64 uploads that send one byte of their body and stall hold the service, and
keep it unready, no longer than the body deadline
(``runtime.service.middleware.body_deadline``, 10 s by default)."""

from __future__ import annotations

import json

import httpx
import pytest

from runtime.service.settings import Settings
from tests.hardening.conftest import Serve
from tests.hardening.live import RawUpload, customer, wait_for

STALLED = Settings().max_concurrency  # every concurrency slot
DEADLINE = Settings().body_seconds


def predict_status(url: str) -> int:
    with httpx.Client(base_url=url, timeout=30.0) as client:
        return client.post("/predict", json=customer()).status_code


def answer_of(upload: RawUpload) -> tuple[str, bytes]:
    """The status line and body the server sent before closing the connection."""
    data = b""
    while chunk := upload.sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0].decode(), body


@pytest.mark.slow
def test_stalled_uploads_get_408_and_free_their_slots(serve: Serve) -> None:
    server = serve()
    body = json.dumps(customer()).encode()
    uploads = [RawUpload(server.port, "/predict", body, timeout=DEADLINE + 30) for _ in range(STALLED)]
    try:
        for upload in uploads:
            upload.send(1)
        # the attack holds: while the uploads stall, every slot is taken
        wait_for(lambda: predict_status(server.url) == 503, timeout=DEADLINE, what="all slots taken")
        assert server.get("/health/ready").status_code == 503  # readiness sees it too
        # and it ends with the deadline: the slots come free, others are served again
        wait_for(lambda: predict_status(server.url) == 200, timeout=DEADLINE + 20,
                 interval=0.2, what="/predict served again")
        assert server.get("/health/ready").status_code == 200
        for upload in uploads:
            status, answer = answer_of(upload)
            assert status == "HTTP/1.1 408 Request Timeout"
            assert json.loads(answer) == {
                "error": "request_timeout", "field": None,
                "message": f"The request body did not arrive within {DEADLINE:g} s"}
    finally:
        for upload in uploads:
            upload.sock.close()
    statuses = [line["status"] for line in server.access_lines() if line.get("path") == "/predict"]
    assert statuses.count(408) == STALLED
    assert 500 not in statuses

