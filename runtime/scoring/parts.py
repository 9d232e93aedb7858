"""An export cut into parts that can be read apart: byte ranges of whole lines.

Each part knows how many lines come before it, so the line numbers of its
rows (and of the rows it rejects) are the file's. Parts are cut after a line
end, and every line is one record, so parts read apart read as the whole file.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

from runtime.scoring.chunks import concat, empty_chunk
from runtime.scoring.export import ExportChunk
from runtime.scoring.reader import open_export, read_header, read_records
from runtime.scoring.source import Source

__all__ = ["Layout", "Part", "plan_parts", "read_part"]

_PROBE = 1 << 16


@dataclass(frozen=True)
class Part:
    """Bytes ``start`` to ``stop`` of the file, after ``first_line`` lines."""

    start: int
    stop: int
    first_line: int


@dataclass(frozen=True)
class Layout:
    """Where an export's rows are: its header's columns and its parts."""

    path: str
    index: dict[str, int]
    parts: list[Part]


def _cut_after(path: str, offset: int, size: int) -> int:
    """The offset just after the first line end at or after ``offset`` (``size`` if none)."""
    with open(path, "rb") as file:
        file.seek(offset)
        while offset < size:
            data = file.read(_PROBE)
            if not data:
                break
            found = data.find(b"\n")
            if found >= 0:
                return offset + found + 1
            offset += len(data)
    return size


def _count_lines(path: str, start: int, stop: int) -> int:
    """Lines between two cuts, ending as :class:`Source` ends them."""
    source_path, file = open_export(path)
    with file:
        source = Source(source_path, file, start=start, stop=stop)
        count = 0
        while data := source.block():
            count += data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
            if data[-1:] not in (b"\n", b"\r"):
                count += 1  # the file's last line, without a line end
        return count


def plan_parts(path: str | os.PathLike[str], part_bytes: int) -> Layout:
    """Read the header and cut the rest into parts of about ``part_bytes``."""
    source_path, file = open_export(path)
    with file:
        size = os.fstat(file.fileno()).st_size
        source = Source(source_path, file)
        index = read_header(source)
        start, line = source.offset, source.line
    name = str(source_path)
    cuts = [start]
    while cuts[-1] < size:
        cuts.append(_cut_after(name, max(cuts[-1] + part_bytes - 1, cuts[-1]), size))
    parts: list[Part] = []
    for begin, end in itertools.pairwise(cuts):
        parts.append(Part(begin, end, line))
        line += _count_lines(name, begin, end)
    return Layout(name, index, parts)


def read_part(layout: Layout, part: Part) -> ExportChunk:
    """The rows of one part, kept and rejected, as one chunk."""
    source_path, file = open_export(layout.path)
    with file:
        source = Source(source_path, file, start=part.start, stop=part.stop,
                        first_line=part.first_line)
        chunks = [chunk for chunk in read_records(source, layout.index) if chunk.rows_read]
    return concat(chunks) if chunks else empty_chunk()
