"""Graceful shutdown: SIGTERM stops accepting, requests in flight finish, the process exits 0
in time. (In Kubernetes, the pod's preStop pause keeps it serving while endpoints update.)"""

from __future__ import annotations

import json
import signal
import socket
import time

import pytest

from tests.hardening.conftest import Serve
from tests.hardening.live import HOST, RawUpload, customer, wait_for

GRACE = 8.0
MARGIN = 3.0


def _refused(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=0.5).close()
    except ConnectionRefusedError:
        return True
    except OSError:  # a connection nobody accepts times out: that is not a refusal
        return False
    return False


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_finishes_requests_in_flight_and_exits_0(serve: Serve, workers: int) -> None:
    live = serve(workers=workers, env={"SEGMENTATION_GRACE_SECONDS": str(GRACE)})
    customers = [customer(i) for i in range(300)]
    body = json.dumps(customers).encode()
    upload = RawUpload(live.port, "/predict/batch", body, timeout=GRACE + MARGIN)
    try:
        upload.send(len(body) // 2)  # a slow client: half its body sent, the rest to come
        time.sleep(0.2)
        began = time.monotonic()
        live.signal(signal.SIGTERM)
        if workers == 1:  # one process: its listening socket closes at once
            wait_for(lambda: _refused(live.port), timeout=2.0, what="the listening socket closed")
        time.sleep(0.5)
        assert live.process.poll() is None, "exited with a request in flight"
        upload.finish()
        status, _, answer = upload.response()
        assert status == 200
        predictions = json.loads(answer)["predictions"]
        assert [p["CustomerID"] for p in predictions] == [c["CustomerID"] for c in customers]
    finally:
        upload.close()
    assert live.wait(max(0.0, began + GRACE + MARGIN - time.monotonic())) == 0
    assert "Traceback" not in live.log.read_text()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_request_that_never_ends_does_not_hold_the_exit(serve: Serve, workers: int) -> None:
    grace = 0.5  # under a second is still a bound (one second), not "wait for ever"
    live = serve(workers=workers, env={"SEGMENTATION_GRACE_SECONDS": str(grace)})
    stuck = RawUpload(live.port, "/predict", b"{" + b" " * 1000)
    try:
        stuck.send(10)
        time.sleep(0.2)
        began = time.monotonic()
        live.signal(signal.SIGTERM)
        assert live.wait(1 + MARGIN) == 0
        assert time.monotonic() - began >= grace - 0.2
    finally:
        stuck.close()


def test_stalled_uploads_at_shutdown_get_json_503_and_leave_no_error_in_the_log(serve: Serve) -> None:
    live = serve(env={"SEGMENTATION_GRACE_SECONDS": "1"})
    body = json.dumps([customer(i) for i in range(50)]).encode()
    stalled = [RawUpload(live.port, "/predict/batch", body, timeout=10.0) for _ in range(10)]
    try:
        for upload in stalled:
            upload.send(len(body) // 3)  # then nothing more
        time.sleep(0.3)
        live.signal(signal.SIGTERM)
        assert live.wait(1 + MARGIN) == 0
        for upload in stalled:
            status, headers, answer = upload.response()
            assert status == 503
            assert headers["content-type"] == "application/json"
            assert json.loads(answer)["error"] == "shutting_down"
    finally:
        for upload in stalled:
            upload.close()
    lines = live.log_lines()
    # uvicorn says, once, that it cancelled what was still running: that is all.
    errors = [line["message"] for line in lines if line["level"] == "error"]
    assert errors == ["Cancel 10 running task(s), timeout graceful shutdown exceeded"]
    assert "Traceback" not in live.log.read_text()
    assert [line["status"] for line in live.access_lines() if line["path"] == "/predict/batch"] == [503] * 10
