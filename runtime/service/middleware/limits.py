"""Limits: bodies over ``max_body_bytes`` get 413, work over ``max_concurrency`` gets 503.

A declared Content-Length over the limit is refused before a byte is read; a
streamed body is counted as it arrives and refused once it passes the limit.
Probes and metrics are never refused for load: an orchestrator must see the truth.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.service.errors import ApiError, error_response

__all__ = ["Capacity", "LimitsMiddleware"]

_UNLIMITED = ("/health", "/metrics", "/v2/health")


class Capacity:
    """Requests in progress against the most allowed at once; readiness reads it too."""

    def __init__(self, max_concurrency: int) -> None:
        self.max_concurrency = max_concurrency
        self.in_flight = 0

    @property
    def saturated(self) -> bool:
        return self.in_flight >= self.max_concurrency


class LimitsMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, capacity: Capacity) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.capacity = capacity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_UNLIMITED):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            message = f"Body of {declared} bytes is over the limit of {self.max_body_bytes} bytes"
            await error_response(413, "payload_too_large", message)(scope, receive, send)
            return
        capacity = self.capacity
        if capacity.saturated:
            message = f"Over {capacity.max_concurrency} requests in progress; retry shortly"
            await error_response(503, "overloaded", message, headers={"Retry-After": "1"})(
                scope, receive, send)
            return
        capacity.in_flight += 1
        try:
            await self.app(scope, receive if declared.isdigit() else self._counted(receive), send)
        finally:
            capacity.in_flight -= 1

    def _counted(self, receive: Receive) -> Receive:
        """``receive`` for a body of undeclared length (the server enforces a declared one)."""
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
