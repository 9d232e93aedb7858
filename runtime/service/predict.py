"""``POST /predict`` and ``POST /predict/batch``: decode, validate, predict, answer.

One customer and a batch take the same steps on arrays of different lengths.
Requests with small bodies are predicted together with those arriving alongside
them (:class:`~runtime.service.batching.PredictionBatcher`); larger bodies are
decoded and predicted in a worker thread, one per core at a time, so that memory
stays bounded and the event loop keeps answering probes.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from runtime.core.customer import Customer
from runtime.core.features import InvalidValue
from runtime.core.predictor import Predictions
from runtime.service.errors import ApiError, from_decode_error, from_invalid_value
from runtime.service.served import ServedModel

__all__ = ["LARGE_BODY", "large_request_slots", "predict_routes", "serving"]

LARGE_BODY = 256 * 1024  # bytes; a body this large is decoded and predicted off the event loop
_decode_one = msgspec.json.Decoder(Customer).decode
_decode_many = msgspec.json.Decoder(list[Customer]).decode


def serving(request: Request) -> ServedModel:
    """The model being served, or 503 while none is loaded."""
    served: ServedModel | None = request.app.state.served
    if served is None:
        raise ApiError(503, "not_ready", "No model is loaded yet", headers={"Retry-After": "1"})
    return served


def _check_content_type(request: Request) -> None:
    value = request.headers.get("content-type")
    if value is None:
        return
    media = value.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", f"Content-Type {value[:80]!r} is not application/json")


def _explain(request: Request) -> bool:
    if not request.scope["query_string"]:
        return False
    value = request.query_params.get("explain", "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ApiError(422, "invalid_value", f"explain must be true or false, got {value[:20]!r}", "explain")
    return value in ("true", "1")


def _decode(body: bytes, batch: bool, max_batch: int) -> list[Customer]:
    try:
        customers = _decode_many(body) if batch else [_decode_one(body)]
    except msgspec.DecodeError as exc:
        raise from_decode_error(exc) from exc
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_json", f"Body is not valid UTF-8 (byte {exc.start})") from exc
    except RecursionError as exc:
        raise ApiError(400, "malformed_json", "JSON nested too deeply") from exc
    if not customers:
        raise ApiError(422, "empty_batch", "The batch is empty; send 1 or more customers", "$")
    if len(customers) > max_batch:
        raise ApiError(413, "batch_too_large",
                       f"The batch has {len(customers)} customers, the limit is {max_batch}", "$")
    return customers


def _encode(served: ServedModel, ids: Sequence[str], predictions: Predictions, batch: bool,
            explain: bool) -> bytes:
    encode = served.answers.encode_batch if batch else served.answers.encode_one
    return encode(ids, predictions, explain)


def _answer_alone(served: ServedModel, body: bytes, batch: bool, explain: bool, max_batch: int
                  ) -> tuple[list[Customer], Predictions, bytes]:
    """A large request from body to answer, in a worker thread, counted in the drift window."""
    customers = _decode(body, batch, max_batch)
    try:
        ids, columns = served.model.read(customers)
    except InvalidValue as exc:
        raise from_invalid_value(exc, batch) from exc
    predictions = served.model.predict(columns)
    served.drift.observe(columns)
    return customers, predictions, _encode(served, ids, predictions, batch, explain)


class PredictEndpoint:
    """``POST /predict`` or ``/predict/batch`` as a plain ASGI app (Starlette routes take one):
    one layer fewer per request than a request-response function. Its errors reach the
    app's exception handlers all the same."""

    def __init__(self, batch: bool) -> None:
        self.batch = batch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await _predict(Request(scope, receive), self.batch)
        await response(scope, receive, send)


async def _predict(request: Request, batch: bool) -> Response:
    served = serving(request)  # one model for the whole request, even if a reload swaps it
    try:
        return await _answer(request, served, batch)
    except ApiError as exc:  # a refusal names the model whose rules refused
        exc.headers = {**(exc.headers or {}), "X-Model-Version": served.version}
        raise


async def _answer(request: Request, served: ServedModel, batch: bool) -> Response:
    _check_content_type(request)
    explain = _explain(request)
    state = request.app.state
    max_batch = state.settings.max_batch if batch else 1
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) <= LARGE_BODY:
        customers = _decode(await request.body(), batch, max_batch)
        try:
            served.model.validate(customers)  # before joining a group, so it cannot spoil one
        except InvalidValue as exc:
            raise from_invalid_value(exc, batch) from exc
        ids, predictions = await state.batcher.predict(served, customers)
        answer = _encode(served, ids, predictions, batch, explain)
    else:  # bounded in number, and off the event loop
        async with state.large_requests:
            body = await request.body()
            customers, predictions, answer = await run_in_threadpool(
                _answer_alone, served, body, batch, explain, max_batch)
    state.metrics.predicted(served.answers.segments, predictions.segments,
                            len(customers) if batch else None)
    if state.settings.log_customers:
        request.scope.setdefault("state", {})["customers"] = [
            customer.CustomerID for customer in customers[:100]]
    return served.response(answer)


def predict_routes() -> list[Route]:
    return [
        Route("/predict", PredictEndpoint(batch=False), methods=["POST"]),
        Route("/predict/batch", PredictEndpoint(batch=True), methods=["POST"]),
    ]


def large_request_slots() -> asyncio.Semaphore:
    """How many large requests are decoded and predicted at once: one per core."""
    return asyncio.Semaphore(os.cpu_count() or 1)
