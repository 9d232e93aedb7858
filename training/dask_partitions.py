"""What the workers run in a Dask training: each partition checked, cleaned, encoded, summed.

Kept apart from :mod:`training.dask_fit` so that a worker unpickling these
functions imports NumPy, pandas and the runtime's reader, never dask-ml or
scikit-learn: a worker's memory goes to the data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from runtime.core.drift import bin_counts
from runtime.core.feature_layout import FeatureLayout
from runtime.core.features import Encoder
from runtime.scoring.checks import check, customer_rules
from runtime.scoring.columns import COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS
from runtime.scoring.parts import raw_batch
from training.cleaning import inside

__all__ = [
    "REASON", "FittedSpace", "checked_meta", "checked_partition", "counts_meta",
    "encoded_partition", "frame_columns", "inliers", "outlier_counts", "partition_stats",
    "reason_counts", "summed",
]

REASON = "__reason"
# Text held by Arrow (a few bytes a value), not as Python strings (some 60 bytes each).
TEXT = pd.StringDtype(storage="pyarrow", na_value=np.nan)


def frame_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A partition's columns as the encoder reads them: floats, and text as objects."""
    return {name: frame[name].to_numpy(dtype=np.float64 if name in NUMERIC_COLUMNS else object)
            for name in COLUMNS}


def checked_partition(frame: pd.DataFrame) -> pd.DataFrame:
    """A partition's rows the API takes, typed, and a row per rejected one with its kind."""
    batch = check(raw_batch(frame), customer_rules())
    kept = pd.DataFrame({**{name: batch.numbers[name] for name in NUMERIC_COLUMNS},
                         **{name: batch.text[name].to_pandas().astype(TEXT)
                            for name in TEXT_COLUMNS}})
    kept[REASON] = None
    rejected = pd.DataFrame({REASON: [row.reason.split(":", 1)[0] for row in batch.rejected]})
    return pd.concat([kept, rejected], ignore_index=True)[[*COLUMNS, REASON]]


def checked_meta() -> pd.DataFrame:
    columns = {name: pd.Series([], dtype="float64") if name in NUMERIC_COLUMNS
               else pd.Series([], dtype=TEXT) for name in COLUMNS}
    return pd.DataFrame({**columns, REASON: pd.Series([], dtype=TEXT)})


def _inside_all(frame: pd.DataFrame, bounds: dict[str, tuple[float, float]]) -> np.ndarray:
    keep = np.ones(len(frame), dtype=bool)
    for name, (low, high) in bounds.items():
        keep &= inside(frame[name].to_numpy(), low, high)
    return keep


def counts_meta() -> pd.DataFrame:
    return pd.DataFrame({"key": pd.Series([], dtype=object), "count": pd.Series([], dtype="int64")})


def _counted(counts: Counter[str]) -> pd.DataFrame:
    return pd.DataFrame({"key": pd.Series(list(counts), dtype=object),
                         "count": pd.Series(list(counts.values()), dtype="int64")})


def summed(frame: pd.DataFrame) -> Counter[str]:
    return Counter({str(key): int(count) for key, count
                    in frame.groupby("key")["count"].sum().items()})


def reason_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """A partition's rejected rows per kind of reason."""
    return _counted(Counter(frame[REASON].dropna().tolist()))


def outlier_counts(frame: pd.DataFrame, bounds: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Rows dropped per column, each counted at the first column it falls outside of, and
    the cities of the rows kept (as ``city:NAME`` keys)."""
    keep = np.ones(len(frame), dtype=bool)
    counts: Counter[str] = Counter()
    for name, (low, high) in bounds.items():
        inner = inside(frame[name].to_numpy(), low, high)
        counts[f"outlier: {name}"] += int((keep & ~inner).sum())
        keep &= inner
    counts.update({f"city:{city}": 1 for city in set(frame["City"][keep].tolist())})
    return _counted(counts)


def inliers(frame: pd.DataFrame, bounds: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """The rows of a partition inside every column's bounds."""
    return frame[_inside_all(frame, bounds)]


def encoded_partition(frame: pd.DataFrame, layout: FeatureLayout) -> pd.DataFrame:
    """A partition's customers as the model's raw columns, one frame column each."""
    return pd.DataFrame(Encoder(layout).transform(frame_columns(frame)))


@dataclass(frozen=True)
class FittedSpace:
    """The feature layout, fitted scaling and centres: enough to label customers on a worker."""

    layout: FeatureLayout
    mean: np.ndarray
    scale: np.ndarray
    centres: np.ndarray  # in K-Means's label order

    def labels(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """The nearest centre of each customer."""
        space = (Encoder(self.layout).transform(columns) - self.mean) / self.scale * self.layout.weights
        distances = ((space[:, None, :] - self.centres[None]) ** 2).sum(axis=2)
        return np.asarray(distances.argmin(axis=1))


def partition_stats(frame: pd.DataFrame, space: FittedSpace, quantiles: pd.DataFrame) -> dict[str, Any]:
    """Per cluster label: counts, numeric sums and category counts; and drift bin counts."""
    features = space.layout.features
    encoder = Encoder(space.layout)
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
