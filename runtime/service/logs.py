"""Structured logs: one JSON object per line on stderr, for the service and uvicorn alike."""

from __future__ import annotations

import logging
import math
import sys
from datetime import UTC, datetime

import msgspec

__all__ = ["JsonFormatter", "configure_logging"]


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; ``extra={"fields": {...}}`` adds fields."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1.0
        self._second_text = ""

    def _timestamp(self, created: float) -> str:
        """ISO 8601 in UTC to the millisecond, as ``datetime`` writes it; the part up to the
        second is formatted once a second, as a line per request would otherwise spend more
        on it than on the rest of the line."""
        fraction, second = math.modf(created)
        microseconds = round(fraction * 1_000_000)  # rounded as datetime rounds a timestamp
        if microseconds == 1_000_000:
            second, microseconds = second + 1, 0
        if second != self._second:
            self._second = second
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._second_text}.{microseconds // 1000:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": self._timestamp(record.created),
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
    logging.getLogger("runtime.access").disabled = not access_log
