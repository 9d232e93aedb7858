"""Loading a model for serving, and swapping in a new one without dropping a request.

A bundle is fully read and verified, including a prediction on the catalogue's
own profiles, before it replaces the one being served; a bundle that fails is
refused with a log line and a metric, and the old model keeps serving.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
from starlette.applications import Starlette

from runtime.bundle import Bundle, BundleError, load_bundle
from runtime.catalogue import apply_override, load_override
from runtime.config import Settings
from runtime.drift import DriftMonitor
from runtime.segmenter import Segmenter

__all__ = ["BundleCheckError", "load_model", "reload_model", "serve_model"]

logger = logging.getLogger("runtime.reload")


class BundleCheckError(BundleError):
    """The bundle loads but its catalogue and centroids disagree."""


def _profile_columns(bundle: Bundle) -> np.ndarray:
    """Each segment's profile as raw model columns: the segment's mean customer."""
    rows = []
    for segment in bundle.manifest.segments:
        row: list[float] = []
        for spec in bundle.manifest.features:
            if spec.weight == 0:
                continue
            if spec.kind in ("numeric", "ordinal"):
                row.append(segment.profile[spec.field])
            elif spec.kind == "binary":
                row.append(segment.profile[f"{spec.field}={spec.categories[1]}"])
            else:
                row.extend(segment.profile[f"{spec.field}={c}"] for c in spec.categories)
        rows.append(row)
    return np.array(rows, dtype=np.float64)


def _self_check(model: Segmenter) -> None:
    bundle = model.bundle
    try:
        profiles = _profile_columns(bundle)
    except KeyError as exc:
        raise BundleCheckError(f"{bundle.path}: a segment profile lacks {exc}") from exc
    found = model.predictor.predict_raw(profiles).segments.tolist()
    expected = [segment.id for segment in bundle.manifest.segments]
    if found != expected:
        raise BundleCheckError(
            f"{bundle.path}: segment profiles {expected} predict as {found}: "
            "the catalogue does not match the centroids"
        )


def load_model(settings: Settings) -> Segmenter:
    """Read, verify and prepare the bundle (and catalogue override) that ``settings`` name."""
    bundle = load_bundle(settings.bundle)
    catalogue = bundle.manifest.segments
    if settings.catalogue is not None:
        override = load_override(settings.catalogue)
        catalogue = apply_override(str(settings.catalogue), catalogue, override)
    model = Segmenter(bundle, catalogue)
    _self_check(model)
    return model


def serve_model(app: Starlette, model: Segmenter) -> None:
    """Start serving ``model``: its drift window, its metrics, then one reference swap."""
    if getattr(app.state, "reload_lock", None) is None:
        app.state.reload_lock = threading.Lock()
    manifest = model.bundle.manifest
    app.state.drift = DriftMonitor(manifest.features, manifest.drift, app.state.settings.drift_window)
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
