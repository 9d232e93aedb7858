"""The export reader: the shared file as delivered, and dirty files built line by line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runtime.scoring.checks import check, customer_rules
from runtime.scoring.export import (
    COLUMNS,
    NUMERIC_COLUMNS,
    TEXT_COLUMNS,
    ExportError,
    iter_export,
    read_export,
)
from runtime.scoring.reader import RawBatch, read_batches

HEADER = ",".join(COLUMNS)
CUSTOMER = {
    "CustomerID": "C001", "Age": "28", "Gender": "F", "City": "Mumbai",
    "AnnualIncome": "450000", "TotalSpent": "120000", "MonthlyPurchases": "6",
    "AvgOrderValue": "2000", "AppTimeMinutes": "45", "DiscountUsage": "Medium",
    "PreferredShoppingTime": "Night",
}


def line(columns: tuple[str, ...] = COLUMNS, **values: str) -> str:
    """One export line for CUSTOMER with ``values`` replacing its fields."""
    return ",".join({**CUSTOMER, **values}[name] for name in columns)


def write(tmp_path: Path, text: str | bytes, name: str = "export.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def reasons(path: Path) -> list[tuple[int, str, str]]:
    return [(row.line, row.customer_id, row.reason) for row in read_export(path).rejected]


# The shared export, as delivered


def test_the_shared_export_keeps_96_of_100_rows_and_says_why_4_are_set_aside(
    customer_data: Path,
) -> None:
    export = read_export(customer_data)
    assert export.rows_read == 100
    assert len(export) == 96
    assert reasons(customer_data) == [
        (5, "C004", "missing value: AnnualIncome"),
        (9, "C008", "missing value: AppTimeMinutes"),
        (16, "C015", "missing value: DiscountUsage"),
        (101, "C100", "truncated: 8 of 11 fields"),
    ]
    assert dict(export.rejection_counts()) == {"missing value": 3, "truncated": 1}


def test_the_shared_export_is_read_column_by_column_with_its_line_numbers(
    customer_data: Path,
) -> None:
    export = read_export(customer_data)
    assert set(export.columns) == set(COLUMNS)
    assert export.columns["CustomerID"][0] == "C001"  # no byte-order mark, no quote
    assert export.columns["Age"][0] == 28.0
    assert export.columns["City"][0] == "Bangalore"
    assert export.columns["PreferredShoppingTime"][0] == "Night"
    assert export.lines[:5].tolist() == [2, 3, 4, 6, 7]  # line 5 is C004, set aside
    for name in NUMERIC_COLUMNS:
        assert export.columns[name].dtype == np.float64
        assert np.isfinite(export.columns[name]).all()
    for name in TEXT_COLUMNS:
        assert export.columns[name].dtype.kind == "O"
        assert len(export.columns[name]) == 96


# Shapes a file comes in


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = write(tmp_path, ("\ufeff" + HEADER + "\n" + line() + "\n").encode())
    export = read_export(path)
    assert export.columns["CustomerID"].tolist() == ["C001"]


def test_every_line_quoted_as_one_field_is_read_as_its_fields(tmp_path: Path) -> None:
    text = f'"{HEADER}"\n"{line()}"\n"{line(CustomerID="C002", Age="35")}"\n'
    export = read_export(write(tmp_path, text))
    assert export.columns["CustomerID"].tolist() == ["C001", "C002"]
    assert export.columns["Age"].tolist() == [28.0, 35.0]
    assert export.rejected == []


def test_plain_csv_with_quoted_fields_is_read_too(tmp_path: Path) -> None:
    quoted = line(City='"Navi Mumbai, MH"', Gender='"F"')
    text = f"{HEADER}\n{line()}\n{quoted}\n"
    export = read_export(write(tmp_path, text))
    assert export.columns["City"].tolist() == ["Mumbai", "Navi Mumbai, MH"]
    assert export.columns["Gender"].tolist() == ["F", "F"]


def test_quotes_doubled_inside_a_quoted_line_are_read(tmp_path: Path) -> None:
    inner = line(City='"Navi Mumbai, MH"').replace('"', '""')
    export = read_export(write(tmp_path, f'"{HEADER}"\n"{inner}"\n'))
    assert export.columns["City"].tolist() == ["Navi Mumbai, MH"]


def test_crlf_line_endings(tmp_path: Path) -> None:
    text = f'"{HEADER}"\r\n"{line()}"\r\n{line(CustomerID="C002")}\r\n'
    export = read_export(write(tmp_path, text))
    assert export.columns["CustomerID"].tolist() == ["C001", "C002"]
    assert export.columns["PreferredShoppingTime"].tolist() == ["Night", "Night"]
    assert export.lines.tolist() == [2, 3]


def test_blank_lines_are_skipped_but_still_counted(tmp_path: Path) -> None:
    text = f"\n{HEADER}\n\n{line()}\n   \n\n{line(CustomerID='C002', Age='')}\n\n"
    path = write(tmp_path, text)
    export = read_export(path)
    assert export.lines.tolist() == [4]
    assert reasons(path) == [(7, "C002", "missing value: Age")]
    assert export.rows_read == 2


def test_columns_in_another_order_are_matched_by_name(tmp_path: Path) -> None:
    order = tuple(reversed(COLUMNS))
    text = ",".join(order) + "\n" + line(order) + "\n"
    export = read_export(write(tmp_path, text))
    for name in COLUMNS:
        expected = CUSTOMER[name] if name in TEXT_COLUMNS else float(CUSTOMER[name])
        assert export.columns[name].tolist() == [expected], name


def test_extra_columns_are_allowed_and_ignored(tmp_path: Path) -> None:
    text = f"{HEADER},Email\n{line()},a@example.com\n{line(CustomerID='C002')}\n"
    export = read_export(write(tmp_path, text))
    assert export.columns["CustomerID"].tolist() == ["C001"]
    assert reasons(tmp_path / "export.csv") == [(3, "C002", "truncated: 11 of 12 fields")]


def test_blanks_around_values_are_stripped(tmp_path: Path) -> None:
    text = f"{HEADER}\n{line(City='  Mumbai ', Age=' 28 ', Gender=' F')}\n"
    export = read_export(write(tmp_path, text))
    assert export.columns["City"].tolist() == ["Mumbai"]
    assert export.columns["Gender"].tolist() == ["F"]
    assert export.columns["Age"].tolist() == [28.0]


# Rows set aside, each with its line and reason


def test_missing_values_name_the_column(tmp_path: Path) -> None:
    rows = [
        line(CustomerID="C001", AnnualIncome=""),
        line(CustomerID="C002", City="  "),
        line(CustomerID="C003", DiscountUsage=""),
        line(CustomerID="C004", AppTimeMinutes=" "),
        line(CustomerID="C005"),
    ]
    path = write(tmp_path, '"' + HEADER + '"\n' + "".join(f'"{row}"\n' for row in rows))
    assert reasons(path) == [
        (2, "C001", "missing value: AnnualIncome"),
        (3, "C002", "missing value: City"),
        (4, "C003", "missing value: DiscountUsage"),
        (5, "C004", "missing value: AppTimeMinutes"),
    ]
    assert read_export(path).columns["CustomerID"].tolist() == ["C005"]


def test_a_missing_customer_id_is_a_missing_value(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n{line(CustomerID='')}\n")
    assert reasons(path) == [(2, "", "missing value: CustomerID")]


def test_short_rows_are_truncated(tmp_path: Path) -> None:
    short = line().rsplit(",", 3)[0]
    path = write(tmp_path, f'"{HEADER}"\n"{short}"\nC009\n')
    assert reasons(path) == [
        (2, "C001", "truncated: 8 of 11 fields"),
        (3, "C009", "truncated: 1 of 11 fields"),
    ]


def test_rows_with_too_many_fields_are_set_aside(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n{line()},extra\n{line(CustomerID='C002')}\n")
    assert reasons(path) == [(2, "C001", "too many fields: 12 of 11")]
    assert read_export(path).columns["CustomerID"].tolist() == ["C002"]


@pytest.mark.parametrize("value", ["n/a", "abc", "12 000", "0x10", "1.2.3"])
def test_a_word_where_a_number_belongs_is_not_a_number(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, f'"{HEADER}"\n"{line(TotalSpent=value)}"\n')
    assert reasons(path) == [(2, "C001", f"not a number: TotalSpent = {value!r}")]


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", "1_000", "\u0662\u0668", "+28", "028"])
def test_what_json_cannot_spell_as_a_number_is_not_a_number(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, f"{HEADER}\n{line(Age=value)}\n")
    assert reasons(path) == [(2, "C001", f"not a number: Age = {value!r}")]


@pytest.mark.parametrize(("value", "message"), [
    ("1e400", "Expected `int`, got `float` - at `$.Age`"),
    ("28.0", "Expected `int`, got `float` - at `$.Age`"),
    ("121", "Expected `int` <= 120 - at `$.Age`"),
])
def test_numbers_the_api_refuses_are_refused_with_its_message(
    tmp_path: Path, value: str, message: str
) -> None:
    path = write(tmp_path, f"{HEADER}\n{line(Age=value)}\n")
    assert reasons(path) == [(2, "C001", f"invalid value: {message}")]


def test_unbalanced_quotes_set_aside_only_their_line(tmp_path: Path) -> None:
    broken = '"C002,3"1,F'
    path = write(tmp_path, f"{HEADER}\n{line()}\n{broken}\n{line(CustomerID='C003')}\n")
    export = read_export(path)
    assert export.columns["CustomerID"].tolist() == ["C001", "C003"]
    [rejected] = export.rejected
    assert rejected.line == 3
    assert rejected.reason == "truncated: 2 of 11 fields"  # the quotes join two of its fields


def test_a_few_bad_cells_among_many_rows_are_each_found(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    # Every planted defect is found, wherever it falls, across batch boundaries.
    count = 3000
    bad = sorted(rng.choice(count, size=12, replace=False).tolist())
    defects = [("AvgOrderValue", "n/a", "not a number"), ("Gender", "", "missing value"),
               ("MonthlyPurchases", "", "missing value"), ("Age", "inf", "not a number")]
    lines, expected = [], []
    for number in range(count):
        values = {"CustomerID": f"C{number:05d}", "Age": str(20 + number % 50)}
        if number in bad:
            name, value, reason = defects[bad.index(number) % len(defects)]
            values[name] = value
            detail = f" = {value!r}" if value else ""
            expected.append((number + 2, values["CustomerID"], f"{reason}: {name}{detail}"))
        lines.append(f'"{line(**values)}"\n')
    path = write(tmp_path, f'\ufeff"{HEADER}"\n' + "".join(lines))
    chunks = list(iter_export(path, chunk_rows=700))
    assert len(chunks) == 5
    rejected = [(r.line, r.customer_id, r.reason) for c in chunks for r in c.rejected]
    assert rejected == expected
    export = read_export(path)
    assert len(export) == count - len(bad)
    assert export.lines.tolist() == [n + 2 for n in range(count) if n not in bad]
    assert export.columns["Age"].tolist() == [20.0 + n % 50 for n in range(count) if n not in bad]


def test_chunks_add_up_to_the_whole_export(tmp_path: Path) -> None:
    rows = [line(CustomerID=f"C{n:03d}", AppTimeMinutes="" if n % 7 == 3 else "45")
            for n in range(50)]
    path = write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    chunks = list(iter_export(path, chunk_rows=8))
    whole = read_export(path)
    assert len(chunks) == 7
    assert sum(len(chunk) for chunk in chunks) == len(whole) == 43
    assert np.concatenate([c.lines for c in chunks]).tolist() == whole.lines.tolist()
    assert [r.line for c in chunks for r in c.rejected] == [r.line for r in whole.rejected]


# Files that are not exports


def test_a_missing_required_column_names_the_file_and_the_column(tmp_path: Path) -> None:
    header = HEADER.replace(",AppTimeMinutes", "")
    path = write(tmp_path, f"{header}\n")
    with pytest.raises(ExportError) as error:
        read_export(path)
    assert str(path) in str(error.value)
    assert "missing required column AppTimeMinutes" in str(error.value)
    assert "line 1" in str(error.value)


def test_a_repeated_column_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, f"\n{HEADER},City\n")
    with pytest.raises(ExportError, match="line 2: repeated column City") as error:
        read_export(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n  \n"])
def test_an_empty_file_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ExportError, match="the file is empty") as error:
        read_export(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("tail", ["", "\n", "\n\n\n"])
def test_a_header_without_rows_reads_as_no_customers(tmp_path: Path, tail: str) -> None:
    export = read_export(write(tmp_path, f'"{HEADER}"{tail}'))
    assert len(export) == 0
    assert export.rejected == []
    assert set(export.columns) == set(COLUMNS)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
        HEADER.encode() + b"\nC001,28,F,M\xfcnchen,1,2,3,4,5,Low,Day\n",  # Latin-1, not UTF-8
    ],
    ids=["binary", "latin-1"],
)
def test_a_file_that_is_not_utf8_text_is_refused(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ExportError, match="not UTF-8 text") as error:
        read_export(path)
    assert str(path) in str(error.value)


def test_a_missing_file_or_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot open"):
        read_export(tmp_path / "absent.csv")
    with pytest.raises(ExportError, match="is a directory"):
        read_export(tmp_path)


def test_a_parquet_export_is_read_with_its_types_and_rows_numbered_from_1(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    values = {name: [CUSTOMER[name]] * 4 for name in COLUMNS}
    columns = {name: pa.array(values[name]) for name in TEXT_COLUMNS}
    columns |= {name: pa.array([float(CUSTOMER[name])] * 4) for name in NUMERIC_COLUMNS}
    columns["Age"] = pa.array([28, None, 28, 130], pa.int64())
    columns["MonthlyPurchases"] = pa.array([6, 6, 6, 6], pa.int64())
    columns["City"] = pa.array(["Mumbai", "Pune", " Delhi", "Mumbai"])
    path = tmp_path / "export.parquet"
    pq.write_table(pa.table(columns), path)
    export = read_export(path)
    assert export.lines.tolist() == [1, 3]
    assert export.columns["City"].tolist() == ["Mumbai", " Delhi"]  # Parquet cells are data
    assert reasons(path) == [(2, "C001", "missing value: Age"),
                             (4, "C001", "invalid value: Expected `int` <= 120 - at `$.Age`")]


def _typed(count: int) -> dict[str, Any]:
    """CUSTOMER ``count`` times as typed Arrow columns, as a Parquet export holds them."""
    pa = pytest.importorskip("pyarrow")
    columns = {name: pa.array([CUSTOMER[name]] * count) for name in TEXT_COLUMNS}
    columns |= {name: pa.array([float(CUSTOMER[name])] * count) for name in NUMERIC_COLUMNS}
    return columns | {name: pa.array([int(CUSTOMER[name])] * count)
                      for name in ("Age", "MonthlyPurchases")}


def test_small_parquet_row_groups_are_read_together_in_file_order(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    count = 10
    columns = _typed(count)
    columns["CustomerID"] = pa.array([f"C{number}" for number in range(1, count + 1)])
    columns["Gender"] = pa.array(["F", None, "M", "", "F", "x" * 17, "m", "F", "M", "F"])
    table = pa.table(columns)
    small, whole = tmp_path / "small.parquet", tmp_path / "whole.parquet"
    pq.write_table(table, small, row_group_size=3)
    pq.write_table(table, whole)
    batches = list(read_batches(small, batch_rows=7))
    # Groups of 3, 3, 3 and 1 rows: two batches, none over 7 rows, numbered as the file runs.
    assert [batch.numbers.tolist() for batch in batches] == [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10]]
    assert all(pa.types.is_dictionary(batch.columns["Gender"].type) for batch in batches)
    expected = [(2, "C2", "missing value: Gender"), (4, "C4", "missing value: Gender"),
                (6, "C6", "invalid value: Expected `str` of length <= 16 - at `$.Gender`")]
    assert reasons(small) == reasons(whole) == expected
    assert read_export(small).columns["Gender"].tolist() == ["F", "M", "F", "m", "F", "M", "F"]


def test_a_null_among_a_dictionary_s_values_is_a_missing_value() -> None:
    pa = pytest.importorskip("pyarrow")
    columns = _typed(3)
    columns["City"] = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int32()),
                                                     pa.array(["Pune", None]))
    batch = check(RawBatch(columns, np.arange(1, 4), trim=False), customer_rules())
    assert batch.lines.tolist() == [1, 3]
    assert [(row.line, row.reason) for row in batch.rejected] == [(2, "missing value: City")]
