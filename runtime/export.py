"""Reading customer exports as delivered.

Exports come with a UTF-8 byte-order mark, every line sometimes wrapped in
double quotes as one field, missing values and short rows. The reader keeps
complete rows, column by column, and reports every other row with its line
number and the reason. Training and bulk scoring both read through here.

Every line is one record (a line with unbalanced quotes is a rejected row, not
the start of a multi-line field). Lines are parsed a chunk at a time, column
by column with NumPy; only the rows that fail are parsed again one by one, to
give their reason, so a million-row export reads in seconds.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
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


_BLANKS = re.compile(r"\s")


def _to_float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


@dataclass
class _Block:
    """The lines of one chunk: regular ones, read column-wise, and the rest, read row by row.

    A regular line holds no quote inside its fields and exactly one comma fewer
    than the header has columns; splitting it on commas reads it as the csv
    module would. Each line is one record.
    """

    width: int
    regular: list[str] = field(default_factory=list)
    regular_lines: list[int] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)

    def sort(self, lines: list[str], first: int) -> None:
        commas = self.width - 1
        for number, line in enumerate(lines, first):
            body = line.rstrip("\r\n")
            if '"' in body:
                if body.count('"') == 2 and body[0] == '"' and body[-1] == '"':
                    body = body[1:-1]  # the whole line wrapped in quotes as one field
                else:
                    self._quoted(number, body)
                    continue
            if body.count(",") == commas:
                self.regular.append(body)
                self.regular_lines.append(number)
            elif body.strip():
                self.rows.append(body.split(","))
                self.row_lines.append(number)

    def _quoted(self, number: int, body: str) -> None:
        try:
            row = _unwrap(next(csv.reader([body], strict=True), []))
        except csv.Error as exc:
            self.rejected.append(RejectedRow(number, "", f"malformed quoting: {exc}"))
            return
        self.rows.append(row)
        self.row_lines.append(number)


def _text_column(cells: np.ndarray, blanks: bool) -> np.ndarray:
    values = cells.astype(np.str_)
    return np.strings.strip(values) if blanks else values


def _number_column(cells: np.ndarray) -> np.ndarray:
    """Numbers of a column of strings, NaN where a cell is blank or not a number."""
    try:  # float() ignores surrounding blanks as the row parser's strip() does
        return cells.astype(np.float64)
    except ValueError:
        pass
    if len(cells) <= 64:
        return np.array([_to_float(cell) for cell in cells.tolist()], dtype=np.float64)
    # Halve until the bad cells are cornered: dirty rows are few, so this stays vectorized.
    half = len(cells) // 2
    return np.concatenate([_number_column(cells[:half]), _number_column(cells[half:])])


def _parse_block(block: _Block, index: dict[str, int]) -> ExportChunk:
    """Parse a block column by column; only the rows that fail are parsed one by one."""
    width = block.width
    joined = ",".join(block.regular)
    complete = [row for row in block.rows if len(row) == width]
    table = np.concatenate([
        np.array(joined.split(",") if block.regular else [], dtype=object).reshape(-1, width),
        np.array(complete, dtype=object).reshape(-1, width),
    ])
    lines = np.array(
        block.regular_lines
        + [n for n, row in zip(block.row_lines, block.rows, strict=True) if len(row) == width],
        dtype=np.int64,
    )
    blanks = bool(complete) or _BLANKS.search(joined) is not None
    columns = {name: _text_column(table[:, index[name]], blanks) for name in TEXT_COLUMNS}
    columns.update({name: _number_column(table[:, index[name]]) for name in NUMERIC_COLUMNS})
    suspect = np.zeros(len(table), dtype=bool)
    for name in TEXT_COLUMNS:
        suspect |= columns[name] == ""
    for name in NUMERIC_COLUMNS:
        suspect |= ~np.isfinite(columns[name])
    set_aside = [
        *zip(lines[suspect].tolist(), table[suspect].tolist(), strict=True),
        *((n, row) for n, row in zip(block.row_lines, block.rows, strict=True) if len(row) != width),
    ]
    rejected = list(block.rejected)
    for number, row in set_aside:
        if not any(cell.strip() for cell in row):
            continue
        customer = row[index["CustomerID"]].strip() if len(row) > index["CustomerID"] else ""
        reason = _parse_row(row, index)[2] or "unreadable row"
        rejected.append(RejectedRow(number, customer, reason))
    rejected.sort(key=lambda row: row.line)
    keep = np.flatnonzero(~suspect)
    keep = keep[np.argsort(lines[keep], kind="stable")]
    return ExportChunk({name: columns[name][keep] for name in COLUMNS}, lines[keep], rejected)


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
            index = _header_index(source, _unwrap(header), reader.line_num)
            yield from _read_rows(file, reader.line_num, index, chunk_rows)
        except UnicodeDecodeError as exc:
            raise ExportError(
                f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from exc
        except csv.Error as exc:
            raise ExportError(f"{source}: line {reader.line_num}: {exc}") from exc


def _read_rows(
    file: TextIO, header_line: int, index: dict[str, int], chunk_rows: int
) -> Iterator[ExportChunk]:
    first = header_line + 1
    produced = False
    while lines := list(itertools.islice(file, chunk_rows)):
        block = _Block(len(index))
        block.sort(lines, first)
        first += len(lines)
        yield _parse_block(block, index)
        produced = True
    if not produced:  # a header and no rows still give one, empty, chunk
        yield _parse_block(_Block(len(index)), index)


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

