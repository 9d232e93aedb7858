"""The cleaning steps between a raw export and the customers the model is fitted on."""

from __future__ import annotations

import numpy as np

from runtime.core.bundle import CleaningStep
from runtime.scoring.export import NUMERIC_COLUMNS, ExportChunk

__all__ = ["IQR_FACTOR", "drop_outliers", "incomplete_step"]

IQR_FACTOR = 1.5


def incomplete_step(export: ExportChunk) -> CleaningStep:
    """The reader's own step: rows with a missing, malformed or cut-short value are dropped."""
    return CleaningStep(
        step="drop incomplete rows",
        rows_in=export.rows_read,
        rows_out=len(export),
        reasons=dict(export.rejection_counts()),
    )


def drop_outliers(export: ExportChunk) -> tuple[np.ndarray, CleaningStep]:
    """Mask of rows inside ``IQR_FACTOR`` x IQR on every numeric column, and the step."""
    keep = np.ones(len(export), dtype=bool)
    reasons: dict[str, int] = {}
    for name in NUMERIC_COLUMNS:
        values = export.columns[name]
        low, high = np.percentile(values, [25, 75])
        spread = IQR_FACTOR * (high - low)
        inside = (values >= low - spread) & (values <= high + spread)
        outside_only_here = int((keep & ~inside).sum())
        if outside_only_here:
            reasons[f"outlier: {name}"] = outside_only_here
        keep &= inside
    step = CleaningStep(
        step=f"drop {IQR_FACTOR} x IQR outliers",
        rows_in=len(export),
        rows_out=int(keep.sum()),
        reasons=reasons,
    )
    return keep, step
