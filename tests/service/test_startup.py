"""What a server says about what it serves: the start-up line and the liveness probe."""

from __future__ import annotations

import logging

from runtime.service.reload import load_model, log_serving
from runtime.service.settings import Settings
from tests.conftest import DEFAULT_BUNDLE, ROOT, make_client


def test_startup_line_names_bundle_model_checksum_and_override() -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("runtime.service.reload")
    logger.addHandler(handler)
    settings = Settings(bundle=ROOT / "artifacts" / "customer-segmentation" / ".." / "customer-segmentation"
                        / "1.0.0")
    model = load_model(settings)
    try:
        log_serving(model, settings)
    finally:
        logger.removeHandler(handler)
    (record,) = records
    assert record.getMessage() == "serving"
    assert record.fields == {  # type: ignore[attr-defined]
        "bundle": str(DEFAULT_BUNDLE.resolve()),  # resolved: no "..", no symlink
        "model_name": "customer-segmentation",
        "model_version": "1.0.0",
        "checksum": model.bundle.checksum,
        "catalogue_override": None,
    }


def test_liveness_names_the_model_it_says_is_loaded() -> None:
    with make_client() as client:
        body = client.get("/health/live").json()
    assert body == {"status": "alive", "model_loaded": True, "model_version": "1.0.0"}
