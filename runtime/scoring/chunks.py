"""Assembling export chunks: rows from a block in line order, then chunks of an exact size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from runtime.export import COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS, ExportChunk, RejectedRow

__all__ = ["Rows", "concat", "empty_chunk", "rechunk"]


def empty_chunk() -> ExportChunk:
    columns = {name: np.zeros(0, dtype=np.float64) for name in NUMERIC_COLUMNS}
    columns.update({name: np.zeros(0, dtype=np.str_) for name in TEXT_COLUMNS})
    return ExportChunk({name: columns[name] for name in COLUMNS}, np.zeros(0, dtype=np.int64), [])


class Rows:
    """The records of a block: kept rows, parsed as columns or one by one, and rejected rows."""

    def __init__(self) -> None:
        self._parts: list[ExportChunk] = []
        self._lines: list[int] = []
        self._text: list[list[str]] = []
        self._numbers: list[list[float]] = []
        self.rejected: list[RejectedRow] = []

    def add_columns(self, lines: np.ndarray, columns: dict[str, np.ndarray]) -> None:
        if len(lines):
            self._parts.append(ExportChunk(columns, lines.astype(np.int64)))

    def add_row(self, line: int, text: list[str], numbers: list[float]) -> None:
        self._lines.append(line)
        self._text.append(text)
        self._numbers.append(numbers)

    def chunk(self) -> ExportChunk:
        """Everything gathered, kept rows in line order."""
        parts = list(self._parts)
        if self._lines:
            count = len(self._lines)
            numbers = np.array(self._numbers, dtype=np.float64).reshape(count, len(NUMERIC_COLUMNS))
            columns = {name: numbers[:, i].copy() for i, name in enumerate(NUMERIC_COLUMNS)}
            for i, name in enumerate(TEXT_COLUMNS):
                columns[name] = np.array([row[i] for row in self._text], dtype=np.str_)
            parts.append(ExportChunk(columns, np.array(self._lines, dtype=np.int64)))
        merged = concat(parts) if parts else empty_chunk()
        if len(parts) > 1:
            order = np.argsort(merged.lines, kind="stable")
            merged = ExportChunk({name: values[order] for name, values in merged.columns.items()},
                                 merged.lines[order])
        merged.rejected = sorted(self.rejected, key=lambda row: row.line)
        return merged


def concat(chunks: list[ExportChunk]) -> ExportChunk:
    """One chunk holding ``chunks`` one after the other."""
    if len(chunks) == 1:
        return chunks[0]
    return ExportChunk(
        {name: np.concatenate([c.columns[name] for c in chunks]) for name in COLUMNS},
        np.concatenate([c.lines for c in chunks]),
        [row for c in chunks for row in c.rejected],
    )


def _split(chunk: ExportChunk, size: int) -> tuple[ExportChunk, ExportChunk]:
    """The first ``size`` rows of ``chunk`` (kept and rejected, in line order) and the rest."""
    rejected_lines = np.array([row.line for row in chunk.rejected[:size]], dtype=np.int64)
    last = np.sort(np.concatenate([chunk.lines[:size], rejected_lines]))[size - 1]
    kept = int(np.searchsorted(chunk.lines, last, side="right"))
    taken = size - kept
    head = ExportChunk({name: values[:kept] for name, values in chunk.columns.items()},
                       chunk.lines[:kept], chunk.rejected[:taken])
    tail = ExportChunk({name: values[kept:] for name, values in chunk.columns.items()},
                       chunk.lines[kept:], chunk.rejected[taken:])
    return head, tail


def rechunk(parts: Iterable[ExportChunk], size: int) -> Iterator[ExportChunk]:
    """Chunks of exactly ``size`` rows (the last one fewer) from ``parts``, given in line order."""
    if size < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {size}")
    pending: list[ExportChunk] = []
    count = 0
    for part in parts:
        if not part.rows_read:
            continue
        pending.append(part)
        count += part.rows_read
        while count >= size:
            head, tail = _split(concat(pending), size)
            yield head
            pending, count = [tail], count - size
    if count:
        yield concat(pending)
