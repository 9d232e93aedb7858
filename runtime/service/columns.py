"""Customers as columns, checked by the :class:`Customer` struct's own constraints.

Columnar requests (the Open Inference Protocol's tensors) skip building one struct per
customer; the rules come from the struct's declaration through ``msgspec.inspect``, so
that a column is refused exactly where ``POST /predict`` would refuse the same value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

import msgspec.inspect as mi
import numpy as np

from runtime.core.customer import Customer
from runtime.service.tensors import Values

__all__ = ["FIELDS", "ColumnError", "FieldRule", "checked"]


class ColumnError(ValueError):
    """A column's value that a customer cannot hold; names the field and the index."""

    def __init__(self, field: str, index: int, reason: str) -> None:
        super().__init__(f"input '{field}' index {index}: {reason}")
        self.field = field
        self.index = index


@dataclass(frozen=True)
class FieldRule:
    """One field of :class:`Customer`: its kind and its bounds, as the struct declares them."""

    name: str
    kind: str  # "int", "float" or "str"
    minimum: float | None = None
    maximum: float | None = None
    exclusive: tuple[bool, bool] = (False, False)  # gt / lt rather than ge / le
    pattern: re.Pattern[str] | None = None

    @property
    def expected(self) -> str:
        """What a value must be, in words."""
        if self.kind == "str":
            length = (f"{self.minimum or 0:g} to {self.maximum:g}" if self.maximum is not None
                      else f"at least {self.minimum or 0:g}")
            return f"text of {length} characters" + (
                f" matching {self.pattern.pattern!r}" if self.pattern else "")
        bounds = [f"{'>' if self.exclusive[0] else '>='} {self.minimum:g}"
                  if self.minimum is not None else "",
                  f"{'<' if self.exclusive[1] else '<='} {self.maximum:g}"
                  if self.maximum is not None else ""]
        noun = "a whole number" if self.kind == "int" else "a number"
        return " ".join([noun, " and ".join(b for b in bounds if b)]).strip()

    def check(self, values: Values) -> Values:
        """``values`` as a customer column (floats for numbers, text as it came), or raises
        :class:`ColumnError` at the first value the struct refuses.

        The smallest and largest values are checked first: only a refused column is
        searched value by value for the first offender.
        """
        if self.kind == "str":
            if not isinstance(values, list):
                raise ColumnError(self.name, 0, f"expected {self.expected} (BYTES), got numbers")
            lengths = list(map(len, values))
            if not values or (self._within(min(lengths)) and self._within(max(lengths)) and (
                    self.pattern is None or all(map(self.pattern.search, values)))):
                return values
            bad = self._outside(np.array(lengths))
            if self.pattern is not None:
                bad |= np.array([self.pattern.search(v) is None for v in values])
            self._refuse(values, bad)
        if isinstance(values, list):
            raise ColumnError(self.name, 0, f"expected {self.expected}, got text")
        fractional = values.dtype.kind == "f"
        if not len(values) or (self._within(values.min()) and self._within(values.max()) and (
                not fractional or self._finite(values))):
            return np.asarray(values, dtype=np.float64)
        bad = self._outside(values)
        if fractional:
            bad |= ~np.isfinite(values)
            if self.kind == "int":
                bad |= values != np.trunc(values)
        self._refuse(values, bad)

    def _finite(self, numbers: np.ndarray) -> bool:
        """No NaN or infinity, and whole numbers where the field is an integer."""
        if not np.isfinite(numbers).all():
            return False
        return self.kind != "int" or bool((numbers == np.trunc(numbers)).all())

    def _within(self, number: float) -> bool:
        """Whether ``number`` keeps the bounds (NaN keeps none)."""
        low, high = self.minimum, self.maximum
        if low is not None and not (number > low if self.exclusive[0] else number >= low):
            return False
        return high is None or bool(number < high if self.exclusive[1] else number <= high)

    def _outside(self, numbers: np.ndarray) -> np.ndarray:
        """Where ``numbers`` break the bounds (NaN breaks every bound)."""
        inside = np.ones(len(numbers), dtype=bool)
        if self.minimum is not None:
            inside &= numbers > self.minimum if self.exclusive[0] else numbers >= self.minimum
        if self.maximum is not None:
            inside &= numbers < self.maximum if self.exclusive[1] else numbers <= self.maximum
        return ~inside

    def _refuse(self, values: Values, bad: np.ndarray) -> NoReturn:
        index = int(np.argmax(bad))
        value = values[index]
        shown = value.item() if isinstance(value, np.generic) else value
        raise ColumnError(self.name, index, f"expected {self.expected}, got {shown!r}"[:200])


def _rule(field: mi.Field) -> FieldRule:
    kind = field.type
    while isinstance(kind, mi.Metadata):  # descriptions and examples: no constraint
        kind = kind.type
    if isinstance(kind, mi.StrType):
        return FieldRule(field.encode_name, "str", kind.min_length, kind.max_length,
                         pattern=re.compile(kind.pattern) if kind.pattern else None)
    if isinstance(kind, (mi.IntType, mi.FloatType)) and kind.multiple_of is None:
        return FieldRule(
            field.encode_name, "int" if isinstance(kind, mi.IntType) else "float",
            kind.gt if kind.gt is not None else kind.ge, kind.lt if kind.lt is not None else kind.le,
            (kind.gt is not None, kind.lt is not None),
        )
    # A constraint not applied here would let columns through that /predict refuses.
    raise TypeError(f"Customer.{field.name}: {kind!r} has no column rule; add one in {__name__}")


def _rules() -> tuple[FieldRule, ...]:
    info = mi.type_info(Customer)
    if not isinstance(info, mi.StructType):
        raise TypeError("Customer is expected to be a msgspec struct")
    return tuple(_rule(field) for field in info.fields)


FIELDS = _rules()


def checked(columns: Mapping[str, Values]) -> dict[str, Values]:
    """Every customer field's column, checked in the struct's field order."""
    return {rule.name: rule.check(columns[rule.name]) for rule in FIELDS}
