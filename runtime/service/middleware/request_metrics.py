"""Request metrics: every answer counted and timed by route template, method and status."""

from __future__ import annotations

import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.service.metrics import Metrics

__all__ = ["RequestMetricsMiddleware", "route_label"]


def route_label(scope: Scope, known_paths: frozenset[str]) -> str:
    """The matched route's template (``/v2/models/{name}/infer``), the path of a known route
    refused before routing, or ``other``: labels stay few whatever paths clients send."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return scope["path"] if scope["path"] in known_paths else "other"


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, paths: Iterable[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.known_paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the server answers when the app raises

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            self.metrics.answered(route_label(scope, self.known_paths), scope["method"], status,
                                  time.perf_counter() - start)
