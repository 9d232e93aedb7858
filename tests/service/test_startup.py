"""What a server says about what it serves: the start-up line and the liveness probe."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.testclient import TestClient

from runtime.service.app import create_app
from runtime.service.settings import Settings
from tests.conftest import DEFAULT_BUNDLE, make_client


def startup_records(settings: Settings) -> list[logging.LogRecord]:
    """What ``runtime.service.app`` logs while an app for ``settings`` starts and stops."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("runtime.service.app")
    logger.addHandler(handler)
    try:
        with TestClient(create_app(settings)):
            pass
    finally:
        logger.removeHandler(handler)
    return records


def serving_fields(records: list[logging.LogRecord]) -> dict[str, Any]:
    (record,) = [record for record in records if record.getMessage() == "serving"]
    return record.fields  # type: ignore[attr-defined, no-any-return]


def test_startup_line_names_bundle_model_checksum_and_override() -> None:
    unresolved = DEFAULT_BUNDLE.parent / ".." / DEFAULT_BUNDLE.parent.name / "1.0.0"
    fields = serving_fields(startup_records(Settings(bundle=unresolved)))
    assert fields["bundle"] == str(DEFAULT_BUNDLE.resolve())  # resolved: no "..", no symlink
    assert fields["model_name"] == "customer-segmentation" and fields["model_version"] == "1.0.0"
    assert len(fields["checksum"]) == 64 and fields["catalogue"] is None


@pytest.mark.parametrize(("settings", "limit"), [
    (Settings(), None),
    (Settings(http="h11"), 65536),
    (Settings(http="h11", max_header_bytes=8192), 8192),
])
def test_startup_line_names_the_parser_and_the_header_limit_in_force(
    settings: Settings, limit: int | None
) -> None:
    records = startup_records(settings)
    fields = serving_fields(records)
    assert (fields["http"], fields["max_header_bytes"]) == (settings.http, limit)
    assert not [record for record in records if record.levelno >= logging.WARNING]


def test_a_header_limit_under_httptools_is_said_to_be_without_effect() -> None:
    records = startup_records(Settings(max_header_bytes=8192))
    assert serving_fields(records)["max_header_bytes"] is None
    (warning,) = [record for record in records if record.levelno == logging.WARNING]
    assert warning.getMessage() == ("max_header_bytes applies only with http h11: httptools "
                                    "bounds no header section")
    assert warning.fields == {"http": "httptools", "max_header_bytes": 8192}  # type: ignore[attr-defined]


def test_liveness_names_the_model_it_says_is_loaded() -> None:
    with make_client() as client:
        body = client.get("/health/live").json()
    assert body == {"status": "alive", "model_loaded": True, "models_loaded": True,
                    "model_version": "1.0.0"}
