"""Reading customer exports as delivered.

Exports come with a UTF-8 byte-order mark, every line sometimes wrapped in
double quotes as one field, missing values and short rows. The reader keeps
complete rows, column by column, and reports every other row with its line
number and the reason. Training and bulk scoring both read through here.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

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


def _header_index(path: Path, header: list[str]) -> dict[str, int]:
    names = [name.strip() for name in header]
    index = {name: position for position, name in enumerate(names)}
    if len(index) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise ExportError(f"{path}: line 1: repeated column {', '.join(repeated)}")
    missing = [name for name in COLUMNS if name not in index]
    if missing:
        raise ExportError(
            f"{path}: line 1: missing required column {', '.join(missing)} "
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


def _chunk(
    text_rows: list[list[str]],
    number_rows: list[list[float]],
    lines: list[int],
    rejected: list[RejectedRow],
) -> ExportChunk:
    columns: dict[str, np.ndarray] = {}
    numbers = np.array(number_rows, dtype=np.float64).reshape(len(lines), len(NUMERIC_COLUMNS))
    for position, name in enumerate(NUMERIC_COLUMNS):
        columns[name] = numbers[:, position].copy()
    for position, name in enumerate(TEXT_COLUMNS):
        columns[name] = np.array([row[position] for row in text_rows], dtype=np.str_)
    return ExportChunk(columns, np.array(lines, dtype=np.int64), rejected)


def _open(source: Path) -> TextIO:
    try:
        return open(source, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ExportError(f"{source}: cannot open ({exc.strerror})") from exc


def iter_export(path: str | os.PathLike[str], chunk_rows: int = 65536) -> Iterator[ExportChunk]:
    """Read an export in chunks of at most ``chunk_rows`` rows (kept or rejected).

    Raises :class:`ExportError` for a file that is absent, empty, not text, or
    whose header lacks a required column.
    """
    source = Path(path)
    if source.is_dir():
        raise ExportError(f"{source}: is a directory, not an export file")
    with _open(source) as file:
        reader = csv.reader(file, strict=True)
        try:
            header = next(reader, None)
            while header is not None and not any(cell.strip() for cell in header):
                header = next(reader, None)
            if header is None:
                raise ExportError(f"{source}: the file is empty")
            index = _header_index(source, _unwrap(header))
            yield from _read_rows(source, reader, index, chunk_rows)
        except UnicodeDecodeError as exc:
            raise ExportError(
                f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from exc
        except csv.Error as exc:
            raise ExportError(f"{source}: line {reader.line_num}: {exc}") from exc


def _read_rows(
    source: Path, reader: Iterator[list[str]], index: dict[str, int], chunk_rows: int
) -> Iterator[ExportChunk]:
    text_rows: list[list[str]] = []
    number_rows: list[list[float]] = []
    lines: list[int] = []
    rejected: list[RejectedRow] = []
    line_num = getattr(reader, "line_num", 0)
    for raw in reader:
        line_num = reader.line_num  # type: ignore[attr-defined]
        if not any(cell.strip() for cell in raw):
            continue
        row = _unwrap(raw)
        text, numbers, reason = _parse_row(row, index)
        if reason is None:
            text_rows.append(text)
            number_rows.append(numbers)
            lines.append(line_num)
        else:
            customer = row[index["CustomerID"]].strip() if len(row) > index["CustomerID"] else ""
            rejected.append(RejectedRow(line_num, customer, reason))
        if len(lines) + len(rejected) >= chunk_rows:
            yield _chunk(text_rows, number_rows, lines, rejected)
            text_rows, number_rows, lines, rejected = [], [], [], []
    if lines or rejected or line_num <= 1:
        yield _chunk(text_rows, number_rows, lines, rejected)


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

