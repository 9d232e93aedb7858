"""R2, the framework's ceiling: bare Starlette answering constant JSON bodies.

``/predict`` reads the body and answers ``CEILING_BODY`` (the driver passes our own
/predict answer, so the sizes match). ``/predict/batch`` is the batch ceiling: it
decodes the body into ``list[Customer]``, as our service must, and answers the
precomputed body in ``CEILING_BATCH_BODY_FILE`` (our own answer to the same batch).
Served by uvicorn with our server's options.

With ``CEILING_MIDDLEWARE=service`` the same endpoints wear the service's own middlewares,
with its default settings (the access log's lines go to the server's log): the ceiling's
share that the middlewares take, measured rather than guessed. With
``CEILING_MIDDLEWARE=layers`` they wear as many pure ASGI layers that only pass messages
on: what layering alone costs, apart from the middlewares' work.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.core.customer import Customer
from runtime.service.logs import configure_logging
from runtime.service.metrics import Metrics
from runtime.service.middleware import Capacity, service_middleware
from runtime.service.settings import Settings

BODY = os.environ.get("CEILING_BODY", '{"status":"healthy"}').encode()
BATCH_BODY = Path(os.environ["CEILING_BATCH_BODY_FILE"]).read_bytes() if os.environ.get(
    "CEILING_BATCH_BODY_FILE") else BODY
HEALTH = b'{"status":"healthy","model_loaded":true}'
_decode_batch = msgspec.json.Decoder(list[Customer]).decode


async def health(request: Request) -> Response:
    return Response(HEALTH, media_type="application/json")


async def predict(request: Request) -> Response:
    await request.body()
    return Response(BODY, media_type="application/json")


async def predict_batch(request: Request) -> Response:
    _decode_batch(await request.body())
    return Response(BATCH_BODY, media_type="application/json")


ROUTES = [
    Route("/health", health),
    Route("/predict", predict, methods=["POST"]),
    Route("/predict/batch", predict_batch, methods=["POST"]),
]


class PassThrough:
    """A pure ASGI layer that wraps ``send`` as the service's middlewares do, and does nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def passed_on(message: Message) -> None:
            await send(message)

        await self.app(scope, receive, passed_on)


def _middleware() -> list[Middleware]:
    wanted = os.environ.get("CEILING_MIDDLEWARE", "none")
    if wanted == "none":
        return []
    settings = Settings.load()
    configure_logging(settings.log_level, settings.access_log)
    service = service_middleware(Metrics(), Capacity(settings.max_concurrency),
                                 [route.path for route in ROUTES], settings.body_limit,
                                 settings.body_seconds)
    if wanted == "layers":
        return [Middleware(PassThrough) for _ in service]
    if wanted == "service":
        return service
    raise ValueError(f"CEILING_MIDDLEWARE={wanted!r}: expected none, service or layers")


app = Starlette(routes=ROUTES, middleware=_middleware())
