"""Structured logs: one JSON object per line on stderr, for the service and uvicorn alike."""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import UTC, datetime

import msgspec

from runtime.coalesce import TurnBuffer

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


class _Process:
    """This process's id: getpid is a system call, so it is asked once, and again after a fork."""

    pid = os.getpid()

    @classmethod
    def forked(cls) -> None:
        cls.pid = os.getpid()


os.register_at_fork(after_in_child=_Process.forked)


class _AccessLine(msgspec.Struct, omit_defaults=True):
    """One request's log line: the fields every record has, then the request's own."""

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


def access_line(
    method: str, path: str, status: int, seconds: float, *, request_id: str,
    model_version: str | None, customers: list[str] | None = None,
) -> None:
    """Log one request as a JSON line, shaped as :class:`JsonFormatter` shapes every record.

    Requests are the one log written on the hot path, so the line is encoded
    directly rather than through a ``LogRecord``, and the lines of one turn of
    the event loop go out in one write at the start of the next.
    """
    if not _ACCESS.isEnabledFor(logging.INFO):
        return
    line = _AccessLine(_Clock.now(), "info", _ACCESS.name, "request", _Process.pid, method, path, status,
                       round(seconds * 1000, 3), request_id, model_version, customers)
    try:
        _lines.add(line)
    except RuntimeError:  # no event loop: nothing to wait for
        _write([line])


def _write(lines: list[_AccessLine]) -> None:
    sys.stderr.write(_LINES_ENCODER.encode_lines(lines).decode())


_LINES_ENCODER = msgspec.json.Encoder()
_lines = TurnBuffer(_write)  # a turn's access lines: encoded and written at once
