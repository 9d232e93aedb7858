"""Request ids: the client's ``X-Request-ID`` when well formed, else a new one, echoed back."""

from __future__ import annotations

import itertools
import os
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestIdMiddleware", "request_id"]

_WELL_FORMED = re.compile(r"^[\w.:@/+=-]{1,128}$")


def request_id(scope: Scope) -> str:
    """The id of the request in ``scope`` ("" outside this middleware)."""
    state: dict[str, str] = scope.get("state", {})
    return state.get("request_id", "")


class RequestIdMiddleware:
    """Names every HTTP request: the id goes into ``scope["state"]`` and the answer's header.

    New ids are a random prefix per process and a count: unique, and no system call each.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._prefix = os.urandom(8).hex()
        self._count = itertools.count()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        name = given if _WELL_FORMED.match(given) else f"{self._prefix}{next(self._count):016x}"
        scope.setdefault("state", {})["request_id"] = name

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-Request-ID", name)
            await send(message)

        await self.app(scope, receive, send_named)
