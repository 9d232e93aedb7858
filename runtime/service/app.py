"""The Starlette application: routes, and the lifespan that loads the bundle onto ``app.state``."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import signal
from collections.abc import AsyncIterator

import msgspec
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from runtime.core.customer import EXAMPLE_CUSTOMER, Customer
from runtime.core.features import InvalidValue
from runtime.service.coalesce import Coalescer
from runtime.service.docs import docs_routes
from runtime.service.errors import ApiError, exception_handlers, from_decode_error, from_invalid_value
from runtime.service.logs import configure_logging
from runtime.service.metrics import Metrics, metrics_endpoint
from runtime.service.middleware import Limits, RequestMiddleware
from runtime.service.openapi import openapi_document
from runtime.service.reload import load_model, reload_model, serve_model
from runtime.service.schemas import API_VERSION, Health, ServiceInfo
from runtime.service.segmenter import Segmenter
from runtime.service.settings import Settings
from runtime.service.v2 import v2_routes

__all__ = ["create_app"]

JSON = "application/json"
_decode_one = msgspec.json.Decoder(Customer).decode
_decode_many = msgspec.json.Decoder(list[Customer]).decode
_encode = msgspec.json.encode
# Requests of up to this many customers share predictions with those arriving alongside;
# a larger batch's per-call costs are small beside its own work.
_SHARED_UP_TO = 1_000
# ``GET /``'s message and endpoints: the replaced service's, which its clients read.
_API_NAME = "Customer Segmentation API"
_ENDPOINTS = {
    "POST /predict": "Predict the segment of one customer",
    "GET /segments": "The segments, their descriptions and offers",
    "GET /health": "Health check",
    "POST /predict/batch": "Predict the segments of a batch of customers",
    "GET /docs": "Interactive API documentation",
    "POST /v2/models/customer-segmentation/infer": "Open Inference Protocol (KServe V2) inference",
}


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status, media_type=JSON)


class _Answer(Response):
    """A prediction's answer, sent part by part: its headers are known in advance."""

    media_type = JSON

    def __init__(self, parts: list[bytes], model_version: bytes) -> None:
        self.status_code = 200
        self.background = None
        self.parts = parts
        self.raw_headers = [
            (b"content-length", str(sum(map(len, parts))).encode()),
            (b"content-type", b"application/json"),
            (b"x-model-version", model_version),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        last = len(self.parts) - 1
        for index, part in enumerate(self.parts):
            await send({"type": "http.response.body", "body": part, "more_body": index < last})


async def _read_body(request: Request) -> bytes:
    """The whole body; unlike ``Request.body`` it skips the stream machinery for one chunk."""
    message = await request.receive()
    if message["type"] == "http.disconnect":
        raise ClientDisconnect()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while message.get("more_body", False):
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def _check_content_type(scope: Scope) -> None:
    for name, value in scope["headers"]:  # names come lower-cased from the server
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            if media != b"application/json" and not media.endswith(b"+json"):
                content_type = value.decode("latin-1")
                raise ApiError(415, "unsupported_media_type",
                               f"Content-Type {content_type[:80]!r} is not application/json")


def _decode(body: bytes, batch: bool) -> list[Customer]:
    try:
        return _decode_many(body) if batch else [_decode_one(body)]
    except msgspec.DecodeError as exc:
        raise from_decode_error(exc) from exc
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_json", f"Body is not valid UTF-8 (byte {exc.start})") from exc


def _model(request: Request) -> Segmenter:
    model: Segmenter | None = request.app.state.model
    if model is None:
        raise ApiError(503, "not_ready", "No model is loaded yet", headers={"Retry-After": "1"})
    return model


def _explain(request: Request) -> bool:
    if not request.scope["query_string"]:
        return False
    value = request.query_params.get("explain", "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ApiError(422, "invalid_value", f"explain must be true or false, got {value[:20]!r}",
                       "explain")
    return value in ("true", "1")


def _check_batch_size(customers: list[Customer], limit: int) -> None:
    if not customers:
        raise ApiError(422, "empty_batch", "The batch is empty; send 1 or more customers", "$")
    if len(customers) > limit:
        raise ApiError(413, "batch_too_large",
                       f"The batch has {len(customers)} customers, the limit is {limit}", "$")


def _answers(
    state: State, key: tuple[Segmenter, bool, bool], requests: list[list[Customer]]
) -> list[list[bytes]]:
    """The answers of requests that arrived together, predicted as one batch: for each
    request, the parts of its answer. The customers are counted in the metrics and drift."""
    model, explain, batch = key
    ids, columns = model.model.read(list(itertools.chain.from_iterable(requests)))
    predictions = model.model.predict(columns)
    sizes = [len(customers) for customers in requests]
    state.metrics.predicted(model.catalogue, predictions.segments, sizes if batch else [])
    state.drift.observe(columns)
    if not batch:
        return [[answer] for answer in model.answers(ids, predictions, explain)]
    ends = list(itertools.accumulate(sizes))
    return [model.batch(ids[end - size:end], predictions.rows(slice(end - size, end)), explain)
            for size, end in zip(sizes, ends, strict=True)]


async def _answer(request: Request, batch: bool) -> Response:
    """Decode, validate, predict and encode: the same steps for one customer and for many.

    Requests of up to ``_SHARED_UP_TO`` customers go through the app's :class:`Coalescer`:
    those that arrive together are predicted as one batch, and each gets its own answer
    (or error).
    """
    model = _model(request)  # one model for the whole request, even if a reload swaps it
    _check_content_type(request.scope)
    explain = _explain(request)
    customers = _decode(await _read_body(request), batch)
    state = request.app.state
    try:
        if batch:
            _check_batch_size(customers, state.settings.max_batch)
        key = (model, explain, batch)
        if len(customers) <= _SHARED_UP_TO:
            parts = await state.coalescer.submit(key, customers)
        else:  # makes the most of a call alone: sharing one would only hold its answer back
            parts = _answers(state, key, [customers])[0]
    except InvalidValue as exc:
        raise from_invalid_value(exc, batch) from exc
    if state.settings.log_customers:
        request.scope.setdefault("state", {})["customers"] = [c.CustomerID for c in customers[:100]]
    return _Answer(parts, model.version_header)


class _Predict:
    """``POST /predict`` (or ``/predict/batch``) as a plain ASGI app: the hot path skips
    Starlette's per-request wrapper; errors reach the app's exception handlers all the same."""

    def __init__(self, batch: bool) -> None:
        self.batch = batch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await _answer(Request(scope, receive), self.batch)
        await response(scope, receive, send)


def _health(request: Request) -> Health:
    model: Segmenter | None = request.app.state.model
    ready = model is not None and not request.app.state.draining
    return Health(
        status="healthy" if ready else ("draining" if model else "loading"),
        models_loaded=model is not None,
        model_loaded=model is not None,
        model_version=model.version if model else None,
    )


async def health(request: Request) -> Response:
    return _json(_encode(_health(request)))


async def live(request: Request) -> Response:
    loaded = request.app.state.model is not None
    return _json(_encode(Health(status="alive", models_loaded=loaded, model_loaded=loaded)))


async def ready(request: Request) -> Response:
    state = _health(request)
    return _json(_encode(state), 200 if state.status == "healthy" else 503)


async def segments(request: Request) -> Response:
    return _json(_model(request).segments_json)


async def info(request: Request) -> Response:
    model = _model(request)
    manifest = model.bundle.manifest
    return _json(_encode(ServiceInfo(
        message=_API_NAME,
        version=API_VERSION,
        endpoints=_ENDPOINTS,
        service="customer-segmentation",
        model_name=manifest.model.name,
        model_version=manifest.model.version,
        trained_at=manifest.model.trained_at,
        format_version=manifest.format_version,
        segments=len(model.catalogue),
        features=[spec.field for spec in manifest.features if spec.weight > 0],
    )))


async def openapi(request: Request) -> Response:
    state = request.app.state
    model = _model(request)
    cached: tuple[Segmenter, bytes] | None = state.openapi
    if cached is None or cached[0] is not model:  # one per model: its version and example
        sample = [msgspec.convert(EXAMPLE_CUSTOMER, Customer)]
        ids, columns = model.model.read(sample)
        answer = model.answers(ids, model.model.predict(columns))[0]
        example = msgspec.json.decode(answer)
        cached = (model, _encode(openapi_document(model.version, state.settings.max_batch, example)))
        state.openapi = cached
    return _json(cached[1])


async def drift(request: Request) -> Response:
    return _json(_encode(request.app.state.drift.report()))


def create_app(settings: Settings | None = None) -> Starlette:
    """The service for ``settings`` (default: from the environment); the bundle loads at startup."""
    settings = settings or Settings.from_environ()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        serve_model(app, load_model(settings))
        loop = asyncio.get_running_loop()

        reloads: set[asyncio.Task[bool]] = set()  # referenced until done, as asyncio asks

        def on_hangup() -> None:
            task = loop.create_task(asyncio.to_thread(reload_model, app))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, on_hangup)
        try:
            yield
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGHUP)

    routes = [  # the router tries them in order: the hot path first
        Route("/predict", _Predict(batch=False), methods=["POST"]),
        Route("/predict/batch", _Predict(batch=True), methods=["POST"]),
        Route("/", info),
        Route("/health", health),
        Route("/health/live", live),
        Route("/health/ready", ready),
        Route("/segments", segments),
        Route("/openapi.json", openapi),
        Route("/metrics", metrics_endpoint),
        Route("/drift", drift),
        *docs_routes("Customer segmentation"),
        *v2_routes(),
    ]
    configure_logging(settings.log_level)
    metrics = Metrics()
    paths = [route.path for route in routes if isinstance(route, Route)]
    middleware = [
        Middleware(RequestMiddleware, metrics=metrics, routes=paths,
                   limits=Limits(settings.max_body_bytes, settings.max_concurrency)),
    ]
    if settings.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                                     allow_methods=["GET", "POST"], allow_headers=["*"]))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers=exception_handlers)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.coalescer = Coalescer(functools.partial(_answers, app.state))
    app.state.model = None
    app.state.openapi = None
    app.state.draining = False
    return app

