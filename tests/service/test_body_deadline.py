"""BodyDeadlineMiddleware on its own: a bare ASGI app, a hand-driven ``receive``, no server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from runtime.service.middleware.body_deadline import BodyDeadlineMiddleware

SHORT = 0.05
HTTP: Scope = {"type": "http", "method": "POST", "path": "/predict", "headers": []}


class Echo:
    """Reads the whole body, then answers it back; notes how far it got."""

    def __init__(self) -> None:
        self.body = b""
        self.finished = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        more = True
        while more:
            message = await receive()
            self.body += message.get("body", b"")
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": self.body})
        self.finished = True


def stalling(*parts: bytes) -> Receive:
    """A client that sends ``parts`` of its body, then nothing more, for ever."""
    queue = list(parts)

    async def receive() -> Message:
        if queue:
            return {"type": "http.request", "body": queue.pop(0), "more_body": True}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


def complete(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            await asyncio.sleep(0)  # as a server's receive, which waits for its message
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # no disconnect until the test ends
        raise AssertionError("unreachable")

    return receive


def run(app: Any, receive: Receive, scope: Scope = HTTP) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_body_that_arrives_in_time_passes_untouched() -> None:
    echo = Echo()
    sent = run(BodyDeadlineMiddleware(echo, seconds=SHORT), complete(b'{"a": 1}'))
    assert echo.finished
    assert [message.get("status") for message in sent] == [200, None]
    assert sent[1]["body"] == b'{"a": 1}'


def test_a_stalled_body_gets_408_in_the_error_shape_and_closes() -> None:
    echo = Echo()
    sent = run(BodyDeadlineMiddleware(echo, seconds=SHORT), stalling(b"{"))
    assert not echo.finished
    assert echo.body == b"{"
    start, body = sent
    assert start["status"] == 408
    headers = dict(start["headers"])
    assert headers[b"connection"] == b"close"
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(body["body"]) == {
        "error": "request_timeout", "field": None,
        "message": f"The request body did not arrive within {SHORT:g} s"}


def test_the_deadline_ends_with_the_body() -> None:
    """Waiting for a disconnect after the body is not cut short by the deadline."""
    waited: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        try:
            await asyncio.wait_for(receive(), SHORT * 4)
        except TimeoutError:
            waited.append("no disconnect, no deadline")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent = run(BodyDeadlineMiddleware(app, seconds=SHORT), complete(b"{}"))
    assert waited == ["no disconnect, no deadline"]
    assert sent[0]["status"] == 204


def test_the_deadline_starts_when_the_application_asks_for_the_body() -> None:
    """A request the application kept queued past the deadline still gets its whole body."""

    async def queued(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(SHORT * 4)  # e.g. waiting for a worker thread
        await Echo()(scope, receive, send)

    sent = run(BodyDeadlineMiddleware(queued, seconds=SHORT), complete(b'{"a": 1}'))
    assert sent[0]["status"] == 200


def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        await asyncio.sleep(SHORT * 2)

    run(BodyDeadlineMiddleware(app, seconds=SHORT), stalling(), scope={"type": "lifespan"})
    assert seen == ["lifespan"]


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf")])
def test_a_deadline_must_be_a_positive_finite_number(seconds: float) -> None:
    with pytest.raises(ValueError, match="body deadline: expected a positive number of seconds"):
        BodyDeadlineMiddleware(Echo(), seconds=seconds)
