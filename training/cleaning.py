"""The cleaning steps between a raw export and the customers the model is fitted on."""

from __future__ import annotations

import numpy as np

from runtime.core.bundle import CleaningStep
from runtime.scoring.export import NUMERIC_COLUMNS, ExportChunk

__all__ = ["IQR_FACTOR", "drop_outliers", "incomplete_step", "inside"]

IQR_FACTOR = 1.5


def incomplete_step(export: ExportChunk) -> CleaningStep:
    """The reader's own step: rows with a missing, malformed or cut-short value are dropped."""
    return CleaningStep(
        step="drop incomplete rows",
        rows_in=export.rows_read,
        rows_out=len(export),
        reasons=dict(export.rejection_counts()),
    )


def inside(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Which ``values`` lie within ``IQR_FACTOR`` x IQR of the quartiles ``low`` and ``high``."""
    spread = IQR_FACTOR * (high - low)
    mask: np.ndarray = (values >= low - spread) & (values <= high + spread)
    return mask


def drop_outliers(export: ExportChunk) -> tuple[np.ndarray, CleaningStep]:
    """Mask of rows inside ``IQR_FACTOR`` x IQR on every numeric column, and the step."""
    keep = np.ones(len(export), dtype=bool)
    reasons: dict[str, int] = {}
    for name in NUMERIC_COLUMNS:
        values = export.columns[name]
        within = inside(values, *np.percentile(values, [25, 75]))
        outside_only_here = int((keep & ~within).sum())
        if outside_only_here:
            reasons[f"outlier: {name}"] = outside_only_here
        keep &= within
    step = CleaningStep(
        step=f"drop {IQR_FACTOR} x IQR outliers",
        rows_in=len(export),
        rows_out=int(keep.sum()),
        reasons=reasons,
    )
    return keep, step
