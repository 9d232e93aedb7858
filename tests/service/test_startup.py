"""What a server says about what it serves: the start-up line and the liveness probe."""

from __future__ import annotations

import logging

from starlette.testclient import TestClient

from runtime.service.app import create_app
from runtime.service.settings import Settings
from tests.conftest import DEFAULT_BUNDLE, make_client


def test_startup_line_names_bundle_model_checksum_and_override() -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("runtime.service.app")
    logger.addHandler(handler)
    try:
        unresolved = DEFAULT_BUNDLE.parent / ".." / DEFAULT_BUNDLE.parent.name / "1.0.0"
        with TestClient(create_app(Settings(bundle=unresolved))):
            pass
    finally:
        logger.removeHandler(handler)
    (record,) = [record for record in records if record.getMessage() == "serving"]
    fields = record.fields  # type: ignore[attr-defined]
    assert fields["bundle"] == str(DEFAULT_BUNDLE.resolve())  # resolved: no "..", no symlink
    assert fields["model_name"] == "customer-segmentation" and fields["model_version"] == "1.0.0"
    assert len(fields["checksum"]) == 64 and fields["catalogue"] is None


def test_liveness_names_the_model_it_says_is_loaded() -> None:
    with make_client() as client:
        body = client.get("/health/live").json()
    assert body == {"status": "alive", "model_loaded": True, "models_loaded": True,
                    "model_version": "1.0.0"}
