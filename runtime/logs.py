"""Structured logs: one JSON object per line on stderr, for the service and uvicorn alike."""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import UTC, datetime

import msgspec

__all__ = ["JsonFormatter", "access_line", "configure_logging"]

_ACCESS = logging.getLogger("runtime.access")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; ``extra={"fields": {...}}`` adds fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
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


def configure_logging(level: str) -> None:
    """Send every log through one JSON handler at ``level`` (debug, info, warning, error)."""
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


class _Clock:
    """ISO timestamps to the millisecond, the date and time part formatted once a second."""

    second = -1
    prefix = ""

    @classmethod
    def now(cls) -> str:
        now = time.time()
        second = int(now)
        if second != cls.second:
            cls.second = second
            cls.prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{cls.prefix}.{int((now - second) * 1000):03d}+00:00"


def access_line(fields: dict[str, object]) -> None:
    """Log one request as a JSON line, shaped as :class:`JsonFormatter` shapes every record.

    Requests are the one log written on the hot path, so the line is encoded
    and written directly rather than through a ``LogRecord``.
    """
    if not _ACCESS.isEnabledFor(logging.INFO):
        return
    line = {"ts": _Clock.now(), "level": "info", "logger": _ACCESS.name, "message": "request",
            "pid": os.getpid(), **fields}
    sys.stderr.write(msgspec.json.encode(line).decode() + "\n")
