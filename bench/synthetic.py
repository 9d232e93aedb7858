"""Synthetic customer exports of any size, drawn from a real export's customers.

Each synthetic customer is a real customer (picked at random among the complete
rows of the source export) with its numbers jittered by a few percent, so the
columns keep their distributions and their correlations. The file is written as
exports are delivered: a UTF-8 byte-order mark, every line wrapped in double
quotes as one field, and a few dirty rows (missing values, a word where a
number belongs, a last row cut short).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.scoring.export import COLUMNS, NUMERIC_COLUMNS, ExportChunk, read_export

__all__ = ["DEFECTS", "SyntheticExport", "write_synthetic_export"]

# Relative jitter and rounding step per numeric column.
_JITTER = 0.06
_ROUNDING = {
    "Age": 1,
    "AnnualIncome": 1000,
    "TotalSpent": 1000,
    "MonthlyPurchases": 1,
    "AvgOrderValue": 10,
    "AppTimeMinutes": 1,
}
# The defects planted in dirty rows, in turn, with the reason the reader gives.
DEFECTS = (
    ("AnnualIncome", "", "missing value"),
    ("AppTimeMinutes", "", "missing value"),
    ("DiscountUsage", "", "missing value"),
    ("TotalSpent", "n/a", "not a number"),
)
_CHUNK = 100_000


@dataclass(frozen=True)
class SyntheticExport:
    """The file written and what the reader should make of it."""

    path: Path
    rows: int
    rejected: Counter[str]  # reason kind (before the colon) -> rows

    @property
    def complete(self) -> int:
        return self.rows - sum(self.rejected.values())


def _columns(base: ExportChunk, picks: np.ndarray, rng: np.random.Generator) -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {}
    for name in COLUMNS:
        if name == "CustomerID":
            continue
        values = base.columns[name][picks]
        if name in NUMERIC_COLUMNS:
            jitter = rng.normal(1.0, _JITTER, size=len(picks)).clip(0.7, 1.3)
            step = _ROUNDING[name]
            values = np.maximum(np.rint(values * jitter / step) * step, step).astype(np.int64)
        columns[name] = values.astype(str).tolist()
    return columns


def write_synthetic_export(
    source: str | os.PathLike[str],
    path: str | os.PathLike[str],
    rows: int,
    seed: int = 0,
    dirty_every: int = 25_000,
) -> SyntheticExport:
    """Write ``rows`` synthetic customers drawn from ``source`` to ``path``.

    Every ``dirty_every``-th row carries one of :data:`DEFECTS`, and the last
    row is cut short, so the reader has something to reject at any size.
    """
    if rows < 2:
        raise ValueError(f"rows must be at least 2, got {rows}")
    out = Path(path)
    rng = np.random.default_rng(seed)
    base = read_export(source)
    if len(base) == 0:
        raise ValueError(f"{source}: no complete customer to draw from")
    rejected: Counter[str] = Counter()
    with open(out, "w", encoding="utf-8-sig", newline="") as file:
        file.write('"' + ",".join(COLUMNS) + '"\n')
        for start in range(0, rows, _CHUNK):
            count = min(_CHUNK, rows - start)
            picks = rng.integers(0, len(base), size=count)
            columns = _columns(base, picks, rng)
            columns["CustomerID"] = [f"C{start + i + 1:07d}" for i in range(count)]
            for row in range(count):
                number = start + row + 1
                if number % dirty_every == 0 and number != rows:
                    name, value, reason = DEFECTS[(number // dirty_every - 1) % len(DEFECTS)]
                    columns[name][row] = value
                    rejected[reason] += 1
            lines = [",".join(fields) for fields in zip(*(columns[n] for n in COLUMNS), strict=True)]
            if start + count == rows:
                lines[-1] = lines[-1].rsplit(",", 3)[0]  # cut short: three fields lost
                rejected["truncated"] += 1
            file.write("".join(f'"{line}"\n' for line in lines))
    return SyntheticExport(out, rows, rejected)
