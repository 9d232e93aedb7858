"""``python -m training --engine dask``: the training run, on a Dask cluster, to the same bundle.

Reads and fits on the cluster (:mod:`training.dask_fit`), then writes the
bundle as the local engine does: the same manifest, catalogue and report (the
report drawn from a random sample of the cleaned customers).
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import fsspec
from sklearn.metrics import silhouette_score

from runtime.core.bundle import (
    FORMAT_VERSION,
    Manifest,
    Metrics,
    ModelInfo,
    TrainingInfo,
    check_replaceable,
    write_bundle,
)
from runtime.scoring.dask_engine import client
from runtime.scoring.lines import DEFAULT_LINE_LIMIT
from training.catalogue import build_catalogue
from training.dask_fit import fit_dask
from training.model import FittedModel
from training.pipeline import MODEL_NAME
from training.report import render_report
from training.stability import RESAMPLES, measure

__all__ = ["train_dask"]

_LIBRARIES = ("numpy", "scikit-learn", "msgspec", "matplotlib", "pyarrow", "dask", "distributed",
              "dask-ml")


def _sha256(url: str) -> str:
    digest = hashlib.sha256()
    with fsspec.open(url, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def train_dask(data: str, out: Path, *, k: int = 3, seed: int = 42, version: str | None = None,
               command: str = "", scheduler: str | None = None, part_bytes: int = 16 << 20,
               progress: Callable[[str], None] = lambda line: None,
               resamples: int = RESAMPLES) -> Manifest:
    """Train on the export at ``data`` (a path or fsspec URL) on Dask; write the bundle to ``out``.

    The stability figures are measured here, on the sample of cleaned customers the report uses.
    """
    check_replaceable(out)
    with client(scheduler):
        fit = fit_dask(data, k=k, seed=seed, part_bytes=part_bytes, limit=DEFAULT_LINE_LIMIT,
                       progress=progress)
    for step in fit.steps:
        progress(f"{step.step}: {step.rows_in} -> {step.rows_out} {step.reasons or ''}".rstrip())
    model = FittedModel(fit.layout, fit.mean, fit.scale, fit.centroids, fit.sample_segments,
                        fit.inertia, 0.0, fit.profiles)
    space = model.space(fit.sample)
    silhouette = (float(silhouette_score(space, fit.sample_segments, random_state=seed))
                  if len(set(fit.sample_segments.tolist())) > 1 else 0.0)
    progress(f"silhouette {silhouette:.4f} (on {len(space):,} sampled customers), "
             f"inertia {fit.inertia:.2f}, sizes {fit.sizes}")
    stability = measure(space, fit.sample_segments, k, init=None, resamples=resamples, seed=seed,
                        progress=progress)
    versions = {"python": platform.python_version()}
    versions.update({name: metadata.version(name) for name in _LIBRARIES})
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=ModelInfo(name=MODEL_NAME, version=version or out.name,
                        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
                        command=command, k=k, random_state=seed),
        training=TrainingInfo(data_file=data.rsplit("/", 1)[-1], data_sha256=_sha256(data),
                              cleaning=fit.steps, library_versions=versions),
        features=list(fit.layout.features),
        segments=build_catalogue(fit.profiles, fit.sizes),
        metrics=Metrics(silhouette=round(silhouette, 6), inertia=round(fit.inertia, 6),
                        sizes=fit.sizes, stability=stability.stability),
        drift=fit.drift,
    )
    progress("writing the report")
    report = render_report(fit.sample, model, manifest, stability, seed=seed)
    written = write_bundle(out, manifest, mean=fit.mean, scale=fit.scale, centroids=fit.centroids,
                           extra_files=report)
    progress(f"bundle written to {out}")
    return written
