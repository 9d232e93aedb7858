"""Structured logs: one JSON object per line on stderr, for the service and uvicorn alike."""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime

import msgspec

__all__ = ["AccessLine", "JsonFormatter", "access_line", "access_logged", "configure_logging",
           "write_access_lines"]

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
    def format(cls, now: float) -> str:
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


class AccessLine(msgspec.Struct, omit_defaults=True):
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


def access_logged() -> bool:
    """Whether request lines are written (the log level is info or debug)."""
    return _ACCESS.isEnabledFor(logging.INFO)


def access_line(
    finished_at: float, method: str, path: str, status: int, seconds: float, *,
    request_id: str, model_version: str | None, customers: list[str] | None,
) -> AccessLine:
    """One request's line (``finished_at`` is a ``time.time()``), shaped as
    :class:`JsonFormatter` shapes every record."""
    return AccessLine(_Clock.format(finished_at), "info", _ACCESS.name, "request", _Process.pid,
                      method, path, status, round(seconds * 1000, 3), request_id, model_version,
                      customers)


_LINES_ENCODER = msgspec.json.Encoder()


def write_access_lines(lines: list[AccessLine]) -> None:
    """Write request lines at once. Requests are the one log written on the hot path, so
    their lines are encoded directly, not through ``LogRecord`` objects, and together."""
    sys.stderr.write(_LINES_ENCODER.encode_lines(lines).decode())

