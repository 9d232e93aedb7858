"""Oversized headers against a live service: 431 in the error shape, or the connection closed.

The header section is bounded to 64 KB (``runtime.service.header_limit``): a
1 MB value and 100,000 headers are refused, a 150 MB value is cut off after the
first reads while liveness probes go on being answered, and sections under the
limit are served, several on one connection.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading

import pytest

from runtime.service.header_limit import MAX_HEADER_BYTES
from tests.hardening.conftest import Serve
from tests.hardening.live import HOST, LiveServer

MEGABYTE = 1 << 20


def raw_request(server: LiveServer, head: bytes) -> bytes:
    """Send a GET whose header section is ``head`` (without the blank line); the whole answer."""
    with socket.create_connection((HOST, server.port), timeout=30) as sock:
        # refused while sending: the answer, if any, is still in the socket
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


def assert_refused(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large"), answer[:200]
    assert b"connection: close" in head
    assert json.loads(body) == {
        "error": "header_too_large", "field": None,
        "message": f"The request's header section is over the limit of {MAX_HEADER_BYTES} bytes"}


@pytest.mark.slow
def test_header_sections_over_the_limit_are_refused(serve: Serve) -> None:
    server = serve()
    assert_refused(raw_request(server, b"X-Big: " + b"a" * MEGABYTE + b"\r\n"))
    assert_refused(raw_request(server, b"".join(b"X-H%d: v\r\n" % i for i in range(100_000))))
    assert [line for line in server.log_lines() if line["logger"] == "runtime.service.header_limit"]


@pytest.mark.slow
def test_a_150_mb_header_is_cut_off_while_probes_are_answered(serve: Serve) -> None:
    server = serve()
    probes: list[int] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
            connection.request("GET", "/health/live")
            probes.append(connection.getresponse().status)
            connection.close()

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    sent = 0
    try:
        with socket.create_connection((HOST, server.port), timeout=30) as sock:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ")
            block = b"a" * MEGABYTE
            with pytest.raises((ConnectionResetError, BrokenPipeError)):
                for _ in range(150):
                    sock.sendall(block)
                    sent += len(block)
    finally:
        stop.set()
        prober.join(30)
    assert sent < 150 * MEGABYTE
    assert probes and set(probes) == {200}


@pytest.mark.slow
def test_sections_under_the_limit_are_served_on_one_connection(serve: Serve) -> None:
    server = serve()
    value = "a" * (MAX_HEADER_BYTES // 2)
    connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
    try:
        for _ in range(3):
            connection.request("GET", "/health/live", headers={"X-Half": value})
            response = connection.getresponse()
            response.read()
            assert response.status == 200
    finally:
        connection.close()
