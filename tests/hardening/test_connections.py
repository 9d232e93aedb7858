"""Answers on one connection, as a client sees them: complete, in order, then the close."""

from __future__ import annotations

import json
import socket

from tests.hardening.live import HOST, SAMPLES, LiveServer


def _request(method: str, path: str, body: bytes = b"", close: bool = False) -> bytes:
    headers = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", f"Content-Length: {len(body)}",
               "Content-Type: application/json"]
    if close:
        headers.append("Connection: close")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def _answers(stream: bytes) -> list[tuple[int, bytes]]:
    """Status and body of each answer in ``stream`` (all have a Content-Length)."""
    answers = []
    while stream:
        head, _, rest = stream.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in lines[1:]
                      if line.lower().startswith(b"content-length:"))
        answers.append((int(lines[0].split()[1]), rest[:length]))
        stream = rest[length:]
    return answers


def _exchange(server: LiveServer, requests: bytes) -> bytes:
    """Send ``requests`` at once; everything the server sends until it closes."""
    received = []
    with socket.create_connection((HOST, server.port), timeout=10) as connection:
        connection.sendall(requests)
        while chunk := connection.recv(1 << 16):
            received.append(chunk)
    return b"".join(received)


def test_pipelined_requests_are_answered_in_order_then_closed(server: LiveServer) -> None:
    batch = json.dumps([SAMPLES[index] for index in (0, 1, 2)] * 2_000).encode()  # about 2 MB back
    stream = _exchange(server, b"".join([
        _request("POST", "/predict", json.dumps(SAMPLES[1]).encode()),
        _request("GET", "/health"),
        _request("POST", "/predict/batch", batch),
        _request("POST", "/predict", json.dumps(SAMPLES[0]).encode(), close=True),
    ]))
    answers = _answers(stream)
    assert [status for status, _ in answers] == [200, 200, 200, 200]
    assert json.loads(answers[0][1])["cluster"] == 1
    assert json.loads(answers[1][1])["status"] == "healthy"
    clusters = [answer["cluster"] for answer in json.loads(answers[2][1])["predictions"]]
    assert clusters == [0, 1, 2] * 2_000
    assert json.loads(answers[3][1])["cluster"] == 0
