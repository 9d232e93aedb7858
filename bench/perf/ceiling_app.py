"""R2, the framework's ceiling: bare Starlette answering constant JSON bodies.

``/predict`` reads the body and answers ``CEILING_BODY`` (the driver passes our own
/predict answer, so the sizes match). ``/predict/batch`` is the batch ceiling: it
decodes the body into ``list[Customer]``, as our service must, and answers the
precomputed body in ``CEILING_BATCH_BODY_FILE`` (our own answer to the same batch).
Served by uvicorn with our server's options.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runtime.core.customer import Customer

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


app = Starlette(routes=[
    Route("/health", health),
    Route("/predict", predict, methods=["POST"]),
    Route("/predict/batch", predict_batch, methods=["POST"]),
])
