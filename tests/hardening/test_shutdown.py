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
