"""Exports read with Apache Arrow, in record batches of bounded size: CSV as delivered, or Parquet.

A CSV goes through Arrow's streaming reader, every column as text, one line one
row (a line with unbalanced quotes is a rejected row, never the start of a
multi-line field). The delivered layout, each line wrapped in quotes as one
field, is read with quoting off and the wrapping quotes taken off the first and
last fields. Rows of the wrong width, and lines over the length limit, are set
aside with their line number and the reason. A Parquet file is read in batches
of rows with its own column types, category columns as dictionaries; its rows are
numbered from 1.
"""

from __future__ import annotations

import bisect
import heapq
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from runtime.scoring.arrays import strings
from runtime.scoring.columns import CATEGORY_COLUMNS, COLUMNS, ExportError, RejectedRow
from runtime.scoring.lines import (
    DEFAULT_LINE_LIMIT,
    SEPARATOR,
    BoundedLines,
    Header,
    HeaderError,
    read_header,
)

__all__ = ["BATCH_ROWS", "RawBatch", "csv_batches", "is_parquet", "read_batches"]

BATCH_ROWS = 65_536
_MIN_BLOCK = 4 << 20
_MARKER = b"\0"  # stands for a line over the limit; given as many commas as fields, never a row


@dataclass
class RawBatch:
    """Rows of the export's columns as Arrow arrays, each row's number, and the rows set aside."""

    columns: dict[str, pa.Array]
    numbers: np.ndarray  # line numbers (CSV) or row numbers (Parquet), one per row
    rejected: list[RejectedRow] = field(default_factory=list)
    position: int = 0  # bytes of the file read so far
    trim: bool = True  # CSV cells: blanks around them are layout, not data


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a Parquet file, by its extension."""
    return str(path).lower().endswith((".parquet", ".parq", ".pq"))


def _index(path: object, names: tuple[str, ...], line: int = 1) -> dict[str, int]:
    index = {name: position for position, name in enumerate(names)}
    if len(index) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise ExportError(f"{path}: line {line}: repeated column {', '.join(repeated)}")
    missing = [name for name in COLUMNS if name not in index]
    if missing:
        raise ExportError(f"{path}: line {line}: missing required column {', '.join(missing)} "
                          f"(header has {', '.join(names) or 'nothing'})")
    return index


class _Numbering:
    """Line numbers of the rows Arrow keeps: every line but the ones it skipped or set aside."""

    def __init__(self, first: int) -> None:
        self.next = first
        self.skipped: list[int] = []  # a heap: Arrow may report lines ahead of its batches

    def skip(self, line: int) -> None:
        heapq.heappush(self.skipped, line)

    def take(self, count: int) -> np.ndarray:
        """The numbers of the next ``count`` rows kept."""
        pieces = [np.zeros(0, dtype=np.int64)]
        while count:
            while self.skipped and self.skipped[0] < self.next:
                heapq.heappop(self.skipped)
            stop = self.next + count
            if self.skipped and self.skipped[0] < stop:
                stop = heapq.heappop(self.skipped)
                pieces.append(np.arange(self.next, stop, dtype=np.int64))
                count -= stop - self.next
                self.next = stop + 1
            else:
                pieces.append(np.arange(self.next, stop, dtype=np.int64))
                count = 0
                self.next = stop
        return np.concatenate(pieces)


def _physical(row: int, empty: list[int]) -> int:
    """The line number of Arrow's ``row``-th line counted without the ``empty`` ones it skips."""
    line = row
    while (before := bisect.bisect_right(empty, line)) != line - row:
        line = row + before
    return line


