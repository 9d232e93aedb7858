"""Assembling export chunks: rows from a block in line order, then chunks of an exact size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from runtime.scoring.blocks import NO_KEY
from runtime.scoring.export import COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS, ExportChunk, RejectedRow

__all__ = ["KeyedChunk", "Rows", "concat", "empty_chunk", "rechunk"]


@dataclass
class KeyedChunk(ExportChunk):
    """A chunk that also carries each text field's key (see :class:`~runtime.scoring.blocks.Regular`).

    Keys let categories be matched as pairs of integers instead of strings.
    """

    keys: dict[str, np.ndarray] = field(default_factory=dict)  # text column -> (rows, 2) uint64


def empty_chunk() -> KeyedChunk:
    columns = {name: np.zeros(0, dtype=np.float64) for name in NUMERIC_COLUMNS}
    columns.update({name: np.zeros(0, dtype=np.str_) for name in TEXT_COLUMNS})
    keys = {name: np.zeros((0, 2), dtype=np.uint64) for name in TEXT_COLUMNS}
    return KeyedChunk({name: columns[name] for name in COLUMNS}, np.zeros(0, dtype=np.int64), [],
                      keys=keys)


class Rows:
    """The records of a block: kept rows, parsed as columns or one by one, and rejected rows."""

    def __init__(self) -> None:
        self._parts: list[KeyedChunk] = []
        self._lines: list[int] = []
        self._text: list[list[str]] = []
        self._numbers: list[list[float]] = []
        self.rejected: list[RejectedRow] = []

    def add_columns(self, lines: np.ndarray, columns: dict[str, np.ndarray],
                    keys: dict[str, np.ndarray]) -> None:
        if len(lines):
            self._parts.append(KeyedChunk(columns, lines.astype(np.int64), keys=keys))

    def add_row(self, line: int, text: list[str], numbers: list[float]) -> None:
        self._lines.append(line)
        self._text.append(text)
        self._numbers.append(numbers)

    def chunk(self) -> KeyedChunk:
        """Everything gathered, kept rows in line order."""
        parts = list(self._parts)
        if self._lines:
            count = len(self._lines)
            numbers = np.array(self._numbers, dtype=np.float64).reshape(count, len(NUMERIC_COLUMNS))
            columns = {name: numbers[:, i].copy() for i, name in enumerate(NUMERIC_COLUMNS)}
            for i, name in enumerate(TEXT_COLUMNS):
                columns[name] = np.array([row[i] for row in self._text], dtype=np.str_)
            keys = {name: np.tile(NO_KEY, (count, 1)) for name in TEXT_COLUMNS}  # compare as str
            parts.append(KeyedChunk(columns, np.array(self._lines, dtype=np.int64), keys=keys))
        merged = concat(parts) if parts else empty_chunk()
        if len(parts) > 1:
            order = np.argsort(merged.lines, kind="stable")
            merged = KeyedChunk({name: values[order] for name, values in merged.columns.items()},
                                merged.lines[order],
                                keys={name: values[order] for name, values in merged.keys.items()})
        merged.rejected = sorted(self.rejected, key=lambda row: row.line)
        return merged


def concat(chunks: list[KeyedChunk]) -> KeyedChunk:
    """One chunk holding ``chunks`` one after the other."""
    if len(chunks) == 1:
        return chunks[0]
    return KeyedChunk(
        {name: np.concatenate([c.columns[name] for c in chunks]) for name in COLUMNS},
        np.concatenate([c.lines for c in chunks]),
        [row for c in chunks for row in c.rejected],
        keys={name: np.concatenate([c.keys[name] for c in chunks]) for name in TEXT_COLUMNS},
    )


def _split(chunk: KeyedChunk, size: int) -> tuple[KeyedChunk, KeyedChunk]:
    """The first ``size`` rows of ``chunk`` (kept and rejected, in line order) and the rest."""
    rejected_lines = np.array([row.line for row in chunk.rejected[:size]], dtype=np.int64)
    last = np.sort(np.concatenate([chunk.lines[:size], rejected_lines]))[size - 1]
    kept = int(np.searchsorted(chunk.lines, last, side="right"))
    taken = size - kept
    head = KeyedChunk({name: values[:kept] for name, values in chunk.columns.items()},
                      chunk.lines[:kept], chunk.rejected[:taken],
                      keys={name: values[:kept] for name, values in chunk.keys.items()})
    tail = KeyedChunk({name: values[kept:] for name, values in chunk.columns.items()},
                      chunk.lines[kept:], chunk.rejected[taken:],
                      keys={name: values[kept:] for name, values in chunk.keys.items()})
    return head, tail


def rechunk(parts: Iterable[KeyedChunk], size: int) -> Iterator[KeyedChunk]:
    """Chunks of exactly ``size`` rows (the last one fewer) from ``parts``, given in line order."""
    if size < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {size}")
    pending: list[KeyedChunk] = []
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
