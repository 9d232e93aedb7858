"""The API's input constraints, checked on whole columns.

The bounds and lengths come from the request schema itself
(:class:`runtime.schemas.Customer`), so a customer refused by ``POST /predict``
is refused here too, with the API's own message. A CSV has no separate integer
type: a whole number written ``28.0`` is the customer the API knows as ``28``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
from msgspec import inspect

from runtime.core.customer import Customer

__all__ = ["Rule", "customer_rules", "invalid_rows", "refusal"]

_BOUNDS: tuple[tuple[str, Callable[[Any, Any], Any]], ...] = (
    ("gt", operator.gt), ("ge", operator.ge), ("lt", operator.lt), ("le", operator.le),
)


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
        bounds = tuple((bound, float(getattr(kind, bound))) for bound, _ in _BOUNDS
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


def invalid_rows(rules: list[Rule], columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """Which rows break a rule."""
    n = len(next(iter(columns.values())))
    invalid = np.zeros(n, dtype=bool)
    for rule in rules:
        values = columns[rule.field]
        if rule.whole:
            invalid |= np.floor(values) != values
        for bound, limit in rule.bounds:
            invalid |= ~dict(_BOUNDS)[bound](values, limit)
        low, high = rule.lengths
        widest = values.dtype.itemsize // 4 if values.dtype.kind == "U" else None
        if (low or 0) > 1 or (high is not None and (widest is None or widest > high)):
            lengths = np.strings.str_len(values)
            if low:
                invalid |= lengths < low
            if high is not None:
                invalid |= lengths > high
        elif low == 1 and len(values):  # an empty str is all padding: its first code point is 0
            points = np.ascontiguousarray(values).view(np.uint32).reshape(len(values), -1)
            invalid |= points[:, 0] == 0
    return invalid


def refusal(rules: list[Rule], row: Mapping[str, Any]) -> str | None:
    """The API's message for a customer it refuses, None if it takes it."""
    values = {
        rule.field: int(row[rule.field]) if rule.whole and float(row[rule.field]).is_integer()
        else row[rule.field]
        for rule in rules
    }
    try:
        msgspec.convert(values, Customer)
    except msgspec.ValidationError as exc:
        return str(exc)
    return None
