"""Structured logs: one JSON object per line on stderr, for the service and uvicorn alike.

Requests are the one log written on the hot path. Their lines (:class:`AccessLine`)
are encoded straight from a struct and written, not built as ``LogRecord`` objects
and formatted: that machinery cost about a third of a small request's time. They
obey the ``runtime.access`` logger's level and switch all the same.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from datetime import UTC, datetime

import msgspec

__all__ = ["ACCESS_LOGGER", "AccessLine", "JsonFormatter", "configure_logging", "timestamp",
           "write_access_line"]

ACCESS_LOGGER = logging.getLogger("runtime.access")


class _Timestamps:
    """ISO 8601 in UTC to the millisecond, as ``datetime`` writes it; the part up to the
    second is formatted once a second, as a line per request would otherwise spend more on
    it than on the rest of the line."""

    def __init__(self) -> None:
        self._second = -1.0
        self._second_text = ""

    def __call__(self, created: float) -> str:
        fraction, second = math.modf(created)
        microseconds = round(fraction * 1_000_000)  # rounded as datetime rounds a timestamp
        if microseconds == 1_000_000:
            second, microseconds = second + 1, 0
        if second != self._second:
            self._second = second
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._second_text}.{microseconds // 1000:03d}+00:00"


timestamp = _Timestamps()


class AccessLine(msgspec.Struct, omit_defaults=True, gc=False):
    """One request's log line: the fields :class:`JsonFormatter` gives every record, then
    the request's own."""

    ts: str
    level: str
    logger: str
    message: str
    pid: int
    method: str
    path: str
    status: int
    duration_ms: float
    request_id: str
    model_version: str | None
    customers: list[str] | None = None  # only with SEGMENTATION_LOG_CUSTOMERS=1


_access_encoder = msgspec.json.Encoder()


def write_access_line(method: str, path: str, status: int, seconds: float, *, request_id: str,
                      model_version: str | None, customers: list[str] | None = None) -> None:
    """Write the line of a request that has just ended, after ``seconds``, on stderr in one
    write: lines of several workers sharing the stream never interleave."""
    line = AccessLine(timestamp(time.time()), "info", ACCESS_LOGGER.name, "request", os.getpid(),
                      method, path, status, round(seconds * 1000, 3), request_id, model_version,
                      customers)
    sys.stderr.write(_access_encoder.encode(line).decode() + "\n")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; ``extra={"fields": {...}}`` adds fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which worker, when several share the port
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return msgspec.json.encode(line).decode()


def configure_logging(level: str, access_log: bool = True) -> None:
    """Send every log through one JSON handler at ``level`` (debug, info, warning, error);
    ``access_log=False`` silences the line per request."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # the service logs each request itself
    ACCESS_LOGGER.disabled = not access_log
