"""The API's verdict on every value of an export, applied to whole Arrow columns.

One set of rules, derived from the request schema (:class:`Customer`): which
fields are whole numbers, their bounds, the texts' lengths. A numeric cell is
read as the JSON number it spells (ASCII digits, no ``_``, no ``inf``): a cell
the API could not take as a number is refused, and one it takes as a
fraction where it wants a whole number is refused with its own message. Cells are
trimmed of the blanks and tabs around them (CSV layout, not data); anything else,
a NUL byte included, is kept as the API keeps it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from msgspec import inspect

from runtime.core.customer import Customer
from runtime.scoring.arrays import as_numpy, from_numpy
from runtime.scoring.columns import COLUMNS, TEXT_COLUMNS, RejectedRow
from runtime.scoring.reader import RawBatch

__all__ = ["CheckedBatch", "Rule", "check", "customer_rules", "refusal"]

_BOUNDS: dict[str, Callable[[Any, Any], Any]] = {
    "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le,
}
# JSON's number grammar (RFC 8259, section 6), and its integers.
NUMBER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
INTEGER = r"^-?(0|[1-9][0-9]*)$"
_BLANKS = " \t"


@dataclass(frozen=True)
class Rule:
    """One field's constraints: whole number or not, numeric bounds, or text length."""

    field: str
    whole: bool = False
    bounds: tuple[tuple[str, float], ...] = ()
    lengths: tuple[int | None, int | None] = (None, None)


def _rule(name: str, kind: inspect.Type) -> Rule:
    if isinstance(kind, inspect.Metadata):
        kind = kind.type
    if isinstance(kind, inspect.IntType | inspect.FloatType):
        if kind.multiple_of is not None:
            raise ValueError(f"Customer.{name}: multiple_of is not checked on columns")
        bounds = tuple((bound, float(getattr(kind, bound))) for bound in _BOUNDS
                       if getattr(kind, bound) is not None)
        return Rule(name, whole=isinstance(kind, inspect.IntType), bounds=bounds)
    if isinstance(kind, inspect.StrType):
        if kind.pattern is not None:
            raise ValueError(f"Customer.{name}: a pattern is not checked on columns")
        return Rule(name, lengths=(kind.min_length, kind.max_length))
    raise ValueError(f"Customer.{name}: {type(kind).__name__} is not checked on columns")


def customer_rules() -> list[Rule]:
    """The constraints of every field of :class:`Customer`."""
    info = inspect.type_info(Customer)
    if not isinstance(info, inspect.StructType):
        raise TypeError(f"Customer is inspected as {type(info).__name__}, not a struct")
    return [_rule(field.name, field.type) for field in info.fields]


def refusal(row: dict[str, Any]) -> str | None:
    """The API's message for a customer it refuses (values as JSON would carry them), or None."""
    try:
        msgspec.convert(row, Customer)
    except msgspec.ValidationError as exc:
        return str(exc)
    return None


@dataclass
class CheckedBatch:
    """The rows of a batch the API would take: numbers as floats, texts as Arrow strings
    (category columns read from Parquet as dictionaries of them)."""

    numbers: dict[str, np.ndarray]
    text: dict[str, pa.Array]
    lines: np.ndarray
    rejected: list[RejectedRow]
    position: int = 0

    def __len__(self) -> int:
        return len(self.lines)


def _mask(array: pa.Array) -> np.ndarray:
    return as_numpy(array, pa.uint8()).view(np.bool_)


def _floats(array: pa.Array) -> np.ndarray:
    return as_numpy(array, pa.float64(), 0.0)


def _nulls(column: pa.Array) -> np.ndarray:
    """Which cells are null, a dictionary's null values included."""
    dictionary = column.dictionary if pa.types.is_dictionary(column.type) else None
    if column.null_count == 0 and (dictionary is None or dictionary.null_count == 0):
        return np.zeros(len(column), dtype=bool)  # the usual case: no bitmap to unpack
    return _mask(pc.is_null(column))


def _is_text(kind: pa.DataType) -> bool:
    """Strings, or a dictionary of strings (a Parquet category column)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _lengths(column: pa.Array) -> np.ndarray:
    """Characters per cell, 0 for a null; a dictionary's values are each measured once."""
    if pa.types.is_dictionary(column.type):
        return as_numpy(pc.take(pc.utf8_length(column.dictionary), column.indices), pa.int64())
    return as_numpy(pc.utf8_length(column), pa.int64())


