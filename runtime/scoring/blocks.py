"""Parsing a block of export lines column by column, in NumPy.

Only plainly regular lines are parsed here: ASCII, no quote but one pair
wrapping the whole line, exactly as many commas as the header, and fields
without surrounding blanks that hold what their column expects. The csv-module
path stays the reference for every other line: it keeps or rejects it, with the
reason (see :mod:`runtime.scoring.reader`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NO_KEY", "Lines", "Regular", "parse_regular", "split_lines"]

_NEWLINE, _RETURN, _QUOTE, _COMMA, _DOT, _MINUS, _PLUS = 10, 13, 34, 44, 46, 45, 43
_SPACE = 32  # str.strip() removes ASCII controls up to and including the space
_PAD = 64  # zero bytes around a block, so fixed-width windows never leave it
_NUMBER_BYTES = 15  # below 10**15 every digit string is an exact float64
_TEXT_BYTES = 64  # longer fields take the reference path
_POWERS = 10.0 ** np.arange(_NUMBER_BYTES + 1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_ZEROS = np.uint64(0x3030303030303030)  # eight '0' characters
_MASKS = np.array([(1 << (8 * count)) - 1 for count in range(9)], dtype=np.uint64)


@dataclass(frozen=True)
class Lines:
    """The lines of a block: where each starts, where its content ends, where the next starts."""

    starts: np.ndarray
    ends: np.ndarray
    nexts: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)


@dataclass(frozen=True)
class Regular:
    """The lines parsed here (indices into the block's lines, ascending) and their fields.

    ``keys`` holds each text field's first 16 bytes as two integers (zero-padded),
    which identify it exactly; a field longer than that gets :data:`NO_KEY`.
    """

    kept: np.ndarray
    fields: dict[int, np.ndarray]  # header position -> float64 or str array, one per kept line
    keys: dict[int, np.ndarray]  # header position -> (kept lines, 2) uint64, for text fields


NO_KEY = np.array([0, 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)  # no ASCII text has these bytes


def split_lines(data: bytes) -> Lines:
    """Split on ``\\n``, ``\\r\\n`` and a lone ``\\r``, as a file opened with ``newline=""`` does."""
    arr = np.frombuffer(data, dtype=np.uint8)
    size = len(arr)
    newlines = np.flatnonzero(arr == _NEWLINE)
    if b"\r" not in data:
        ends, nexts = newlines, newlines + 1
    else:
        returns = np.flatnonzero(arr == _RETURN)
        after = returns + 1
        paired = after < size
        paired[paired] = arr[after[paired]] == _NEWLINE
        crlf = np.zeros(len(newlines), dtype=bool)
        crlf[newlines > 0] = arr[newlines[newlines > 0] - 1] == _RETURN
        ends = np.concatenate([newlines - crlf, returns[~paired]])
        nexts = np.concatenate([newlines + 1, returns[~paired] + 1])
        order = np.argsort(ends, kind="stable")
        ends, nexts = ends[order], nexts[order]
    if size and (not len(nexts) or nexts[-1] < size):  # a last line without a line end
        ends = np.append(ends, size)
        nexts = np.append(nexts, size)
    starts = np.concatenate([[0], nexts[:-1]]).astype(np.int64) if len(nexts) else nexts
    return Lines(starts, ends.astype(np.int64), nexts.astype(np.int64))


def _per_line(positions: np.ndarray, lines: Lines) -> np.ndarray:
    """How many of the sorted byte ``positions`` fall in each line."""
    counts: np.ndarray = np.searchsorted(positions, lines.nexts) - np.searchsorted(
        positions, lines.starts)
    return counts


def _structure(arr: np.ndarray, lines: Lines, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which lines are regular, whether each is wrapped in quotes, and the regular lines' commas."""
    n = len(lines)
    starts, ends = lines.starts, lines.ends
    lengths = ends - starts
    regular = np.ones(n, dtype=bool)
    if n and int(arr.max(initial=0)) >= 0x80:  # non-ASCII lines take the reference path
        regular &= _per_line(np.flatnonzero(arr >= 0x80), lines) == 0
    is_quote = arr == _QUOTE
    total = int(np.count_nonzero(is_quote))
    # Two quotes per line, one first and one last: every line is wrapped, with no other quote.
    if total == 2 * n and n and (lengths >= 2).all() and (arr[starts] == _QUOTE).all() \
            and (arr[ends - 1] == _QUOTE).all():
        wrapped = np.ones(n, dtype=bool)
    elif not total:
        wrapped = np.zeros(n, dtype=bool)
    else:
        count = _per_line(np.flatnonzero(is_quote), lines)
        long_enough = lengths >= 2
        wrapped = (count == 2) & long_enough
        wrapped[long_enough] &= (arr[starts[long_enough]] == _QUOTE) & (
            arr[ends[long_enough] - 1] == _QUOTE)
        regular &= (count == 0) | wrapped
    commas = np.flatnonzero(arr == _COMMA)
    per_line = width - 1
    if per_line == 0:
        return regular, wrapped, np.zeros((int(regular.sum()), 0), dtype=np.int64)
    if len(commas) == per_line * n and n and (commas[0::per_line] > starts).all() \
            and (commas[per_line - 1::per_line] < ends).all():
        counts = np.full(n, per_line)
    else:
        counts = _per_line(commas, lines)
        regular &= counts == per_line
    if regular.all():
        return regular, wrapped, commas.reshape(-1, per_line)
    return regular, wrapped, commas[np.repeat(regular, counts)].reshape(-1, per_line)


def _words(padded: np.ndarray) -> np.ndarray:
    """The eight bytes from every offset of ``padded`` as one little-endian integer."""
    return np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))


