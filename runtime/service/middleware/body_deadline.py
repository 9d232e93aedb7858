"""A deadline for request bodies: one not fully arrived in time gets 408 and frees its slot.

A client that sends a byte of its body and stalls would otherwise hold a
concurrency slot for as long as it likes; 64 of them hold every slot. Here each
HTTP request's ``receive`` waits no later than ``seconds`` after the application
first asked for the body: not after the request arrived, as a request the service
itself keeps queued (for a worker thread) sends its body meanwhile and must not
be timed out for the wait. Past that, the request is answered 408 in the API's
error shape with ``Connection: close`` (the rest of the body will never be read),
the application's work for it ends at once, and so does its hold on any slot an
outer middleware counts. Once the body is complete the deadline no longer applies.
"""

from __future__ import annotations

import asyncio
import math

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.service.errors import error_response

__all__ = ["DEFAULT_SECONDS", "BodyDeadlineMiddleware"]

DEFAULT_SECONDS = 10.0


class _Late(Exception):
    """The body's deadline passed while the application waited for more of it."""


class BodyDeadlineMiddleware:
    """Pure ASGI middleware: a request body must arrive in full within ``seconds`` of the
    application first asking for it."""

    def __init__(self, app: ASGIApp, seconds: float = DEFAULT_SECONDS) -> None:
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"body deadline: expected a positive number of seconds, got {seconds!r}")
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline: float | None = None
        complete = False
        started = False

        async def receive_in_time() -> Message:
            nonlocal complete, deadline
            if complete:  # e.g. waiting for a disconnect while streaming an answer
                return await receive()
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + self.seconds
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _Late() from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_in_time, tracked)
        except _Late:
            if started:  # too late for a status: the server closes the connection
                raise
            message = f"The request body did not arrive within {self.seconds:g} s"
            response = error_response(408, "request_timeout", message, headers={"connection": "close"})
            await response(scope, receive, send)
