"""Graceful shutdown: SIGTERM drains, in-flight requests finish, the process exits 0 in time."""

from __future__ import annotations

import json
import signal
import socket
import time

import httpx
import pytest

from tests.hardening.conftest import Serve
from tests.hardening.live import HOST, LiveServer, RawUpload, customer, wait_for

DRAIN = 3.0
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


def _drain_with_a_request_in_flight(live: LiveServer) -> None:
    customers = [customer(i) for i in range(300)]
    body = json.dumps(customers).encode()
    upload = RawUpload(live.port, "/predict/batch", body, timeout=GRACE + DRAIN + MARGIN)
    try:
        upload.send(len(body) // 2)  # a slow client: half its body sent, the rest to come
        time.sleep(0.2)
        began = time.monotonic()
        live.signal(signal.SIGTERM)
        for _ in range(4):  # fresh connections: with several workers, each may answer
            ready = wait_for(lambda: (r := httpx.get(f"{live.url}/health/ready")).status_code == 503
                             and r, timeout=1.0, what="readiness 503")
            assert ready.json()["status"] == "draining"
        # Still draining: the socket is open and new requests are served.
        assert httpx.post(f"{live.url}/predict", json=customer()).status_code == 200
        assert time.monotonic() - began < DRAIN
        # After the drain the socket is closed: new connections are refused at once.
        wait_for(lambda: _refused(live.port), timeout=DRAIN + 2.0, what="the listening socket closed")
        assert time.monotonic() - began >= DRAIN - 0.2
        assert live.process.poll() is None, "exited with a request in flight"
        # The request in flight gets its grace: it finishes after the socket closed, with a 200.
        upload.finish()
        status, _, answer = upload.response()
        assert status == 200
        predictions = json.loads(answer)["predictions"]
        assert [p["CustomerID"] for p in predictions] == [c["CustomerID"] for c in customers]
    finally:
        upload.close()
    assert live.wait(max(0.0, began + DRAIN + GRACE + MARGIN - time.monotonic())) == 0
    assert time.monotonic() - began < DRAIN + GRACE + MARGIN


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_and_finishes_requests_in_flight(serve: Serve, workers: int) -> None:
    live = serve(workers=workers, env={"SEGMENTATION_DRAIN_SECONDS": str(DRAIN),
                                       "SEGMENTATION_GRACE_SECONDS": str(GRACE)})
    _drain_with_a_request_in_flight(live)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_request_that_never_ends_does_not_hold_the_exit(serve: Serve, workers: int) -> None:
    drain, grace = 0.5, 0.5  # a grace under a second is still a bound, not "wait for ever"
    live = serve(workers=workers, env={"SEGMENTATION_DRAIN_SECONDS": str(drain),
                                       "SEGMENTATION_GRACE_SECONDS": str(grace)})
    stuck = RawUpload(live.port, "/predict", b"{" + b" " * 1000)
    try:
        stuck.send(10)
        time.sleep(0.2)
        began = time.monotonic()
        live.signal(signal.SIGTERM)
        assert live.wait(drain + grace + MARGIN) == 0
        assert time.monotonic() - began >= drain + grace - 0.2
    finally:
        stuck.close()
