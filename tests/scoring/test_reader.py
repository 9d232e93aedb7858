"""The column-wise reader gives what reading every line through the csv module gives.

The reference here reads the file as text, line by line, and sends every line
through the reader's own one-line path (the csv module and the export module's
row parser); the reader under test sends only the odd lines there.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest

from runtime.scoring.chunks import Rows, concat
from runtime.scoring.export import COLUMNS, ExportChunk, ExportError, _header_index, _unwrap, read_export
from runtime.scoring.reader import ExportReader, _odd_line
from tests.scoring.conftest import HEADER, row, write_export

# Field values that take every path: plain, decimal, signed, blank-padded, written
# oddly but read by float(), and refused for each reason.
NUMBERS = ["45", "0", "007", "45.5", "-3", "+2.25", ".5", "5.", "123456789012", "1234567890.12345",
           "1e5", "1_000", " 12 ", "inf", "nan", "", "n/a", "-", ".", "1.2.3", "12345678901234567890"]
TEXTS = ["F", "Mumbai", "Medium", " Night ", "", "Bengaluru ನಗರ", "New Delhi", "x" * 70,
         'say "hi"', "a,b"]


def _field(rng: np.random.Generator, name: str) -> str:
    values = NUMBERS if name not in ("CustomerID", "Gender", "City", "DiscountUsage",
                                     "PreferredShoppingTime") else TEXTS
    if rng.random() < 0.7:  # mostly well-formed rows, as in real exports
        return row()[COLUMNS.index(name)]
    return str(values[rng.integers(len(values))])


def _quote(field: str) -> str:
    return '"' + field.replace('"', '""') + '"' if any(c in field for c in ',"\n') else field


def _line(rng: np.random.Generator) -> str:
    kind = rng.integers(10)
    if kind == 0:
        return ""  # a blank line
    fields = [_field(rng, name) for name in COLUMNS]
    if kind == 1:
        fields = fields[: rng.integers(1, len(fields))]  # cut short
    elif kind == 2:
        fields.append("extra")
    text = ",".join(_quote(field) for field in fields)
    if kind < 8 and '"' not in text:
        text = f'"{text}"'  # wrapped as one field, as delivered
    return text


def _same(expected: ExportChunk, found: ExportChunk, seed: object) -> None:
    assert found.lines.tolist() == expected.lines.tolist(), seed
    assert found.rejected == expected.rejected, seed
    for name in COLUMNS:
        want, got = expected.columns[name], found.columns[name]
        assert got.dtype.kind == want.dtype.kind, (name, seed)
        assert got.tolist() == want.tolist(), (name, seed)
        if want.dtype.kind == "f":
            assert (np.signbit(got) == np.signbit(want)).all(), (name, seed)


def _reference(path: Path) -> ExportChunk:
    """Every line read through the csv-module path, one at a time."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExportError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    lines = io.StringIO(text, newline="")  # ends lines as files opened with newline="" do
    reader = csv.reader(lines, strict=True)
    header = next(reader, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(reader, None)
    if header is None:
        raise ExportError(f"{path}: the file is empty")
    index = _header_index(path, _unwrap(header), reader.line_num)
    rows = Rows()
    for number, line in enumerate(lines, reader.line_num + 1):
        _odd_line(rows, line.rstrip("\r\n"), number, index)
    return rows.chunk()


def _outcome(path: Path, block_bytes: int) -> ExportChunk | str:
    try:
        expected = _reference(path)
    except ExportError as exc:
        with pytest.raises(ExportError, match=re.escape(str(exc).split(" (")[0])):
            list(ExportReader(path, 7, block_bytes=block_bytes))
        return str(exc)
    chunks = list(ExportReader(path, 7, block_bytes=block_bytes))
    assert [c.rows_read for c in chunks[:-1]] == [7] * (len(chunks) - 1)
    _same(expected, concat(chunks), path)
    return expected


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_random_dirty_exports_read_as_the_reference_reads_them(
        tmp_path: Path, rng: np.random.Generator, newline: str) -> None:
    for attempt in range(40):
        lines = [_line(rng) for _ in range(int(rng.integers(1, 60)))]
        path = write_export(tmp_path / f"export-{attempt}.csv", lines, wrap=False, newline=newline)
        _outcome(path, block_bytes=int(rng.integers(16, 400)))


def test_the_shared_export_reads_as_the_reference_reads_it(customer_data: Path) -> None:
    result = _outcome(customer_data, block_bytes=1 << 20)
    assert isinstance(result, ExportChunk) and len(result) == 96
    assert read_export(customer_data).lines.tolist() == result.lines.tolist()


def test_every_line_is_one_record_even_inside_quotes(tmp_path: Path) -> None:
    lines = [",".join(row()), ",".join(row(CustomerID="C002")[:3]) + ',"Mum\nbai",'
             + ",".join(row()[4:]), ",".join(row(CustomerID="C003"))]
    path = write_export(tmp_path / "multiline.csv", lines, wrap=False)
    expected = _outcome(path, block_bytes=64)
    assert isinstance(expected, ExportChunk)
    assert expected.lines.tolist() == [2, 5]
    assert [(r.line, r.reason.split(":")[0]) for r in expected.rejected] == [
        (3, "malformed quoting"), (4, "truncated")]


def test_malformed_quoting_is_a_rejected_row(tmp_path: Path) -> None:
    path = write_export(tmp_path / "bad.csv", [",".join(row()), '"C002"x,1'], wrap=False)
    expected = _outcome(path, block_bytes=1 << 16)
    assert isinstance(expected, ExportChunk)
    assert [r.reason.split(":")[0] for r in expected.rejected] == ["malformed quoting"]


def test_a_header_alone_gives_one_empty_chunk(tmp_path: Path) -> None:
    chunks = list(ExportReader(write_export(tmp_path / "header.csv", [])))
    assert len(chunks) == 1 and len(chunks[0]) == 0 and chunks[0].rejected == []


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"\xef\xbb\xbf\n\n", "the file is empty"),
    (b'"CustomerID,Age"\n', "missing required column"),
    (HEADER.encode() + b"\nC001,\xff\xfe\n", "not UTF-8 text"),
])
def test_unreadable_files_raise_export_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ExportError, match=message):
        list(ExportReader(path))


def test_blocks_cover_every_row_once(tmp_path: Path) -> None:
    lines = [",".join(row(CustomerID=f"C{i:04d}")) for i in range(1000)] + ["C9,1"]
    path = write_export(tmp_path / "many.csv", lines)
    reader = ExportReader(path, chunk_rows=100)
    blocks = list(reader.blocks())
    assert sum(block.rows_read for block in blocks) == 1001
    assert reader.position == path.stat().st_size
    assert concat(blocks).columns["CustomerID"].tolist() == [f"C{i:04d}" for i in range(1000)]
