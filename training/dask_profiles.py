"""What a Dask training run learns beyond the centres: profiles, sizes, drift and a sample.

Each partition is labelled with the fitted centres on its worker and summed
(counts, numeric sums, category counts, drift bins per label); the client adds
the partitions' sums and renumbers the clusters by the catalogue's spending rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from runtime.core.bundle import CleaningStep, DriftReference
from runtime.core.feature_layout import FeatureLayout
from runtime.scoring.columns import NUMERIC_COLUMNS
from runtime.scoring.export import ExportChunk
from training.catalogue import rank_by_spending
from training.dask_partitions import FittedSpace, frame_columns

__all__ = ["DaskFit", "assemble"]

SAMPLE = 20_000  # customers kept on the client for the silhouette and the report


@dataclass(frozen=True)
class DaskFit:
    """What a Dask training run hands to the bundle: the model's parts and its cleaning steps."""

    layout: FeatureLayout
    mean: np.ndarray
    scale: np.ndarray
    centroids: np.ndarray  # row i belongs to segment i
    profiles: list[dict[str, float]]  # by segment id
    sizes: list[int]
    inertia: float
    steps: list[CleaningStep]
    drift: list[DriftReference]
    sample: ExportChunk  # a random sample of the cleaned customers
    sample_segments: np.ndarray


def assemble(space: FittedSpace, stats: list[dict[str, Any]], *, inertia: float,
              quantiles: pd.DataFrame, steps: list[CleaningStep], cleaned: dd.DataFrame,
              rows: int, seed: int) -> DaskFit:
    features, centres = space.layout.features, space.centres
    total = {key: sum(part[key] for part in stats) for key in stats[0]}
    count = np.maximum(total["count"], 1)
    label_profiles: list[dict[str, float]] = []
    for label in range(len(centres)):
        profile = {name: float(total[name][label] / count[label]) for name in NUMERIC_COLUMNS}
        for spec in features:
            if spec.kind == "numeric":
                continue
            shares = total[f"codes:{spec.field}"][:, label] / count[label]
            if spec.kind == "ordinal":
                profile[spec.field] = float((shares * np.arange(len(shares))).sum())
            for category, share in zip(spec.categories, shares, strict=True):
                profile[f"{spec.field}={category}"] = float(share)
        label_profiles.append(profile)
    ids = rank_by_spending(label_profiles)
    order = np.argsort(ids)
    drift = []
    for spec in features:
        counts = total[f"drift:{spec.field}"]
        edges = np.unique(quantiles[spec.field]).tolist() if spec.kind == "numeric" else []
        drift.append(DriftReference(spec.field, edges, (counts / counts.sum()).round(6).tolist()))
    sample = cleaned.sample(frac=min(1.0, SAMPLE / rows), random_state=seed).compute()
    chunk = ExportChunk(frame_columns(sample), np.arange(len(sample), dtype=np.int64))
    sample_labels = space.labels(chunk.columns)
    return DaskFit(space.layout, space.mean, space.scale, np.ascontiguousarray(centres[order]),
                   [label_profiles[label] for label in order],
                   [int(total["count"][label]) for label in order], inertia, steps, drift,
                   chunk, ids[sample_labels])

