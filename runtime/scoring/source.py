"""An export's bytes between two offsets, handed out as blocks of whole lines or line by line.

Lines end as they do for a file opened with ``newline=""``: at ``\\n``, ``\\r\\n`` or a
lone ``\\r``. A block never splits a ``\\r\\n``, and a byte-order mark at the very
start of the file is skipped, as the ``utf-8-sig`` codec does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from runtime.scoring.export import ExportError

__all__ = ["BLOCK_BYTES", "Source"]

BLOCK_BYTES = 4 << 20
_BOM = b"\xef\xbb\xbf"


class Source:
    """Reads ``file`` from ``start`` to ``stop`` (the end when None); ``line`` counts lines taken."""

    def __init__(self, path: Path, file: BinaryIO, *, start: int = 0, stop: int | None = None,
                 first_line: int = 0, block_bytes: int = BLOCK_BYTES) -> None:
        self.path = path
        self.offset = start  # file offset of the next byte handed out
        self.line = first_line
        self._file = file
        self._left = None if stop is None else stop - start
        self._buffer = b""
        self._pos = 0
        self._eof = False
        self._block_bytes = block_bytes
        file.seek(start)
        if start == 0 and self._fill(len(_BOM)) and self._buffer.startswith(_BOM):
            self._pos = self.offset = len(_BOM)

    def line_bytes(self, sample: int = 1 << 16) -> float:
        """Average bytes per line over the next ``sample`` bytes (reading them in if need be)."""
        if len(self._buffer) - self._pos < sample:
            self._fill(sample)
        head = self._buffer[self._pos:self._pos + sample]
        return len(head) / max(head.count(b"\n"), 1)

    def resize(self, block_bytes: int) -> None:
        """Hand out blocks of about ``block_bytes`` from now on."""
        self._block_bytes = max(block_bytes, 1)

    def _fill(self, size: int) -> bool:
        """Append up to ``size`` more bytes to the buffer; False at the end."""
        if self._eof:
            return False
        if self._left is not None:
            size = min(size, self._left)
        data = self._file.read(size) if size > 0 else b""
        if not data:
            self._eof = True
            return False
        if self._left is not None:
            self._left -= len(data)
        self._buffer = self._buffer[self._pos:] + data
        self._pos = 0
        return True

    def _take(self, end: int) -> bytes:
        data = self._buffer[self._pos:end]
        self._pos = end
        self.offset += len(data)
        return data

    def _cut(self, limit: int) -> int:
        """Where the last whole line before ``limit`` ends, or -1."""
        buffer = self._buffer
        newline = buffer.rfind(b"\n", self._pos, limit)
        ret = buffer.rfind(b"\r", self._pos, limit)
        if ret > newline:
            if ret + 1 < len(buffer):
                return ret + 2 if buffer[ret + 1] == 0x0A else ret + 1
            if self._eof:
                return ret + 1
        return newline + 1 if newline >= 0 else -1

    def block(self) -> bytes:
        """About ``block_bytes`` of whole lines; ``b""`` at the end."""
        while len(self._buffer) - self._pos < self._block_bytes and self._fill(self._block_bytes):
            pass
        if self._eof and len(self._buffer) - self._pos <= self._block_bytes:
            return self._take(len(self._buffer))
        end = self._cut(self._pos + self._block_bytes)
        while end < 0:  # one line longer than a block
            if not self._fill(self._block_bytes):
                return self._take(len(self._buffer))
            end = self._cut(len(self._buffer))
        return self._take(end)

    def _line_end(self) -> int:
        buffer, pos = self._buffer, self._pos
        newline = buffer.find(b"\n", pos)
        ret = buffer.find(b"\r", pos, newline if newline >= 0 else len(buffer))
        if ret >= 0:
            if ret + 1 < len(buffer):
                return ret + 2 if buffer[ret + 1] == 0x0A else ret + 1
            return ret + 1 if self._eof else -1
        if newline >= 0:
            return newline + 1
        return len(buffer) if self._eof and len(buffer) > pos else -1

    def lines(self) -> Iterator[str]:
        """The following lines, one at a time and only as asked for, line ends kept."""
        while True:
            end = self._line_end()
            while end < 0:
                filled = self._fill(self._block_bytes)
                end = self._line_end()
                if not filled and end < 0:
                    return
            raw = self._take(end)
            self.line += 1
            yield self.decode(raw, self.offset - len(raw))

    def decode(self, raw: bytes, offset: int) -> str:
        """``raw`` (found at file ``offset``) as text."""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ExportError(
                f"{self.path}: not UTF-8 text ({exc.reason} at byte {offset + exc.start})"
            ) from exc
