"""Loading a model for serving, and swapping in a new one without dropping a request.

A bundle is fully read and verified, including a prediction on the catalogue's
own profiles, before it replaces the one being served; a bundle that fails is
refused with a log line and a metric, and the old model keeps serving.
"""

from __future__ import annotations

import logging
import threading

from starlette.applications import Starlette

from runtime.core.bundle import BundleError, load_bundle
from runtime.core.catalogue import apply_override, load_override
from runtime.core.drift import DriftMonitor
from runtime.core.model import Model
from runtime.service.segmenter import Segmenter
from runtime.service.settings import Settings

__all__ = ["load_model", "log_serving", "reload_model", "serve_model"]

logger = logging.getLogger("runtime.service.reload")


def load_model(settings: Settings) -> Segmenter:
    """Read, verify and prepare the bundle (and catalogue override) that ``settings`` name."""
    bundle = load_bundle(settings.bundle)
    catalogue = bundle.manifest.segments
    if settings.catalogue is not None:
        override = load_override(settings.catalogue)
        catalogue = apply_override(str(settings.catalogue), catalogue, override)
    model = Model(bundle, catalogue)
    model.check()
    return Segmenter(model)


def log_serving(model: Segmenter, settings: Settings) -> None:
    """One line saying what is served: the bundle (its path resolved), model, checksum, override."""
    manifest = model.bundle.manifest
    logger.info("serving", extra={"fields": {
        "bundle": str(settings.bundle.resolve()),
        "model_name": manifest.model.name,
        "model_version": model.version,
        "checksum": model.bundle.checksum,
        "catalogue_override": str(settings.catalogue.resolve()) if settings.catalogue else None,
    }})


def serve_model(app: Starlette, model: Segmenter) -> None:
    """Start serving ``model``: its drift window, its metrics, then one reference swap."""
    if getattr(app.state, "reload_lock", None) is None:
        app.state.reload_lock = threading.Lock()
    manifest = model.bundle.manifest
    settings = app.state.settings
    app.state.drift = DriftMonitor(manifest.features, manifest.drift, settings.drift_window,
                                   min_sample=settings.drift_min_sample)
    app.state.metrics.serving(manifest.model.name, model.version, model.bundle.checksum)
    app.state.model = model  # a request sees the old model or the new one, never a mix


def reload_model(app: Starlette) -> bool:
    """Swap in the bundle at the configured path; keep the old model if it fails.

    Reloads run one at a time, so the last one to finish read the disk last:
    a burst of signals ends serving what the path holds after the burst.
    """
    with app.state.reload_lock:
        return _reload(app)


def _reload(app: Starlette) -> bool:
    metrics = app.state.metrics
    try:
        model = load_model(app.state.settings)
    except Exception as exc:  # whatever the bundle holds, the serving model stays
        metrics.reloads.labels("failure").inc()
        reason = str(exc) if isinstance(exc, BundleError) else f"{type(exc).__name__}: {exc}"
        logger.error("reload refused, still serving the previous model",
                     extra={"fields": {"reason": reason}})
        return False
    serve_model(app, model)
    metrics.reloads.labels("success").inc()
    logger.info("model reloaded", extra={"fields": {"model_version": model.version,
                                                    "checksum": model.bundle.checksum}})
    return True
