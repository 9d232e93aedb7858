"""Reading customer exports as delivered, for training and bulk scoring alike.

Exports come as CSV with a UTF-8 byte-order mark, every line sometimes wrapped
in double quotes as one field, missing values and short rows, or as Parquet.
The reader (:mod:`runtime.scoring.reader`, on Apache Arrow) keeps the rows the
API would take (:mod:`runtime.scoring.checks`), column by column, and reports
every other row with its line number and the reason.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from runtime.scoring.checks import CheckedBatch, check, customer_rules
from runtime.scoring.columns import COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS, ExportError, RejectedRow
from runtime.scoring.lines import DEFAULT_LINE_LIMIT
from runtime.scoring.reader import BATCH_ROWS, read_batches

__all__ = [
    "COLUMNS",
    "NUMERIC_COLUMNS",
    "TEXT_COLUMNS",
    "ExportChunk",
    "ExportError",
    "RejectedRow",
    "iter_checked",
    "iter_export",
    "read_export",
]


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


def iter_checked(path: str | os.PathLike[str], *, limit: int = DEFAULT_LINE_LIMIT,
                 batch_rows: int = BATCH_ROWS) -> Iterator[CheckedBatch]:
    """The export in checked batches: the rows the API takes, and the others with reasons."""
    rules = customer_rules()
    for batch in read_batches(path, limit=limit, batch_rows=batch_rows):
        yield check(batch, rules)


def _chunk(batch: CheckedBatch) -> ExportChunk:
    columns = dict(batch.numbers)
    for name, values in batch.text.items():
        columns[name] = np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    return ExportChunk(columns, batch.lines, batch.rejected)


def iter_export(path: str | os.PathLike[str], chunk_rows: int = BATCH_ROWS) -> Iterator[ExportChunk]:
    """Read an export in chunks of at most ``chunk_rows`` rows (CSV: as Arrow's blocks cut it).

    Raises :class:`ExportError` for a file that is absent, empty, not text, or
    whose header lacks a required column.
    """
    return map(_chunk, iter_checked(path, batch_rows=chunk_rows))


def read_export(path: str | os.PathLike[str]) -> ExportChunk:
    """Read a whole export into one chunk."""
    chunks = list(iter_export(path))
    if len(chunks) == 1:
        return chunks[0]
    if not chunks:
        empty = {name: np.zeros(0) if name in NUMERIC_COLUMNS else np.zeros(0, dtype=object)
                 for name in COLUMNS}
        return ExportChunk(empty, np.zeros(0, dtype=np.int64))
    return ExportChunk(
        {name: np.concatenate([c.columns[name] for c in chunks]) for name in COLUMNS},
        np.concatenate([c.lines for c in chunks]),
        [row for c in chunks for row in c.rejected],
    )
