"""The bytes of a CSV export before Arrow parses them: its header, and lines of bounded length.

An export's first line says how the rest is laid out (a byte-order mark, every
line wrapped in quotes as one field or not, which column is where); it is read
here with the standard :mod:`csv` module. :class:`BoundedLines` then hands the
rest of the file to Arrow with every line longer than a limit replaced by a
short marker line, so that one huge line costs a rejected row, never memory in
proportion to its length. It also notes which lines were empty, since Arrow skips
them, so that every row keeps its line number.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import BinaryIO

__all__ = [
    "BOM", "DEFAULT_LINE_LIMIT", "SEPARATOR", "BoundedLines", "Header", "HeaderError",
    "read_header", "unwrap_quoted",
]

BOM = b"\xef\xbb\xbf"
DEFAULT_LINE_LIMIT = 1 << 20  # 1 MB
SEPARATOR = "\x1f"  # stands for a comma inside a quoted field of a wrapped line
_CHUNK = 1 << 20


class HeaderError(ValueError):
    """The first line cannot be read as a header; the message says why."""


@dataclass(frozen=True)
class Header:
    """The export's column names, in file order, and whether each line is wrapped in quotes."""

    names: tuple[str, ...]
    wrapped: bool
    line: int  # its line number: blank lines before it are skipped
    size: int  # bytes up to the end of its line, any byte-order mark included


def read_header(file: BinaryIO, limit: int) -> Header:
    """The header at the start of ``file``, after any blank lines; raises :class:`HeaderError`."""
    size = number = 0
    text = ""
    while not text.strip():
        line = file.readline(limit + 1)
        if not line:
            raise HeaderError("the file is empty: no header line")
        if len(line.rstrip(b"\r\n")) > limit:
            raise HeaderError(f"line {number + 1}: longer than {limit:,} bytes")
        size += len(line)
        number += 1
        try:
            text = line.removeprefix(BOM).decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise HeaderError(f"line {number}: not UTF-8 text (byte {exc.start + 1})") from exc
    fields = next(csv.reader([text]))
    wrapped = len(fields) == 1 and "," in fields[0]
    if wrapped:  # the whole line is one quoted field holding the real ones
        fields = next(csv.reader([fields[0]]))
    return Header(tuple(name.strip() for name in fields), wrapped, number, size)


def unwrap_quoted(line: bytes) -> bytes:
    """A wrapped line holding quoted fields, as plain fields with their commas as ``SEPARATOR``.

    Arrow reads wrapped lines with quoting off, splitting at every comma; the
    few lines that quote a field inside (``"C1,""Navi Mumbai, MH"",..."``) are
    unwrapped here first so that each of their fields stays one.
    """
    end = line[len(line.rstrip(b"\r\n")):]
    try:
        [outer] = csv.reader([line[:len(line) - len(end)].decode("utf-8")])
        fields = next(csv.reader([outer[0]])) if len(outer) == 1 else outer
    except (UnicodeDecodeError, ValueError, csv.Error):
        return line  # not one wrapped line: Arrow and the checks judge it as it is
    return ",".join(field.replace(",", SEPARATOR) for field in fields).encode() + end


@dataclass
class BoundedLines(io.RawIOBase):
    """``source``'s bytes with each line over ``limit`` bytes replaced by ``marker``.

    Line numbers start at ``first_line`` for the first byte read. ``long_lines``
    maps each replaced line's number to its length, ``empty_lines`` lists the
    empty ones, and ``position`` counts the bytes of ``source`` consumed.
    """

    source: BinaryIO
    limit: int
    marker: bytes
    first_line: int
    unquote: bool = False  # wrapped lines: fields quoted inside them are unwrapped
    long_lines: dict[int, int] = field(default_factory=dict)
    empty_lines: list[int] = field(default_factory=list)
    position: int = 0
    unquoted: bool = False  # whether a line was unwrapped so

    def __post_init__(self) -> None:
        super().__init__()
        self._line = self.first_line  # the number of the line ``_pending`` belongs to
        self._pending = bytearray()  # the current line's bytes, held back until it ends
        self._skipped = 0  # bytes of a long line dropped so far, 0 while not skipping
        self._ready = bytearray()
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._ready and not self._done:
            self._fill()
        size = min(len(buffer), len(self._ready))
        buffer[:size] = self._ready[:size]
        del self._ready[:size]
        return size

    def _fill(self) -> None:
        data = self.source.read(min(_CHUNK, max(self.limit, 1)))
        self.position += len(data)
        if not data:
            self._done = True
            if self._skipped:
                self._end_long_line()
            elif self._pending:
                self._end_line(b"")
            return
        first = data.find(b"\n")
        start = 0
        if first >= 0:
            self._end(data[:first + 1])
            last = data.rfind(b"\n")
            middle = data[first:last + 1]  # whole lines, each shorter than a read, so than the limit
            if b"\n\n" in middle or b"\n\r\n" in middle or (self.unquote and b'""' in middle):
                start = first + 1  # an empty or quoting line among them: each is looked at
                while (end := data.find(b"\n", start)) >= 0:
                    self._end(data[start:end + 1])
                    start = end + 1
            else:
                self._ready += middle[1:]
                self._line += middle.count(b"\n") - 1
                start = last + 1
        rest = data[start:]
        if self._skipped:
            self._skipped += len(rest)
        elif len(self._pending) + len(rest) > self.limit:
            self._skipped = len(self._pending) + len(rest)
            self._pending.clear()
        else:
            self._pending += rest

    def _end(self, tail: bytes) -> None:
        """The current line, long or not, ends with ``tail``."""
        if self._skipped:
            self._skipped += len(tail.rstrip(b"\r\n"))
            self._end_long_line()
        else:
            self._end_line(tail)

    def _end_line(self, tail: bytes) -> None:
        """The current line ends with ``tail`` (its newline included, if it has one)."""
        length = len(self._pending) + len(tail.rstrip(b"\r\n"))
        if length > self.limit:
            self._skipped = length
            self._pending.clear()
            self._end_long_line()
            return
        if length == 0:
            self.empty_lines.append(self._line)
        line = bytes(self._pending) + tail
        if self.unquote and b'""' in line:
            line = unwrap_quoted(line)
            self.unquoted = True
        self._ready += line
        self._pending.clear()
        self._line += 1

    def _end_long_line(self) -> None:
        self.long_lines[self._line] = self._skipped
        self._ready += self.marker + b"\n"
        self._skipped = 0
        self._line += 1