def csv_batches(path: object, file: BinaryIO, limit: int, header: Header | None = None
                ) -> Iterator[RawBatch]:
    """The CSV rows of ``file``, in Arrow's blocks; ``path`` names it in errors.

    Without ``header``, the file starts with it; with one (a part of a file read
    from its middle), the lines of ``file`` are numbered from 1.
    """
    start = 0
    if header is None:
        try:
            header = read_header(file, limit)
        except HeaderError as exc:
            raise ExportError(f"{path}: {exc}") from exc
        start = header.size
    index = _index(path, header.names, header.line)
    width = len(header.names)
    marker = _MARKER + b"," * width
    first = header.line + 1 if start else 1
    lines = BoundedLines(file, limit, marker, first_line=first, unquote=header.wrapped)
    lines.position = start
    numbering = _Numbering(first)
    rejected: list[RejectedRow] = []
    at = index["CustomerID"]

    def invalid(row: Any) -> str:
        number = _physical(int(row.number) + first - 1, lines.empty_lines)
        numbering.skip(number)
        if not row.text.strip():  # a blank line, skipped as an empty one is
            return "skip"
        if number in lines.long_lines:
            reason = f"line too long: {lines.long_lines[number]:,} bytes, the limit is {limit:,}"
        elif "\n" in row.text or row.text.count('"') % 2:
            reason = "unbalanced quotes"
            for extra in range(1, row.text.count("\n") + 1):
                numbering.skip(number + extra)
        elif row.actual_columns < row.expected_columns:
            reason = f"truncated: {row.actual_columns} of {width} fields"
        else:
            reason = f"too many fields: {row.actual_columns} of {width}"
        fields = row.text.split(",") if number not in lines.long_lines else []
        customer = fields[at].strip().strip('"') if at < len(fields) else ""
        rejected.append(RejectedRow(number, customer[:64], reason))
        return "skip"

    seen_empty = 0
    try:
        reader = _arrow_reader(lines, header, invalid, limit + len(marker))
        for batch in reader:
            for line in lines.empty_lines[seen_empty:]:
                numbering.skip(line)
            seen_empty = len(lines.empty_lines)
            arrays = _unwrapped(batch.columns, lines.unquoted) if header.wrapped else batch.columns
            numbers = numbering.take(batch.num_rows)
            taken = [row for row in rejected if row.line < numbering.next]
            rejected[:] = [row for row in rejected if row.line >= numbering.next]
            yield RawBatch({name: arrays[index[name]] for name in COLUMNS}, numbers,
                           sorted(taken, key=lambda row: row.line), lines.position)
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return  # a header and nothing else
        reason = "not UTF-8 text" if "UTF8" in str(exc) else "cannot be read"
        raise ExportError(f"{path}: {reason} ({exc})") from exc
    if rejected:
        empty = {name: strings([]) for name in COLUMNS}
        yield RawBatch(empty, np.zeros(0, dtype=np.int64), sorted(rejected, key=lambda r: r.line),
                       lines.position)


def _arrow_reader(lines: BoundedLines, header: Header, invalid: Any, longest: int
                  ) -> pacsv.CSVStreamingReader:
    """Arrow's streaming reader over ``lines``, every column as text."""
    names = [f"f{position}" for position in range(len(header.names))]
    return pacsv.open_csv(
        lines,
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False,
                                       block_size=max(_MIN_BLOCK, 2 * longest + 2)),
        parse_options=pacsv.ParseOptions(quote_char=False if header.wrapped else '"',
                                         newlines_in_values=False, ignore_empty_lines=True,
                                         invalid_row_handler=invalid),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                             strings_can_be_null=False),
    )


