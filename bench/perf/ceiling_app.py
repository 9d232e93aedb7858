"""R2, the framework's ceiling: bare Starlette answering a constant JSON body.

``CEILING_BODY`` holds the body to answer (the driver passes our own /predict answer,
so the sizes match). Served by uvicorn with our server's options.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = os.environ.get("CEILING_BODY", '{"status":"healthy"}').encode()
HEALTH = b'{"status":"healthy","model_loaded":true}'


async def health(request: Request) -> Response:
    return Response(HEALTH, media_type="application/json")


async def predict(request: Request) -> Response:
    await request.body()
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/health", health), Route("/predict", predict, methods=["POST"])])
