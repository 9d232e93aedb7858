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

from runtime.core.bundle import CleaningStep, DriftReference, FeatureSpec
from runtime.core.drift import bin_counts
from runtime.core.features import Encoder
from runtime.scoring.columns import COLUMNS, NUMERIC_COLUMNS
from runtime.scoring.export import ExportChunk
from training.catalogue import rank_by_spending

__all__ = ["DaskFit", "FittedSpace", "assemble", "frame_columns", "partition_stats"]

SAMPLE = 20_000  # customers kept on the client for the silhouette and the report


def frame_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A partition's columns as the encoder reads them: floats, and text as objects."""
    return {name: frame[name].to_numpy(dtype=np.float64 if name in NUMERIC_COLUMNS else object)
            for name in COLUMNS}


@dataclass(frozen=True)
class DaskFit:
    """What a Dask training run hands to the bundle: the model's parts and its cleaning steps."""

    features: list[FeatureSpec]
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


@dataclass(frozen=True)
class FittedSpace:
    """The fitted scaling, weights and centres: enough to label customers on a worker."""

    features: list[FeatureSpec]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    centres: np.ndarray  # in K-Means's label order

    def labels(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """The nearest centre of each customer."""
        space = (Encoder(self.features).transform(columns) - self.mean) / self.scale * self.weights
        distances = ((space[:, None, :] - self.centres[None]) ** 2).sum(axis=2)
        return np.asarray(distances.argmin(axis=1))


def partition_stats(frame: pd.DataFrame, space: FittedSpace, quantiles: pd.DataFrame) -> dict[str, Any]:
    """Per cluster label: counts, numeric sums and category counts; and drift bin counts."""
    features = space.features
    encoder = Encoder(features)
    columns = frame_columns(frame)
    labels = space.labels(columns)
    k = len(space.centres)
    stats: dict[str, Any] = {"count": np.bincount(labels, minlength=k)}
    for name in NUMERIC_COLUMNS:
        stats[name] = np.bincount(labels, weights=columns[name], minlength=k)
    for spec in features:
        edges = np.unique(quantiles[spec.field]).tolist() if spec.kind == "numeric" else []
        stats[f"drift:{spec.field}"] = bin_counts(spec, edges, columns[spec.field], encoder)
        if spec.kind != "numeric":
            codes = encoder.codes(spec, columns[spec.field])
            stats[f"codes:{spec.field}"] = np.stack(
                [np.bincount(labels[codes == code], minlength=k)
                 for code in range(len(spec.categories))])
    return stats


def assemble(space: FittedSpace, stats: list[dict[str, Any]], *, inertia: float,
              quantiles: pd.DataFrame, steps: list[CleaningStep], cleaned: dd.DataFrame,
              rows: int, seed: int) -> DaskFit:
    features, centres = space.features, space.centres
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
    return DaskFit(features, space.mean, space.scale, np.ascontiguousarray(centres[order]),
                   [label_profiles[label] for label in order],
                   [int(total["count"][label]) for label in order], inertia, steps, drift,
                   chunk, ids[sample_labels])