class _Verdicts:
    """The first reason each row is refused for, in the order the checks run."""

    def __init__(self, size: int) -> None:
        self.refused = np.zeros(size, dtype=bool)
        self.reasons: dict[int, str] = {}

    def add(self, rows: np.ndarray, reason: Callable[[int], str]) -> None:
        for row in np.flatnonzero(rows & ~self.refused).tolist():
            self.reasons[row] = reason(row)
        self.refused |= rows


def _missing(name: str, row: int) -> str:
    return f"missing value: {name}"


def _numeric(name: str, column: pa.Array, verdicts: _Verdicts) -> tuple[np.ndarray, np.ndarray]:
    """The column as floats, and which of its values are spelled as whole numbers."""
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        values = _floats(column)
        verdicts.add(_nulls(column), lambda row: f"missing value: {name}")
        return values, np.full(len(values), pa.types.is_integer(column.type))
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.string())
    verdicts.add((_lengths(column) == 0) | _nulls(column),
                 lambda row: f"missing value: {name}")
    # Most cells are plain integers: ASCII digits without a leading zero. Only when some
    # cell is not does the column go through the grammar's regular expressions.
    digits = _mask(pc.ascii_is_decimal(column)) & ~(
        _mask(pc.starts_with(column, "0")) & (as_numpy(pc.utf8_length(column), pa.int64()) > 1))
    if digits.all():
        return _floats(column), digits
    number = _mask(pc.match_substring_regex(column, NUMBER))
    verdicts.add(~number, lambda row: f"not a number: {name} = {str(column[row].as_py())[:40]!r}")
    spelled = pc.filter(column, from_numpy(number))
    values = np.zeros(len(number))
    values[number] = as_numpy(spelled, pa.float64())
    whole = digits.copy()
    whole[number] |= _mask(pc.match_substring_regex(spelled, INTEGER))
    return values, whole


def _json_value(rule: Rule, values: dict[str, Any], whole: dict[str, np.ndarray], row: int) -> Any:
    column = values[rule.field]
    if isinstance(column, pa.Array):
        return column[row].as_py()
    return int(column[row]) if whole[rule.field][row] else float(column[row])


def check(batch: RawBatch, rules: list[Rule]) -> CheckedBatch:
    """The rows of ``batch`` the API takes; each other row joins the rejected, with the reason."""
    size = len(batch.numbers)
    verdicts = _Verdicts(size)
    text: dict[str, pa.Array] = {}
    numbers: dict[str, np.ndarray] = {}
    whole: dict[str, np.ndarray] = {}
    lengths: dict[str, np.ndarray] = {}  # of the texts, measured once for both checks
    for name in COLUMNS:
        column = batch.columns[name]
        if batch.trim and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = pc.utf8_trim(column, _BLANKS)
        if name in TEXT_COLUMNS:
            if not _is_text(column.type):
                column = pc.cast(column, pa.string())
            lengths[name] = _lengths(column)
            missing = _nulls(column) | (lengths[name] == 0)
            verdicts.add(missing, partial(_missing, name))
            text[name] = column
        else:
            numbers[name], whole[name] = _numeric(name, column, verdicts)
    values: dict[str, Any] = {**text, **numbers}
    broken = np.zeros(size, dtype=bool)
    for rule in rules:
        if rule.whole:
            broken |= ~whole[rule.field]
        for bound, limit in rule.bounds:
            broken |= ~_BOUNDS[bound](numbers[rule.field], limit)
        low, high = rule.lengths
        if low is not None or high is not None:
            length = lengths[rule.field]
            broken |= (length < (low or 0)) | (length > (high if high is not None else np.inf))

    def message(row: int) -> str:
        customer = {rule.field: _json_value(rule, values, whole, row) for rule in rules}
        return f"invalid value: {refusal(customer) or 'refused by the API'}"

    verdicts.add(broken, message)
    keep = ~verdicts.refused
    ids = text["CustomerID"]
    rejected = list(batch.rejected) + [
        RejectedRow(int(batch.numbers[row]), str(ids[row].as_py())[:64], reason)
        for row, reason in verdicts.reasons.items()]
    if verdicts.refused.any():
        mask = from_numpy(keep)
        text = {name: pc.filter(column, mask) for name, column in text.items()}
        numbers = {name: column[keep] for name, column in numbers.items()}
    return CheckedBatch(numbers, text, batch.numbers[keep], sorted(rejected, key=lambda r: r.line),
                        batch.position)

