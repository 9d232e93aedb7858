"""The Open Inference Protocol (KServe V2) over REST, for the model ``customer-segmentation``.

Server and model metadata, liveness and readiness, and inference on columnar tensors (one
per customer field), in JSON or with the binary tensor data extension. Errors answer the
protocol's ``{"error": "..."}``: 400 for a bad request, naming the input and the index;
404 for another model or version; 503 before a model is loaded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runtime.core.features import Column, InvalidValue
from runtime.core.predictor import Predictions
from runtime.service.columns import FIELDS, ColumnError
from runtime.service.predict import LARGE_BODY
from runtime.service.schemas import API_VERSION
from runtime.service.served import ServedModel
from runtime.service.tensors import to_binary, to_binary_elements
from runtime.service.v2_inputs import ACCEPTED, RequestError, customer_columns, decode_request
from runtime.service.v2_schemas import (
    InferRequest,
    InferResponse,
    ModelMetadata,
    ModelReady,
    ResponseOutput,
    ServerLive,
    ServerMetadata,
    ServerReady,
    TensorMetadata,
    V2Error,
)

__all__ = ["MODEL_NAME", "OUTPUTS", "v2_routes"]

MODEL_NAME = "customer-segmentation"
# Each output and its datatype: the segment id, the seed's confidence score, the segment's name.
OUTPUTS = {"cluster": "INT64", "confidence_score": "FP64", "segment_name": "BYTES"}
EXTENSIONS = ["binary_tensor_data"]
_encoder = msgspec.json.Encoder()
_INPUTS = [TensorMetadata(rule.name, ACCEPTED[rule.kind][0], [-1]) for rule in FIELDS]
_OUTPUTS = [TensorMetadata(name, datatype, [-1]) for name, datatype in OUTPUTS.items()]
_MODEL_FIELDS = [rule.name for rule in FIELDS if rule.name != "CustomerID"]


def _json(body: msgspec.Struct, status: int = 200) -> Response:
    return Response(_encoder.encode(body), status, media_type="application/json")


def _answering_errors(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` with its :class:`RequestError` answered in the protocol's error shape."""
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except RequestError as exc:
            return _json(V2Error(str(exc)), exc.status)
    return endpoint


def _ready(request: Request) -> bool:
    """A model is loaded and a request slot is free, as ``/health/ready`` says."""
    state = request.app.state
    return state.served is not None and not state.capacity.saturated


def _served(request: Request) -> ServedModel:
    """The model the path names, or a 404 (another model or version) or 503 (none loaded)."""
    name = request.path_params["model"]
    if name != MODEL_NAME:
        raise RequestError(f"model '{name[:80]}' is not served here; this server serves "
                           f"'{MODEL_NAME}'", 404)
    model: ServedModel | None = request.app.state.served
    if model is None:
        raise RequestError("no model is loaded yet", 503)
    version = request.path_params.get("version")
    if version is not None and version != model.version:
        raise RequestError(f"version '{version[:40]}' of model '{MODEL_NAME}' is not served; "
                           f"the served version is '{model.version}'", 404)
    return model


@_answering_errors
async def server_metadata(request: Request) -> Response:
    return _json(ServerMetadata(name=MODEL_NAME, version=API_VERSION, extensions=EXTENSIONS))


@_answering_errors
async def server_live(request: Request) -> Response:
    return _json(ServerLive(live=True))


@_answering_errors
async def server_ready(request: Request) -> Response:
    ready = _ready(request)
    return _json(ServerReady(ready=ready), 200 if ready else 503)


@_answering_errors
async def model_metadata(request: Request) -> Response:
    model = _served(request)
    return _json(ModelMetadata(name=MODEL_NAME, versions=[model.version],
                               platform="numpy-nearest-centroid", inputs=_INPUTS,
                               outputs=_OUTPUTS))


@_answering_errors
async def model_ready(request: Request) -> Response:
    _served(request)
    ready = _ready(request)
    return _json(ModelReady(name=MODEL_NAME, ready=ready), 200 if ready else 503)


