"""Swapping in a new bundle without dropping a request.

A bundle is fully read and verified by :func:`~runtime.service.served.load_served`
before it replaces the one being served; one that fails is refused with a log line
and a metric, and the old model keeps serving.
"""

from __future__ import annotations

import logging
import threading

from starlette.applications import Starlette

from runtime.core.bundle import BundleError
from runtime.service.served import ServedModel, load_served

__all__ = ["reload_model", "serve_model"]

logger = logging.getLogger("runtime.service.reload")
_ONE_AT_A_TIME = threading.Lock()


def serve_model(app: Starlette, served: ServedModel) -> None:
    """Start serving ``served``: its metrics, then one reference swap."""
    bundle = served.bundle
    app.state.metrics.serving(bundle.manifest.model.name, served.version, bundle.checksum)
    app.state.served = served  # a request sees the old model or the new one, never a mix


def reload_model(app: Starlette) -> bool:
    """Swap in the bundle at the configured path; keep the old model if it fails.

    Reloads run one at a time, so the last one to finish read the disk last:
    a burst of signals ends serving what the path holds after the burst.
    """
    metrics = app.state.metrics
    with _ONE_AT_A_TIME:
        try:
            served = load_served(app.state.settings)
        except Exception as exc:  # whatever the bundle holds, the serving model stays
            metrics.reloads.labels("failure").inc()
            reason = str(exc) if isinstance(exc, BundleError) else f"{type(exc).__name__}: {exc}"
            logger.error("reload refused, still serving the previous model",
                         extra={"fields": {"reason": reason}})
            return False
        serve_model(app, served)
    metrics.reloads.labels("success").inc()
    logger.info("model reloaded", extra={"fields": {"model_version": served.version,
                                                    "checksum": served.bundle.checksum}})
    return True
