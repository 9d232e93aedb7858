"""Requests the server gives up on at shutdown answer 503 JSON, not a 500 and a traceback.

When the grace period after SIGTERM ends, uvicorn cancels the requests still running
(a client stalled mid-upload, say). Cancelled at the top of its task, a request that
has not answered yet answers 503 with ``Retry-After`` (another replica will take it),
and its end is logged as one line, not as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.service.errors import error_response

__all__ = ["CancellationMiddleware"]

logger = logging.getLogger("runtime.service.shutdown")


class CancellationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_observed(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except asyncio.CancelledError:
            # Only the server cancels a request's own task: it is stopping, and this is the
            # request's last word (the task ends here either way).
            logger.info("request cancelled at shutdown", extra={"fields": {"path": scope["path"]}})
            if not started:
                with contextlib.suppress(Exception):  # the connection may be gone already
                    await error_response(503, "shutting_down", "The service is stopping; retry",
                                         headers={"Retry-After": "1"})(scope, receive, send)