def _outputs(request: InferRequest) -> list[tuple[str, bool]]:
    """The outputs asked for, in order, and whether each goes as binary data."""
    everything = request.parameters.get("binary_data_output") is True
    if request.outputs is None:
        return [(name, everything) for name in OUTPUTS]
    for output in request.outputs:
        if output.name not in OUTPUTS:
            raise RequestError(f"output '{output.name[:80]}' is not an output of the model; "
                               f"expected {', '.join(OUTPUTS)}")
    return [(output.name, output.parameters.get("binary_data", everything) is True)
            for output in request.outputs]


def _answer(model: ServedModel, request: InferRequest, segments: np.ndarray,
            confidence: np.ndarray) -> Response:
    """The response: outputs in JSON, or a JSON header followed by their binary data."""
    count = len(segments)
    names = [segment.name for segment in model.answers.segments]  # segment i at index i
    blobs, outputs = [], []
    for name, binary in _outputs(request):
        datatype = OUTPUTS[name]
        values = segments if name == "cluster" else confidence
        if binary:
            if name == "segment_name":  # each segment's element encoded once, then repeated
                elements = [to_binary_elements([segment.encode()]) for segment in names]
                blob = b"".join(map(elements.__getitem__, segments.tolist()))
            else:
                blob = to_binary(values, datatype)
            blobs.append(blob)
            outputs.append(ResponseOutput(name, [count], datatype, {"binary_data_size": len(blob)}))
        else:
            data = ([names[s] for s in segments.tolist()] if name == "segment_name"
                    else values.tolist())
            outputs.append(ResponseOutput(name, [count], datatype, data=data))
    header = _encoder.encode(InferResponse(MODEL_NAME, model.version, outputs, request.id))
    if not blobs:
        return Response(header, media_type="application/json")
    return Response(b"".join([header, *blobs]), media_type="application/octet-stream",
                    headers={"Inference-Header-Content-Length": str(len(header))})


def _infer(served: ServedModel, body: bytes, header_length: str | None, max_batch: int
           ) -> tuple[Response, Predictions, dict[str, Column]]:
    """The answer, the predictions (the same checks as ``/predict/batch``) and the model's
    columns with categories as codes, as ``Model.read`` gives them to drift."""
    request, binary = decode_request(body, header_length)
    try:
        columns = customer_columns(request, binary, max_batch)
        coded = served.model.predictor.encoder.coded(
            {field: columns[field] for field in _MODEL_FIELDS})
        predictions = served.model.predict(coded)
    except ColumnError as exc:
        raise RequestError(str(exc)) from exc
    except InvalidValue as exc:
        raise RequestError(f"input '{exc.field}' index {exc.index}: {exc.reason}") from exc
    answer = _answer(served, request, predictions.segments.astype(np.int64),
                     predictions.confidence)
    return answer, predictions, coded


@_answering_errors
async def infer(request: Request) -> Response:
    """Predict a segment per customer; large bodies off the event loop, as ``/predict`` does."""
    served = _served(request)
    state = request.app.state
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":  # tritonclient compresses only when asked to
        raise RequestError(f"Content-Encoding {encoding[:20]!r} is not supported; send the "
                           "request uncompressed", 415)
    header_length = request.headers.get("inference-header-content-length")
    max_batch = state.settings.max_batch
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) <= LARGE_BODY:
        answer, predictions, columns = _infer(served, await request.body(), header_length,
                                              max_batch)
    else:  # bounded in number, and off the event loop, from body to answer
        async with state.large_requests:
            answer, predictions, columns = await run_in_threadpool(
                _infer, served, await request.body(), header_length, max_batch)
    served.drift.observe(columns)
    state.metrics.predicted(served.answers.segments, predictions.segments,
                            len(predictions.segments))
    return answer


def v2_routes() -> list[Route]:
    """The protocol's REST routes, inference first."""
    model, version = "/v2/models/{model}", "/v2/models/{model}/versions/{version}"
    return [
        Route(f"{model}/infer", infer, methods=["POST"]),
        Route(f"{version}/infer", infer, methods=["POST"]),
        Route("/v2", server_metadata),
        Route("/v2/health/live", server_live),
        Route("/v2/health/ready", server_ready),
        Route(model, model_metadata),
        Route(version, model_metadata),
        Route(f"{model}/ready", model_ready),
        Route(f"{version}/ready", model_ready),
    ]
