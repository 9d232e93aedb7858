"""The JSON log line: its timestamp, however it is formatted, reads as ISO 8601 in UTC."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from runtime.service.logs import JsonFormatter


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
