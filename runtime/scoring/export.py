"""Reading customer exports as delivered.

Exports come with a UTF-8 byte-order mark, every line sometimes wrapped in
double quotes as one field, missing values and short rows. The reader keeps
complete rows, column by column, and reports every other row with its line
number and the reason. Training and bulk scoring both read through here.

Every line is one record (a line with unbalanced quotes is a rejected row, not
the start of a multi-line field). This module defines the columns and how one
row is read and judged (:func:`_parse_row`); :mod:`runtime.scoring.reader`
applies it column by column to blocks of the file with NumPy, and parses only
the odd lines one by one, so a million-row export reads in about half a second.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "COLUMNS",
    "NUMERIC_COLUMNS",
    "TEXT_COLUMNS",
    "ExportChunk",
    "ExportError",
    "RejectedRow",
    "iter_export",
    "read_export",
]

TEXT_COLUMNS = ("CustomerID", "Gender", "City", "DiscountUsage", "PreferredShoppingTime")
NUMERIC_COLUMNS = (
    "Age",
    "AnnualIncome",
    "TotalSpent",
    "MonthlyPurchases",
    "AvgOrderValue",
    "AppTimeMinutes",
)
COLUMNS = (
    "CustomerID",
    "Age",
    "Gender",
    "City",
    "AnnualIncome",
    "TotalSpent",
    "MonthlyPurchases",
    "AvgOrderValue",
    "AppTimeMinutes",
    "DiscountUsage",
    "PreferredShoppingTime",
)


class ExportError(Exception):
    """The file cannot be read as a customer export; the message names file and line."""


@dataclass(frozen=True)
class RejectedRow:
    line: int
    customer_id: str
    reason: str


@dataclass
class ExportChunk:
    """Complete rows of an export, one array per column, and the rows set aside."""

    columns: dict[str, np.ndarray]
    lines: np.ndarray
    rejected: list[RejectedRow] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def rows_read(self) -> int:
        return len(self.lines) + len(self.rejected)

    def rejection_counts(self) -> Counter[str]:
        """Rejected rows per kind of reason (the text before the first colon)."""
        return Counter(row.reason.split(":", 1)[0] for row in self.rejected)


def _unwrap(row: list[str]) -> list[str]:
    # A line wrapped in quotes as one field holds the real fields inside.
    if len(row) == 1 and "," in row[0]:
        return next(csv.reader([row[0]]))
    return row


def _header_index(path: Path, header: list[str], line: int = 1) -> dict[str, int]:
    names = [name.strip() for name in header]
    index = {name: position for position, name in enumerate(names)}
    if len(index) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise ExportError(f"{path}: line {line}: repeated column {', '.join(repeated)}")
    missing = [name for name in COLUMNS if name not in index]
    if missing:
        raise ExportError(
            f"{path}: line {line}: missing required column {', '.join(missing)} "
            f"(header has {', '.join(names) or 'nothing'})"
        )
    return index


def _parse_row(row: list[str], index: dict[str, int]) -> tuple[list[str], list[float], str | None]:
    width = len(index)
    if len(row) < width:
        return [], [], f"truncated: {len(row)} of {width} fields"
    if len(row) > width:
        return [], [], f"too many fields: {len(row)} of {width}"
    text = [row[index[name]].strip() for name in TEXT_COLUMNS]
    for name, value in zip(TEXT_COLUMNS, text, strict=True):
        if not value:
            return [], [], f"missing value: {name}"
    numbers: list[float] = []
    for name in NUMERIC_COLUMNS:
        value = row[index[name]].strip()
        if not value:
            return [], [], f"missing value: {name}"
        try:
            number = float(value)
        except ValueError:
            return [], [], f"not a number: {name} = {value[:40]!r}"
        if not np.isfinite(number):
            return [], [], f"not a finite number: {name} = {value[:40]!r}"
        numbers.append(number)
    return text, numbers, None


def iter_export(path: str | os.PathLike[str], chunk_rows: int = 65536) -> Iterator[ExportChunk]:
    """Read an export in chunks of ``chunk_rows`` rows (kept or rejected; the last one fewer).

    Raises :class:`ExportError` for a file that is absent, empty, not text, or
    whose header lacks a required column.
    """
    # The column-wise reader (shared with bulk scoring) builds on the row parser above.
    from runtime.scoring.reader import ExportReader

    return iter(ExportReader(path, chunk_rows))


def read_export(path: str | os.PathLike[str]) -> ExportChunk:
    """Read a whole export into one chunk."""
    chunks = list(iter_export(path))
    if len(chunks) == 1:
        return chunks[0]
    return ExportChunk(
        {name: np.concatenate([c.columns[name] for c in chunks]) for name in COLUMNS},
        np.concatenate([c.lines for c in chunks]),
        [row for c in chunks for row in c.rejected],
    )

