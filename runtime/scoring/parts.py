"""A CSV export cut into parts of whole lines, each read where it is scored (any fsspec URL).

The client plans parts from the file's size alone: part ``i`` owns the lines
that start in its byte range. A worker opens the file, streams its part
through the local engine's Arrow reader (lines over the limit stay rejected
rows, never memory) and hands the rows on as a pandas frame, made by Arrow: the columns as
text, each row's line within the part, and the reason of each row set aside.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, BinaryIO

import fsspec
import numpy as np
import pyarrow as pa

from runtime.scoring.columns import COLUMNS, RejectedRow
from runtime.scoring.lines import read_header
from runtime.scoring.reader import RawBatch, csv_batches

__all__ = ["LINE", "REASON", "Part", "PartStream", "plan_parts", "raw_batch", "read_part"]

LINE = "__line"  # a row's line within its part
REASON = "__reason"  # why the reader set a row aside; null for rows it kept
_SEEK_READ = 1 << 16


@dataclass(frozen=True)
class Part:
    """Bytes ``offset`` to ``offset + length`` of ``url``: the lines that start there."""

    url: str
    number: int
    offset: int
    length: int


def plan_parts(url: str, part_bytes: int) -> list[Part]:
    """The parts of the file at ``url``, from its size (nothing of it is read)."""
    fs, path = fsspec.core.url_to_fs(url)
    size = int(fs.size(path))
    offsets = range(0, max(size, 1), part_bytes)
    return [Part(url, number, offset, part_bytes) for number, offset in enumerate(offsets)]


class PartStream(io.RawIOBase):
    """The bytes of the lines that start within a part, streamed from an open file."""

    def __init__(self, file: BinaryIO, offset: int, length: int) -> None:
        super().__init__()
        self._file = file
        self._end = offset + length
        self._done = False
        position = 0
        if offset:  # the part starts after the line running through its first byte
            file.seek(offset - 1)
            position = offset - 1
            while (data := file.read(_SEEK_READ)) and (found := data.find(b"\n")) < 0:
                position += len(data)
            if not data:
                self._done = True
            else:
                position += found + 1
                file.seek(position)
        self._position = position
        self._done = self._done or position >= self._end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._done:
            return 0
        data = self._file.read(len(buffer))
        if not data:
            self._done = True
            return 0
        if self._position + len(data) >= self._end:  # the part's last line ends in here, or later
            end = data.find(b"\n", max(self._end - 1 - self._position, 0))
            if end >= 0:
                data = data[:end + 1]
                self._done = True
        self._position += len(data)
        buffer[:len(data)] = data
        return len(data)


def read_part(part: Part, limit: int) -> Any:
    """The rows of ``part``: text columns, line numbers within the part, and reasons."""
    with fsspec.open(part.url, "rb") as file:
        header = None
        if part.offset:
            header = read_header(file, limit)
        stream: Any = PartStream(file, part.offset, part.length)  # a binary file, as read
        tables = [_rows([], [], [])]  # the part's columns, even when it holds no row
        for batch in csv_batches(f"{part.url} (part {part.number})", stream, limit, header):
            kept = {name: batch.columns[name].cast(pa.string()) for name in COLUMNS}
            tables.append(pa.table({**kept, LINE: pa.array(batch.numbers, pa.int64()),
                                    REASON: pa.nulls(len(batch.numbers), pa.string())}))
            if batch.rejected:
                tables.append(_rows([row.customer_id for row in batch.rejected],
                                    [row.line for row in batch.rejected],
                                    [row.reason for row in batch.rejected]))
    # Arrow's sort is stable; the partition leaves as the pandas frame Dask expects.
    return pa.concat_tables(tables).sort_by(LINE).to_pandas()


def _rows(customer_ids: list[str], lines: list[int], reasons: list[str]) -> pa.Table:
    """Rows set aside: their id, line and reason, the other columns empty."""
    count = len(lines)
    columns = {name: pa.nulls(count, pa.string()) for name in COLUMNS}
    columns["CustomerID"] = pa.array(customer_ids, pa.string())
    return pa.table({**columns, LINE: pa.array(lines, pa.int64()), REASON: pa.array(reasons, pa.string())})


def raw_batch(frame: Any) -> RawBatch:
    """A partition as the reader's batch: rows with a reason become its rejected rows."""
    if LINE not in frame.columns:  # Parquet: rows numbered within the partition
        numbers = np.arange(1, len(frame) + 1, dtype=np.int64)
        columns = {name: pa.array(frame[name], from_pandas=True) for name in COLUMNS}
        return RawBatch(columns, numbers, trim=False)
    reasons = frame[REASON]
    set_aside = reasons.notna().to_numpy()
    kept = frame[~set_aside]
    rejected = [RejectedRow(int(line), str(customer), str(reason)) for line, customer, reason
                in zip(frame[LINE][set_aside], frame["CustomerID"][set_aside],
                       reasons[set_aside], strict=True)]
    columns = {name: pa.array(kept[name], type=pa.string(), from_pandas=True) for name in COLUMNS}
    return RawBatch(columns, kept[LINE].to_numpy(dtype=np.int64), rejected)
