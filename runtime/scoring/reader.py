"""Reading an export fast, with the same results as :func:`runtime.export.read_export`.

Every line is one record, as the export module reads it. Regular lines are
parsed in blocks, column by column (:mod:`runtime.scoring.blocks`); every other
line is read as the export module reads it, through the csv module and its
row parser, so odd lines (embedded quotes, commas inside quoted fields,
unbalanced quotes) keep their exact reading and reasons.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from runtime.scoring.blocks import parse_regular, split_lines
from runtime.scoring.chunks import KeyedChunk, Rows, empty_chunk, rechunk
from runtime.scoring.export import (
    COLUMNS,
    NUMERIC_COLUMNS,
    TEXT_COLUMNS,
    ExportChunk,
    ExportError,
    RejectedRow,
    _header_index,
    _parse_row,
    _unwrap,
)
from runtime.scoring.source import BLOCK_BYTES, Source

__all__ = ["ExportReader", "open_export", "read_header", "read_records"]


def open_export(path: str | os.PathLike[str]) -> tuple[Path, BinaryIO]:
    """The file at ``path`` opened for reading; :class:`ExportError` if it cannot be."""
    source = Path(path)
    if source.is_dir():
        raise ExportError(f"{source}: is a directory, not an export file")
    try:
        return source, open(source, "rb")  # the caller closes it
    except OSError as exc:
        raise ExportError(f"{source}: cannot open ({exc.strerror})") from exc


def read_header(source: Source) -> dict[str, int]:
    """Read the header (skipping blank lines before it): column name to position."""
    reader = csv.reader(source.lines(), strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
    except csv.Error as exc:
        raise ExportError(f"{source.path}: line {source.line}: {exc}") from exc
    if header is None:
        raise ExportError(f"{source.path}: the file is empty")
    return _header_index(source.path, _unwrap(header), source.line)


def _cells(body: str) -> list[str] | str | None:
    """A line's cells as the export module reads them; a reason if it cannot; None if blank."""
    if '"' in body:
        if body.count('"') == 2 and body[0] == '"' and body[-1] == '"':
            body = body[1:-1]  # the whole line wrapped in quotes as one field
        else:
            try:
                return _unwrap(next(csv.reader([body], strict=True), []))
            except csv.Error as exc:
                return f"malformed quoting: {exc}"
    return body.split(",") if body.strip() else None


def _odd_line(rows: Rows, body: str, line: int, index: dict[str, int]) -> None:
    cells = _cells(body)
    if isinstance(cells, str):
        rows.rejected.append(RejectedRow(line, "", cells))
        return
    if cells is None or not any(cell.strip() for cell in cells):
        return
    text, numbers, reason = _parse_row(cells, index)
    if reason is None:
        rows.add_row(line, text, numbers)
    else:
        at = index["CustomerID"]
        customer = cells[at].strip() if len(cells) > at else ""
        rows.rejected.append(RejectedRow(line, customer, reason))


def _block_rows(source: Source, data: bytes, index: dict[str, int]) -> Rows:
    """The records of one block, whose first line follows ``source.line`` lines."""
    first = source.line
    offset = source.offset - len(data)
    lines = split_lines(data)
    source.line += len(lines)
    regular = parse_regular(data, lines, len(index), [index[name] for name in NUMERIC_COLUMNS],
                            [index[name] for name in TEXT_COLUMNS])
    odd = np.ones(len(lines), dtype=bool)
    odd[regular.kept] = False
    rows = Rows()
    for i in np.flatnonzero(odd).tolist():
        start, end = int(lines.starts[i]), int(lines.ends[i])
        _odd_line(rows, source.decode(data[start:end], offset + start), first + i + 1, index)
    rows.add_columns(first + 1 + regular.kept,
                     {name: regular.fields[index[name]] for name in COLUMNS},
                     {name: regular.keys[index[name]] for name in TEXT_COLUMNS})
    return rows


def read_records(source: Source, index: dict[str, int]) -> Iterator[KeyedChunk]:
    """Every record from ``source`` after the header, a block's worth at a time, in line order."""
    while data := source.block():
        yield _block_rows(source, data, index).chunk()


class ExportReader:
    """Reads an export's chunks as :func:`runtime.export.iter_export` does, only faster.

    Iterating gives chunks of exactly ``chunk_rows`` rows (the last one fewer);
    :meth:`blocks` gives chunks of about that many, skipping the cost of cutting
    them exactly. ``position`` tells how many bytes of the file have been read.
    """

    def __init__(self, path: str | os.PathLike[str], chunk_rows: int = 65536,
                 block_bytes: int | None = None) -> None:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        self.path = path
        self.chunk_rows = chunk_rows
        self._block_bytes = block_bytes
        self.position = 0

    def _records(self) -> Iterator[KeyedChunk]:
        path, file = open_export(self.path)
        with file:
            source = Source(path, file)
            index = read_header(source)
            # Blocks of about chunk_rows lines, within bounds that keep memory flat.
            estimate = int(self.chunk_rows * source.line_bytes() * 1.02) + 1
            source.resize(self._block_bytes or min(estimate, BLOCK_BYTES * 16))
            for chunk in read_records(source, index):
                self.position = source.offset
                yield chunk

    def blocks(self) -> Iterator[KeyedChunk]:
        """Chunks of about ``chunk_rows`` rows each, as the file's blocks give them."""
        return (chunk for chunk in self._records() if chunk.rows_read)

    def __iter__(self) -> Iterator[ExportChunk]:
        produced = False
        for chunk in rechunk(self._records(), self.chunk_rows):
            produced = True
            yield chunk
        if not produced:  # as iter_export: a header and no rows still give one, empty, chunk
            yield empty_chunk()
