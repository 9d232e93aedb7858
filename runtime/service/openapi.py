"""The OpenAPI 3 document, generated from the same structs that validate and encode."""

from __future__ import annotations

from typing import Any

import msgspec

from runtime.core.customer import EXAMPLE_CUSTOMER, Customer
from runtime.service.schemas import (
    BatchPrediction,
    ErrorBody,
    Health,
    Prediction,
    SegmentCatalogue,
    ServiceInfo,
)

__all__ = ["openapi_document"]

_REF = "#/components/schemas/{name}"
_ERRORS = {
    "400": "Malformed JSON or invalid UTF-8",
    "413": "Body or batch larger than the configured limit",
    "415": "Content type other than application/json",
    "422": "A value of the wrong type, out of range or unknown; `field` names it",
    "503": "Overloaded (see Retry-After) or not ready",
}


def _json(schema: object, example: object = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"content": {"application/json": content}}


def _ref(model: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=model.__name__)}


def _errors(*statuses: str) -> dict[str, Any]:
    return {s: {"description": _ERRORS[s], **_json(_ref(ErrorBody))} for s in statuses}


def _get(summary: str, schema: object, tag: str, **extra: Any) -> dict[str, Any]:
    ok = {"description": "OK", **_json(schema)}
    return {"get": {"summary": summary, "tags": [tag], "responses": {"200": ok, **extra}}}


def openapi_document(version: str, max_batch: int, example_answer: object) -> dict[str, Any]:
    """The document for a service serving model ``version``."""
    _, components = msgspec.json.schema_components(
        [Customer, Prediction, BatchPrediction, SegmentCatalogue, ErrorBody, Health, ServiceInfo],
        ref_template=_REF,
    )
    batch_schema = {"type": "array", "items": _ref(Customer), "minItems": 1, "maxItems": max_batch}
    explain = {
        "name": "explain", "in": "query", "required": False,
        "description": "true to add an `explanation` per customer (distances and contributions)",
        "schema": {"type": "boolean", "default": False},
    }
    not_ready = {"503": {"description": "Not ready", **_json(_ref(Health))}}
    paths: dict[str, Any] = {
        "/": _get("Service and model information", _ref(ServiceInfo), "service"),
        "/health": _get("Health, in the seed's shape", _ref(Health), "health"),
        "/health/live": _get("Liveness: the process answers", _ref(Health), "health"),
        "/health/ready": _get("Readiness: a bundle is loaded and the service is not draining",
                              _ref(Health), "health", **not_ready),
        "/segments": _get("The segment catalogue, keyed by segment id", _ref(SegmentCatalogue),
                          "segments"),
        "/predict": {"post": {
            "summary": "Segment and offers for one customer",
            "tags": ["predict"],
            "operationId": "predict",
            "parameters": [explain],
            "requestBody": {"required": True, **_json(_ref(Customer), EXAMPLE_CUSTOMER)},
            "responses": {
                "200": {"description": "The customer's segment", **_json(_ref(Prediction),
                                                                         example_answer)},
                **_errors("400", "413", "415", "422", "503"),
            },
        }},
        "/predict/batch": {"post": {
            "summary": f"Segments for a batch of 1 to {max_batch} customers, in request order",
            "tags": ["predict"],
            "operationId": "predict_batch",
            "parameters": [explain],
            "requestBody": {"required": True, **_json(batch_schema, [EXAMPLE_CUSTOMER])},
            "responses": {
                "200": {"description": "One prediction per customer",
                        **_json(_ref(BatchPrediction))},
                **_errors("400", "413", "415", "422", "503"),
            },
        }},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Customer segmentation",
            "version": version,
            "description": "Assigns customers to segments with a K-Means model and recommends "
            "offers. Errors share one shape, `ErrorBody`, naming the offending field.",
        },
        "paths": paths,
        "components": {"schemas": components},
    }
