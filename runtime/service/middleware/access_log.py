"""The access log: one JSON line per request, under the ``runtime.access`` logger's switch."""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.service.logs import ACCESS_LOGGER, write_access_line
from runtime.service.middleware.request_id import request_id

__all__ = ["AccessLogMiddleware"]


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not ACCESS_LOGGER.isEnabledFor(logging.INFO):
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
            write_access_line(scope["method"], scope["path"], status, time.perf_counter() - start,
                              request_id=request_id(scope), model_version=model_version,
                              customers=scope.get("state", {}).get("customers"))