def _unwrapped(arrays: list[pa.Array], unquoted: bool) -> list[pa.Array]:
    """The fields of lines wrapped in quotes: the outer quotes off, inner commas put back."""
    arrays = list(arrays)
    first, last = arrays[0], arrays[-1]
    arrays[0] = pc.if_else(pc.starts_with(first, '"'), pc.utf8_slice_codeunits(first, 1), first)
    arrays[-1] = pc.if_else(pc.ends_with(last, '"'), pc.utf8_slice_codeunits(last, 0, -1), last)
    if unquoted:  # some line of the file held quoted fields (see unwrap_quoted)
        arrays = [pc.replace_substring(array, SEPARATOR, ",") for array in arrays]
    return arrays


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[RawBatch]:
    try:
        metadata = pq.read_metadata(path)
        _index(path, tuple(metadata.schema.to_arrow_schema().names))
        # Category columns stay dictionaries, as Parquet stores them: decoding them to one
        # string per row cost more than the rest of the reading (measured: 143 ms of 240
        # per million rows), and scoring dictionary-encodes them again anyway.
        file = pq.ParquetFile(path, metadata=metadata, read_dictionary=CATEGORY_COLUMNS)
    except (pa.ArrowException, OSError) as exc:
        raise ExportError(f"{path}: not a readable Parquet file ({exc})") from exc
    start = 1
    size = max(file.metadata.num_rows, 1)
    file_bytes = path.stat().st_size
    for batch in _record_batches(file, batch_rows):
        numbers = np.arange(start, start + batch.num_rows, dtype=np.int64)
        start += batch.num_rows
        columns = {name: batch.column(name) for name in COLUMNS}
        yield RawBatch(columns, numbers, [], int(file_bytes * (start - 1) / size), trim=False)


def _record_batches(file: pq.ParquetFile, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The export's columns in batches of at most ``batch_rows`` rows, in file order: a
    large row group streamed on its own, consecutive small ones read together."""
    # A reader per group: a single reader over the whole file holds on to memory as it goes
    # (measured: 146 MB at 1M rows, 193 MB at 4M), one per group does not. Small groups (a
    # writer called per block makes them) are merged, as each batch costs a fixed share of
    # checking and scoring: 58 groups of 17k rows were checked in 93 ms of CPU, the same
    # rows merged into 19 batches in 59 ms.
    metadata = file.metadata
    groups: list[int] = []
    rows = 0
    for group in range(metadata.num_row_groups):
        count = metadata.row_group(group).num_rows
        if groups and rows + count > batch_rows:
            yield from _read_groups(file, groups, batch_rows)
            groups, rows = [], 0
        groups.append(group)
        rows += count
    if groups:
        yield from _read_groups(file, groups, batch_rows)


def _read_groups(file: pq.ParquetFile, groups: list[int], batch_rows: int
                 ) -> Iterator[pa.RecordBatch]:
    if len(groups) == 1:
        yield from file.iter_batches(batch_size=batch_rows, row_groups=groups, columns=list(COLUMNS))
    else:  # at most batch_rows rows in all; dictionaries of the groups merged into one
        yield from file.read_row_groups(groups, columns=list(COLUMNS)).combine_chunks().to_batches()


def _sliced(batches: Iterator[RawBatch], rows: int) -> Iterator[RawBatch]:
    """``batches`` cut to at most ``rows`` rows each, rejected rows with the slice they fall in."""
    for batch in batches:
        count = len(batch.numbers)
        if count <= rows:
            yield batch
            continue
        rejected = batch.rejected
        for start in range(0, count, rows):
            numbers = batch.numbers[start:start + rows]
            last = start + rows >= count
            mine = rejected if last else [row for row in rejected if row.line < numbers[-1]]
            rejected = [] if last else rejected[len(mine):]
            columns = {name: array.slice(start, rows) for name, array in batch.columns.items()}
            yield RawBatch(columns, numbers, mine, batch.position, batch.trim)


def read_batches(path: str | os.PathLike[str], *, limit: int = DEFAULT_LINE_LIMIT,
                 batch_rows: int = BATCH_ROWS) -> Iterator[RawBatch]:
    """The export at ``path`` in batches; raises :class:`ExportError` naming the file."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{path}: is a directory, not an export file")
    if is_parquet(path):
        yield from _sliced(_parquet_batches(path, batch_rows), batch_rows)
        return
    try:
        with open(path, "rb") as file:
            yield from _sliced(csv_batches(path, file, limit), batch_rows)
    except OSError as exc:
        opening = isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError)
        raise ExportError(f"{path}: cannot {'open' if opening else 'read'} ({exc.strerror})") from exc
