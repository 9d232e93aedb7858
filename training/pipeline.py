"""The training run: export -> cleaning -> model -> bundle and report."""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from runtime.core.bundle import (
    FORMAT_VERSION,
    CleaningStep,
    Manifest,
    Metrics,
    ModelInfo,
    TrainingInfo,
    check_replaceable,
    write_bundle,
)
from runtime.core.features import InvalidValue
from runtime.scoring.export import ExportChunk, read_export
from training.catalogue import build_catalogue
from training.cleaning import drop_outliers, incomplete_step
from training.model import drift_reference, feature_specs, fit
from training.report import render_report
from training.stability import RESAMPLES, measure
from training.warm import load_parent

__all__ = ["MODEL_NAME", "clean", "train"]

MODEL_NAME = "customer-segmentation"
_LIBRARIES = ("numpy", "scikit-learn", "msgspec", "matplotlib")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    versions.update({name: metadata.version(name) for name in _LIBRARIES})
    return versions


def clean(export: ExportChunk) -> tuple[ExportChunk, list[CleaningStep]]:
    """The customers the model is fitted on, and the steps that got there."""
    keep, outliers = drop_outliers(export)
    kept = ExportChunk({name: values[keep] for name, values in export.columns.items()},
                       export.lines[keep])
    return kept, [incomplete_step(export), outliers]


def train(
    data: Path,
    out: Path,
    *,
    k: int = 3,
    seed: int = 42,
    version: str | None = None,
    command: str = "",
    progress: Callable[[str], None] = lambda line: None,
    warm_start: Path | None = None,
    resamples: int = RESAMPLES,
) -> Manifest:
    """Train on the export at ``data`` and write the bundle (and its report) to ``out``.

    With ``warm_start``, K-Means begins from that bundle's centroids (same k and
    weighted features required), and the manifest names it as the parent.
    """
    check_replaceable(out)  # before the work, not after it
    parent = None if warm_start is None else load_parent(warm_start)
    progress(f"reading {data}")
    export = read_export(data)
    if len(export) == 0:
        raise ValueError(
            f"{data}: no complete customer row ({export.rows_read} read, "
            f"{len(export.rejected)} rejected: {dict(export.rejection_counts())})"
        )
    customers, steps = clean(export)
    for step in steps:
        progress(f"{step.step}: {step.rows_in} -> {step.rows_out} {step.reasons or ''}".rstrip())
    if len(customers) <= k:
        raise ValueError(
            f"{data}: {len(customers)} customers left after cleaning, K-Means needs more than k={k}"
        )
    features = feature_specs(customers)
    if parent is not None:
        parent.check(k, features)
    start = "" if parent is None else f", warm start from {parent.ref.version}"
    progress(f"fitting K-Means (k={k}, random_state={seed}{start}) on {len(customers)} customers")
    try:
        model = fit(customers, features, k=k, random_state=seed, parent=parent)
    except InvalidValue as exc:
        line = customers.lines[exc.index]
        customer = customers.columns["CustomerID"][exc.index]
        raise ValueError(f"{data}: line {line} ({customer}): {exc.field}: {exc.reason}") from exc
    except ValueError as exc:
        raise ValueError(f"{data}: {exc}") from exc
    progress(f"silhouette {model.silhouette:.4f}, inertia {model.inertia:.2f}, sizes {model.sizes}")
    stability = measure(model.space(customers), model.segments, k, init=model.start,
                        resamples=resamples, seed=seed, progress=progress)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=ModelInfo(
            name=MODEL_NAME,
            version=version or out.name,
            trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
            command=command,
            k=k,
            random_state=seed,
        ),
        training=TrainingInfo(
            data_file=data.name,
            data_sha256=_sha256(data),
            cleaning=steps,
            library_versions=_library_versions(),
            parent=None if parent is None else parent.ref,
        ),
        features=features,
        segments=build_catalogue(model.profiles, model.sizes),
        metrics=Metrics(silhouette=round(model.silhouette, 6), inertia=round(model.inertia, 6),
                        sizes=model.sizes, stability=stability.stability),
        drift=drift_reference(customers, features),
    )
    progress("writing the report")
    report = render_report(customers, model, manifest, stability, seed=seed)
    written = write_bundle(out, manifest, mean=model.mean, scale=model.scale,
                           centroids=model.centroids, extra_files=report)
    progress(f"bundle written to {out}")
    return written



