"""Pure ASGI middleware: per-request identity, limits, headers, log line and metrics."""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Iterable

import msgspec
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.service.coalesce import TurnBuffer
from runtime.service.errors import ApiError
from runtime.service.logs import AccessLine, access_line, access_logged, write_access_lines
from runtime.service.metrics import Metrics
from runtime.service.schemas import ErrorBody

__all__ = ["Limits", "RequestMiddleware"]

_REQUEST_ID = re.compile(rb"^[\w.:@/+=-]{1,128}$")
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
# Probes and metrics are never refused for load: an orchestrator must see the truth.
_UNLIMITED = ("/health", "/metrics")
# Recorded when the client went away before an answer could be sent (nginx's convention).
_CLIENT_CLOSED = 499


async def _send_error(send: Send, status: int, body: ErrorBody, headers: list[tuple[bytes, bytes]]) -> None:
    content = msgspec.json.encode(body)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()), *headers],
    })
    await send({"type": "http.response.body", "body": content})


def _serving_version(scope: Scope) -> bytes:
    """The version of the model being served, for /predict answers the route did not label."""
    app = scope.get("app")
    model = getattr(getattr(app, "state", None), "model", None)
    version = getattr(model, "version", None)
    return version.encode() if isinstance(version, str) else b""


class Limits:
    """Refuses bodies over ``max_body_bytes`` (413) and work over ``max_concurrency`` (503).

    A declared Content-Length over the limit is refused before reading a byte;
    a streamed body is counted as it arrives and refused once it passes the limit.
    """

    def __init__(self, max_body_bytes: int, max_concurrency: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_concurrency = max_concurrency
        self.in_flight = 0

    def refusal(self, declared: int | None) -> tuple[int, ErrorBody, list[tuple[bytes, bytes]]] | None:
        """Why a request with a body of ``declared`` bytes (None: not declared) is refused, if it is."""
        if declared is not None and declared > self.max_body_bytes:
            message = f"Body of {declared} bytes is over the limit of {self.max_body_bytes} bytes"
            return 413, ErrorBody("payload_too_large", message), []
        if self.in_flight >= self.max_concurrency:
            message = f"Over {self.max_concurrency} requests in progress; retry shortly"
            return 503, ErrorBody("overloaded", message), [(b"retry-after", b"1")]
        return None

    def counted(self, receive: Receive) -> Receive:
        """``receive`` for a body of undeclared length, refused once it passes the limit."""
        received = 0
        limit = self.max_body_bytes

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise ApiError(413, "payload_too_large", f"Body is over the limit of {limit} bytes")
            return message

        return counted


class RequestMiddleware:
    """Every HTTP request's way in and out: an id, the :class:`Limits`, security headers,
    one JSON log line and its metrics.

    One middleware rather than several: each layer costs every request a coroutine.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Iterable[str], limits: Limits) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = frozenset(routes)
        self.limits = limits
        self._children: dict[tuple[str, str, int], tuple[object, object]] = {}
        # Metrics and log lines are taken a loop turn at a time, after the answers went out.
        self._finished: TurnBuffer[tuple[Scope, int, float, float, bytes, bytes]] = TurnBuffer(self._record)
        # Generated ids: random per process, then counted, so they cost no system call.
        self._id_prefix = os.urandom(8).hex().encode()
        self._ids = itertools.count()

    def _route(self, path: str) -> str:
        if path in self.routes:
            return path
        return "/docs/assets" if path.startswith("/docs/assets/") else "other"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id, declared = b"", None
        for name, value in scope["headers"]:
            if name == b"x-request-id" and _REQUEST_ID.match(value):
                request_id = value
            elif name == b"content-length" and value.isdigit():
                declared = int(value)  # the server reads no more than a declared length
        if not request_id:
            request_id = b"%s%016x" % (self._id_prefix, next(self._ids))
        status = 500
        started = False
        model_version = b""

        async def observed(message: Message) -> None:
            nonlocal status, started, model_version
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                headers = list(message.get("headers", ()))
                for name, value in headers:
                    if name == b"x-model-version":
                        model_version = value
                if not model_version and scope["path"].startswith("/predict"):
                    model_version = _serving_version(scope)
                    if model_version:
                        headers.append((b"x-model-version", model_version))
                headers.extend(_SECURITY_HEADERS)
                headers.append((b"x-request-id", request_id))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if scope["path"].startswith(_UNLIMITED):
                await self.app(scope, receive, observed)
            elif refusal := self.limits.refusal(declared):
                await _send_error(observed, *refusal)
            else:
                self.limits.in_flight += 1
                try:
                    await self.app(scope, receive if declared is not None
                                   else self.limits.counted(receive), observed)
                finally:
                    self.limits.in_flight -= 1
        except ClientDisconnect:
            # The client left mid-body: nobody to answer, and not a server error to alert on.
            if not started:
                status = _CLIENT_CLOSED
        finally:
            self._finished.add((scope, status, time.perf_counter() - start, time.time(), request_id,
                                model_version))

    def _record(self, finished: list[tuple[Scope, int, float, float, bytes, bytes]]) -> None:
        """A loop turn's finished requests: their metrics, then their log lines in one write."""
        lines: list[AccessLine] | None = [] if access_logged() else None
        for scope, status, seconds, finished_at, request_id, model_version in finished:
            route, method = self._route(scope["path"]), scope["method"]
            key = (route, method, status)
            children = self._children.get(key)
            if children is None:
                children = (self.metrics.requests.labels(route, method, str(status)),
                            self.metrics.latency.labels(route, str(status)))
                self._children[key] = children
            counter, histogram = children
            counter.inc()  # type: ignore[attr-defined]
            histogram.observe(seconds)  # type: ignore[attr-defined]
            if lines is not None:
                lines.append(access_line(
                    finished_at, method, scope["path"], status, seconds,
                    request_id=request_id.decode(), model_version=model_version.decode() or None,
                    customers=scope.get("state", {}).get("customers")))
        if lines:
            write_access_lines(lines)
