"""The Starlette application: routes, middleware, and the lifespan that loads the bundle
onto ``app.state``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runtime.core.customer import EXAMPLE_CUSTOMER, Customer
from runtime.service.answers import segment_info
from runtime.service.batching import PredictionBatcher
from runtime.service.docs import docs_routes
from runtime.service.errors import exception_handlers
from runtime.service.logs import configure_logging
from runtime.service.metrics import Metrics, metrics_endpoint
from runtime.service.middleware import Capacity, service_middleware
from runtime.service.openapi import openapi_document
from runtime.service.predict import large_request_slots, predict_routes, serving
from runtime.service.reload import reload_model, serve_model
from runtime.service.schemas import API_VERSION, Health, SegmentCatalogue, ServiceInfo
from runtime.service.served import JSON, ServedModel, load_served
from runtime.service.settings import Settings
from runtime.service.supervision import follow_supervisor
from runtime.service.v2 import v2_routes
from runtime.service.watch import watch_bundle

__all__ = ["create_app"]

logger = logging.getLogger("runtime.service.app")
_encoder = msgspec.json.Encoder()
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


def _json(value: Any, status: int = 200) -> Response:
    return Response(_encoder.encode(value), status, media_type=JSON)


def _health(request: Request) -> Health:
    served: ServedModel | None = request.app.state.served
    if served is None:
        return Health(status="loading", models_loaded=False, model_loaded=False)
    return Health(status="healthy", models_loaded=True, model_loaded=True,
                  model_version=served.version)


async def health(request: Request) -> Response:
    return _json(_health(request))


async def live(request: Request) -> Response:
    served: ServedModel | None = request.app.state.served
    return _json(Health(status="alive", models_loaded=served is not None,
                        model_loaded=served is not None,
                        model_version=served.version if served else None))


async def ready(request: Request) -> Response:
    """200 while the service can take a request: a model is loaded and a slot is free."""
    state = _health(request)
    if state.model_loaded and request.app.state.capacity.saturated:
        state = Health(status="overloaded", models_loaded=True, model_loaded=True,
                       model_version=state.model_version)
    return _json(state, 200 if state.status == "healthy" else 503)


async def segments(request: Request) -> Response:
    served = serving(request)
    return _json(SegmentCatalogue(
        total_clusters=len(served.answers.segments),
        segments={str(segment.id): segment_info(segment) for segment in served.answers.segments},
        model_version=served.version,
    ))


async def info(request: Request) -> Response:
    served = serving(request)
    manifest = served.bundle.manifest
    return _json(ServiceInfo(
        message=_API_NAME,
        version=API_VERSION,
        endpoints=_ENDPOINTS,
        service="customer-segmentation",
        model_name=manifest.model.name,
        model_version=served.version,
        trained_at=manifest.model.trained_at,
        format_version=manifest.format_version,
        segments=len(served.answers.segments),
        features=list(served.bundle.layout.fields),
    ))


async def openapi(request: Request) -> Response:
    served = serving(request)
    cached: tuple[ServedModel, Response] | None = request.app.state.openapi
    if cached is None or cached[0] is not served:  # one per model: its version and example
        ids, columns = served.model.read([msgspec.convert(EXAMPLE_CUSTOMER, Customer)])
        example = served.answers.predictions(ids, served.model.predict(columns))[0]
        document = openapi_document(served.version, request.app.state.settings.max_batch,
                                    msgspec.to_builtins(example))
        cached = (served, _json(document))
        request.app.state.openapi = cached
    return cached[1]


async def drift(request: Request) -> Response:
    return _json(serving(request).drift.report())


def _log_serving(served: ServedModel, settings: Settings) -> None:
    """One line saying what is served and the header bound in force; paths resolved, so a
    ``current`` pointer names its version."""
    logger.info("serving", extra={"fields": {
        "bundle": str(Path(served.bundle.path).resolve()),
        "model_name": served.bundle.manifest.model.name,
        "model_version": served.version, "checksum": served.bundle.checksum,
        "catalogue": str(settings.catalogue.resolve()) if settings.catalogue else None,
        "http": settings.http, "max_header_bytes": settings.header_limit,
    }})
    if settings.header_limit is None and settings.max_header_bytes is not None:
        # Said, not ignored: an operator who set a limit must learn that none is in force.
        logger.warning("max_header_bytes applies only with http h11: httptools bounds no header "
                       "section", extra={"fields": {"http": settings.http,
                                                    "max_header_bytes": settings.max_header_bytes}})


def create_app(settings: Settings | None = None) -> Starlette:
    """The service for ``settings`` (default: from the environment); the bundle loads at startup."""
    settings = settings or Settings.load()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        served = await asyncio.to_thread(load_served, settings)
        serve_model(app, served)
        _log_serving(served, settings)
        if settings.gc_freeze:
            # What start-up built (modules, the model) lives as long as the process: out of the
            # collector's sight, full collections under load no longer walk it again and again.
            gc.collect()
            gc.freeze()
        loop = asyncio.get_running_loop()
        reloads: set[asyncio.Task[bool]] = set()  # referenced until done, as asyncio asks

        def on_hangup() -> None:
            task = loop.create_task(asyncio.to_thread(reload_model, app))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        # The test client runs the app outside the main thread, where no signal can be handled.
        with contextlib.suppress(RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, on_hangup)
        watching = (loop.create_task(watch_bundle(app, settings.watch_seconds))
                    if settings.watch_seconds else None)
        try:
            with follow_supervisor(loop):
                yield
        finally:
            if watching is not None:
                watching.cancel()
            with contextlib.suppress(RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGHUP)
            app.state.metrics.stopped()

    routes = [
        *predict_routes(),
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
    configure_logging(settings.log_level, settings.access_log)
    metrics = Metrics()
    capacity = Capacity(settings.max_concurrency)
    paths = [route.path for route in routes if isinstance(route, Route)]
    middleware = service_middleware(metrics, capacity, paths, settings.body_limit,
                                    settings.body_seconds)
    if settings.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                                     allow_methods=["GET", "POST"], allow_headers=["*"]))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers=exception_handlers)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.capacity = capacity
    app.state.batcher = PredictionBatcher()
    app.state.large_requests = large_request_slots()
    app.state.served = None
    app.state.openapi = None
    return app
