"""The access log: one JSON line per request, through the ``runtime.access`` logger."""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.service.middleware.request_id import request_id

__all__ = ["AccessLogMiddleware"]

logger = logging.getLogger("runtime.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, model_version = 500, None

        async def send_observed(message: Message) -> None:
            nonlocal status, model_version
            if message["type"] == "http.response.start":
                status = message["status"]
                model_version = Headers(raw=message.get("headers", [])).get("x-model-version")
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            fields = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                "request_id": request_id(scope),
                "model_version": model_version,
            }
            customers = scope.get("state", {}).get("customers")
            if customers is not None:
                fields["customers"] = customers
            logger.info("request", extra={"fields": fields})
