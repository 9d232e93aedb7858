"""The JSON log lines: timestamps read as ISO 8601 in UTC, and a request's line, written
without a ``LogRecord``, has the shape of every other line."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from runtime.service.logs import ACCESS_LOGGER, JsonFormatter, write_access_line


@given(st.floats(min_value=0, max_value=4e9))
@example(1764567297.001)  # its fraction is just under 0.001 as a float
@example(1764567296.9999996)  # rounds up into the next second
@example(1798761599.999)  # the last millisecond of 2026
def test_each_line_is_stamped_to_the_millisecond_in_utc(created: float) -> None:
    formatter = JsonFormatter()
    for moment in (created, created + 1.0, created):  # back and forth across a second
        record = logging.LogRecord("runtime.access", logging.INFO, __file__, 1, "request", (), None)
        record.created = moment
        line = json.loads(formatter.format(record))
        assert line["ts"] == datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")


def test_fields_given_with_the_record_join_the_line() -> None:
    record = logging.LogRecord("runtime.access", logging.INFO, __file__, 1, "request", (), None)
    record.fields = {"status": 200, "path": "/predict"}
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["message"]) == ("info", "runtime.access", "request")
    assert (line["status"], line["path"]) == (200, "/predict")


def test_a_request_line_has_the_shape_of_every_other_line(capsys: pytest.CaptureFixture[str]) -> None:
    write_access_line("POST", "/predict", 200, 0.0012344, request_id="r-1", model_version="1.0.0")
    write_access_line("POST", "/predict/batch", 422, 0.5, request_id="r-2", model_version=None,
                      customers=["C1", "C2"])
    written = capsys.readouterr().err
    assert written.count("\n") == 2 and written.endswith("\n")
    first, second = map(json.loads, written.splitlines())
    record = logging.LogRecord(ACCESS_LOGGER.name, logging.INFO, __file__, 1, "request", (), None)
    common = list(json.loads(JsonFormatter().format(record)))
    assert list(first)[:len(common)] == common == ["ts", "level", "logger", "message", "pid"]
    assert first == {**first, "level": "info", "logger": "runtime.access", "message": "request",
                     "pid": os.getpid(), "method": "POST", "path": "/predict", "status": 200,
                     "duration_ms": 1.234, "request_id": "r-1", "model_version": "1.0.0"}
    assert "customers" not in first
    assert (second["status"], second["model_version"], second["customers"]) == (422, None, ["C1", "C2"])
    assert datetime.fromisoformat(first["ts"]).tzinfo == UTC
