"""Errors as the API answers them: one JSON shape (:class:`ErrorBody`), never HTML or a trace.

``ApiError`` carries a status, a stable code, a message and the JSON path of
the offending value; handlers turn it, Starlette's HTTP errors and anything
unexpected into that shape.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import cast

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from runtime.core.features import InvalidValue
from runtime.service.schemas import ErrorBody

__all__ = [
    "CLIENT_CLOSED",
    "ApiError",
    "error_response",
    "exception_handlers",
    "from_decode_error",
    "from_invalid_value",
]

logger = logging.getLogger("runtime.service.errors")

_AT = re.compile(r"^(?P<reason>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"missing required field `(?P<name>[^`]*)`")

CLIENT_CLOSED = 499
_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class ApiError(Exception):
    """A request the service refuses, with what was wrong and where."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(error=error, message=message, field=field)
        self.headers = headers


def error_response(
    status: int, error: str, message: str, field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = msgspec.json.encode(ErrorBody(error=error, message=message, field=field))
    return Response(body, status, headers=headers, media_type="application/json")


def from_decode_error(exc: msgspec.DecodeError) -> ApiError:
    """A msgspec decoding error as a 400 (malformed JSON) or 422 (wrong value) naming the field."""
    text = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        return ApiError(400, "malformed_json", text)
    match = _AT.match(text)
    reason = match["reason"] if match else text
    path = (match["path"] if match else None) or "$"
    missing = _MISSING.search(reason)
    if missing:
        path = f"{path}.{missing['name']}"
    return ApiError(422, "invalid_value", text, path)


def from_invalid_value(exc: InvalidValue, batch: bool) -> ApiError:
    path = f"$[{exc.index}].{exc.field}" if batch else f"$.{exc.field}"
    return ApiError(422, "invalid_value", f"{exc.reason} - at `{path}`", path)


async def _api_error(request: Request, exc: Exception) -> Response:
    error = cast(ApiError, exc)
    return Response(msgspec.json.encode(error.body), error.status, headers=error.headers,
                    media_type="application/json")


async def _http_error(request: Request, exc: Exception) -> Response:
    http = cast(HTTPException, exc)
    code = _HTTP_CODES.get(http.status_code, "http_error")
    return error_response(http.status_code, code, str(http.detail), headers=http.headers)


async def _client_gone(request: Request, exc: Exception) -> Response:
    # Nobody is left to answer, and it is not a server error to alert on (nginx's 499).
    return Response(status_code=CLIENT_CLOSED)


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "The service failed to answer; it was logged.")


exception_handlers = {
    ClientDisconnect: _client_gone,
    ApiError: _api_error,
    HTTPException: _http_error,
    Exception: _unexpected,
}
