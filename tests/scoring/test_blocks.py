"""The column-wise parser reads numbers as float() does and splits lines as files do."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.scoring.blocks import parse_regular, split_lines


def _numbers(values: list[str]) -> tuple[list[float], list[bool]]:
    """``values`` as one numeric column of one-column lines, and which lines were kept."""
    data = "".join(f"{value}\n" for value in values).encode()
    regular = parse_regular(data, split_lines(data), 1, [0], [])
    kept = set(regular.kept.tolist())
    parsed = iter(regular.fields[0].tolist())
    return [next(parsed) if i in kept else float("nan") for i in range(len(values))], [
        i in kept for i in range(len(values))]


def _float(text: str) -> float | None:
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if np.isfinite(number) else None


def test_numbers_read_bit_for_bit_as_float_reads_them(rng: np.random.Generator) -> None:
    digits = rng.integers(0, 10, size=(4000, 18)).astype(str)
    values = []
    for row, length in zip(digits, rng.integers(1, 18, size=4000), strict=True):
        text = "".join(row[:length])
        point = int(rng.integers(-3, length + 1))
        if point >= 0:
            text = text[:point] + "." + text[point:]
        values.append(("-" if rng.random() < 0.2 else "") + text)
    values += ["0", "-0", "+5", ".5", "5.", "007", "1e5", "1_000", "inf", "nan", "-", ".", "+",
               "1.2.3", "--1", "1-", "999999999999999", "9007199254740993", "0.1", "123456.789"]
    parsed, kept = _numbers(values)
    for value, number, ok in zip(values, parsed, kept, strict=True):
        expected = _float(value)
        assert ok == (expected is not None), value
        if expected is not None:
            assert number == expected and np.signbit(number) == np.signbit(expected), value


@pytest.mark.parametrize(("data", "lines"), [
    (b"a\nb\n", [b"a", b"b"]),
    (b"a\r\nb", [b"a", b"b"]),
    (b"a\rb\r\r\nc\n\n", [b"a", b"b", b"", b"c", b""]),
    (b"", []),
    (b"\n", [b""]),
])
def test_lines_end_at_newline_crlf_and_lone_cr(data: bytes, lines: list[bytes]) -> None:
    found = split_lines(data)
    assert [data[s:e] for s, e in zip(found.starts.tolist(), found.ends.tolist(), strict=True)] \
        == lines


def test_odd_lines_are_left_to_the_reference_path() -> None:
    lines = [b'"a,1"', b"b,2", b'"c",3', b"d, 4", b" e,5", b"f,", b"g,1,2", b"h\xc3\xa9,6",
             b'"i,7', b"j,1e3"]
    data = b"\n".join(lines) + b"\n"
    regular = parse_regular(data, split_lines(data), 2, [1], [0])
    assert regular.kept.tolist() == [0, 1, 3, 9]  # " 4" and "1e3" are what float() reads
    assert regular.fields[0].tolist() == ["a", "b", "d", "j"]
    assert regular.fields[1].tolist() == [1.0, 2.0, 4.0, 1000.0]
