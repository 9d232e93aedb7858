"""Oversized headers, tried live against the service's app under each parser uvicorn 0.54 offers.

httptools, the service's parser, puts no bound on a request's header section, and
uvicorn has no option for it; the one public bound is h11's
``h11_max_incomplete_event_size`` (``--h11-max-incomplete-event-size``). With it at
64 KiB, a 1 MB value, 100,000 headers and a 150 MB value are refused (400, the
connection closed) while ``/health/live`` goes on answering: the behaviour that
public option guarantees. The shipped parser accepts them; that gap is kept in
view by a strict xfail (figures and options in docs/security.md).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hardening.conftest import Serve
from tests.hardening.live import HOST, ROOT, LiveServer, free_port, wait_for

LIMIT = 64 * 1024
MEGABYTE = 1 << 20
OVERSIZED = {
    "1 MB value": b"X-Big: " + b"a" * MEGABYTE + b"\r\n",
    "100,000 headers": b"".join(b"X-H%d: v\r\n" % i for i in range(100_000)),
}


@pytest.fixture
def h11_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The service's app under uvicorn's h11 parser, header events bounded to 64 KiB."""
    port = free_port()
    log = tmp_path / "h11.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "runtime.service.app:create_app",
             "--host", HOST, "--port", str(port), "--http", "h11",
             "--h11-max-incomplete-event-size", str(LIMIT), "--no-access-log"],
            cwd=ROOT, stdout=output, stderr=output, stdin=subprocess.DEVNULL, start_new_session=True)
    server = LiveServer(process, port, log)
    try:
        wait_for(server.ready, timeout=30.0, what="the h11 server ready")
        yield server
    finally:
        server.stop()


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


def status_line(answer: bytes) -> bytes:
    return answer.split(b"\r\n", 1)[0]


@pytest.mark.slow
@pytest.mark.parametrize("kind", OVERSIZED)
def test_h11_with_its_limit_refuses_an_oversized_header_section(
    h11_server: LiveServer, kind: str
) -> None:
    answer = raw_request(h11_server, OVERSIZED[kind])
    assert status_line(answer) == b"HTTP/1.1 400 Bad Request", answer[:200]
    assert b"connection: close" in answer.lower()


@pytest.mark.slow
def test_h11_cuts_a_150_mb_header_off_while_probes_are_answered(h11_server: LiveServer) -> None:
    probes: list[int] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            connection = http.client.HTTPConnection(HOST, h11_server.port, timeout=30)
            connection.request("GET", "/health/live")
            probes.append(connection.getresponse().status)
            connection.close()

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    sent = 0
    try:
        with socket.create_connection((HOST, h11_server.port), timeout=30) as sock:
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
@pytest.mark.xfail(strict=True, reason="httptools bounds no header section and uvicorn has no "
                   "option for it: see docs/security.md, 'Oversized headers'")
@pytest.mark.parametrize("kind", OVERSIZED)
def test_the_shipped_parser_refuses_an_oversized_header_section(serve: Serve, kind: str) -> None:
    answer = raw_request(serve(), OVERSIZED[kind])
    assert status_line(answer) != b"HTTP/1.1 200 OK"