def _low_bytes(count: np.ndarray) -> np.ndarray:
    """Per row, a mask of the ``count`` (0 to 8) low bytes of a word."""
    mask: np.ndarray = _MASKS[count]
    return mask


def _eight_digits(words: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The value of the last ``length`` (1 to 8) characters of each word, and whether all are digits.

    Characters before them become '0'; the arithmetic is the usual SWAR digit
    parse, eight characters at once in one 64-bit integer.
    """
    leading = _low_bytes(8 - length)
    words = (words & ~leading) | (_ZEROS & leading)
    high = np.uint64(0xF0F0F0F0F0F0F0F0)
    digits = ((words & high) | (((words + np.uint64(0x0606060606060606)) & high) >> np.uint64(4))
              ) == np.uint64(0x3333333333333333)
    value = ((words & np.uint64(0x0F0F0F0F0F0F0F0F)) * np.uint64(2561)) >> np.uint64(8)
    value = ((value & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(6553601)) >> np.uint64(16)
    value = ((value & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(42949672960001)) >> np.uint64(32)
    return value.astype(np.float64), digits


def _decimals(padded: np.ndarray, starts: np.ndarray, ends: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Fields with a sign or a decimal point, as ``float()`` reads them, and which ones qualify."""
    lengths = ends - starts
    size = max(1, min(int(lengths.max(initial=1)), _NUMBER_BYTES))
    view: np.ndarray = np.lib.stride_tricks.sliding_window_view(padded, size)
    chars = view[ends - size + _PAD]  # right-aligned: units in the last column
    position = np.arange(size)
    inside = position >= (size - lengths)[:, None]
    digits = chars - np.uint8(48)
    is_digit = (digits <= 9) & inside
    dots = (chars == _DOT) & inside
    first = chars[np.arange(len(chars)), np.clip(size - lengths, 0, size - 1)]
    signed = ((first == _MINUS) | (first == _PLUS)) & (lengths >= 2)
    count = is_digit.sum(axis=1)
    dot_count = dots.sum(axis=1)
    simple = (lengths <= _NUMBER_BYTES) & (count >= 1) & (dot_count <= 1) & (
        count + dot_count + signed == lengths)
    values = np.where(is_digit, digits, 0).astype(np.float64)
    weights = _POWERS[size - 1::-1]
    # Digits times powers of ten sum to integers below 2**53, hence exactly; one
    # correctly rounded division by a power of ten then gives what float() gives.
    mantissa = values @ weights
    point = np.where(dot_count > 0, dots.argmax(axis=1), size)
    left = values * (position < point[:, None]) @ weights
    mantissa = np.where(dot_count > 0, left / 10 + (mantissa - left), mantissa)
    mantissa = mantissa / _POWERS[np.where(dot_count > 0, size - 1 - point, 0)]
    return np.where(signed & (first == _MINUS), -mantissa, mantissa), simple


def _numbers(data: bytes, padded: np.ndarray, words: np.ndarray, starts: np.ndarray,
             ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each field as ``float(field.strip())`` reads it, and whether it is a finite number."""
    lengths = ends - starts
    numbers, digits = _eight_digits(words[ends - 8 + _PAD], np.clip(lengths, 1, 8))
    ok = digits & (lengths >= 1) & (lengths <= 8)
    longer = np.flatnonzero((lengths > 8) & (lengths <= _NUMBER_BYTES))
    if len(longer):
        high, high_digits = _eight_digits(words[ends[longer] - 16 + _PAD], lengths[longer] - 8)
        numbers[longer] += high * 1e8
        ok[longer] = digits[longer] & high_digits
    rest = np.flatnonzero(~ok & (lengths >= 1))
    if len(rest):
        values, simple = _decimals(padded, starts[rest], ends[rest])
        numbers[rest[simple]] = values[simple]
        ok[rest[simple]] = True
        for row in rest[~simple].tolist():
            if lengths[row] > _TEXT_BYTES:
                continue
            text = data[starts[row]:ends[row]].decode("ascii").strip()
            try:
                number = float(text)
            except ValueError:
                continue
            if np.isfinite(number):
                numbers[row], ok[row] = number, True
    return numbers, ok


def _texts(words: np.ndarray, starts: np.ndarray, ends: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each field as a str, whether it is non-empty, short and unpadded by blanks, and its key."""
    lengths = ends - starts
    size = max(1, min(int(lengths.max(initial=1)), _TEXT_BYTES))
    count = (size + 7) // 8
    stacked = np.empty((len(starts), count), dtype=np.uint64)
    for j in range(count):
        stacked[:, j] = words[starts + 8 * j + _PAD] & _low_bytes(np.clip(lengths - 8 * j, 0, 8))
    chars = stacked.view(np.uint8)[:, :size]
    last = chars[np.arange(len(chars)), np.clip(lengths - 1, 0, size - 1)]
    ok = (lengths >= 1) & (lengths <= _TEXT_BYTES) & (chars[:, 0] > _SPACE) & (last > _SPACE)
    # ASCII bytes widened to 32 bits are their UCS-4 code points: a str array without decoding.
    wide = chars.astype(np.uint32)
    texts = wide.view(np.dtype((np.str_, size))).reshape(len(chars))
    keys = np.zeros((len(starts), 2), dtype=np.uint64)
    keys[:, : min(count, 2)] = stacked[:, :2]
    keys[lengths > 16] = NO_KEY
    return texts, ok, keys


def parse_regular(data: bytes, lines: Lines, width: int, numeric: list[int], text: list[int]
                  ) -> Regular:
    """Parse the regular lines of ``data``; ``numeric`` and ``text`` are header positions."""
    arr = np.frombuffer(data, dtype=np.uint8)
    regular, wrapped, commas = _structure(arr, lines, width)
    index = np.flatnonzero(regular)
    shift = wrapped[index].astype(np.int64)
    first, last = lines.starts[index] + shift, lines.ends[index] - shift
    padded = np.zeros(len(arr) + 2 * _PAD, dtype=np.uint8)
    padded[_PAD:_PAD + len(arr)] = arr
    words = _words(padded)
    ok = np.ones(len(index), dtype=bool)
    fields: dict[int, np.ndarray] = {}
    keys: dict[int, np.ndarray] = {}
    for position in sorted(numeric + text):
        starts = first if position == 0 else commas[:, position - 1] + 1
        ends = last if position == width - 1 else commas[:, position]
        if position in numeric:
            fields[position], valid = _numbers(data, padded, words, starts, ends)
        else:
            fields[position], valid, keys[position] = _texts(words, starts, ends)
        ok &= valid
    if not ok.all():
        fields = {position: values[ok] for position, values in fields.items()}
        keys = {position: values[ok] for position, values in keys.items()}
    return Regular(index[ok], fields, keys)
