"""Encoding customers into the model's columns, as the bundle's feature specification says."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np

from runtime.core.bundle import FeatureSpec
from runtime.core.feature_layout import FeatureLayout

__all__ = ["Column", "Encoder", "InvalidValue", "normalize"]

# One field's values in customer order: a list, or an array (numbers, or category codes).
Column = Sequence[Any] | np.ndarray
_NOT_FOUND = -2  # a spelling the lookup lacks (unknown values are -1)


def _is_codes(values: Column) -> bool:
    """Whether ``values`` are category codes already (from :meth:`Encoder.coded`)."""
    return isinstance(values, np.ndarray) and values.dtype.kind == "i"


class InvalidValue(ValueError):
    """A customer's field holds a value the model cannot take."""

    def __init__(self, field: str, index: int, reason: str) -> None:
        super().__init__(f"{reason} - at `$[{index}].{field}`")
        self.field = field
        self.index = index
        self.reason = reason


def normalize(value: str) -> str:
    """The spelling categories are matched on: case and surrounding blanks ignored."""
    return value.strip().casefold()


def _lookup(spec: FeatureSpec) -> dict[str, int]:
    """Every accepted spelling to its code, exact spellings included so they skip normalizing."""
    codes = {category: code for code, category in enumerate(spec.categories)}
    spellings = {category: category for category in spec.categories} | spec.aliases
    table = {normalize(spelling): codes[category] for spelling, category in spellings.items()}
    table.update({spelling: codes[category] for spelling, category in spellings.items()})
    return table


def _refuse(spec: FeatureSpec, index: int, value: object) -> None:
    shown = "" if isinstance(value, np.integer) else f" {str(value)[:40]!r}"
    raise InvalidValue(
        spec.field, index, f"Unknown value{shown}, expected one of {', '.join(spec.categories)}"
    )


class Encoder:
    """Turns customer columns into the model's raw columns (before standardization).

    Only weighted features become columns. Categorical fields whose unknown
    values are refused are validated even when they carry no weight; the rest
    of the unweighted fields are not looked at. Categories match
    case-insensitively and through aliases; an unknown one is refused or, where
    the specification says ``neutral``, given the training mean so that it
    pulls towards no segment.
    """

    def __init__(self, layout: FeatureLayout, neutral: np.ndarray | None = None) -> None:
        """``neutral`` holds each model column's value for an unknown category (the
        training means)."""
        self.layout = layout
        self.features = self.layout.features
        self.width = self.layout.width
        self._lookups = {
            spec.field: _lookup(spec) for spec in self.features if spec.kind != "numeric"
        }
        self._weighted = list(zip(self.layout.weighted, self.layout.starts.tolist(),
                                  self.layout.widths.tolist(), strict=True))
        self._validated = [
            spec for spec in self.layout.unweighted
            if spec.kind != "numeric" and spec.unknown == "reject"
        ]
        self._neutral = neutral
        # Categorical fields in the order transform checks them, so both refuse the same value.
        categorical = {spec.field: spec for spec in self.features if spec.kind != "numeric"}
        order = [spec.field for spec in self._validated] + [
            spec.field for spec in self.layout.weighted if spec.kind != "numeric"] + list(categorical)
        self._categorical = [categorical[field] for field in dict.fromkeys(order)]
        self.fields = tuple(dict.fromkeys(
            [*self.layout.fields, *(spec.field for spec in self._validated)]))

    def codes(self, spec: FeatureSpec, values: Column) -> np.ndarray:
        """Category codes of ``values`` for a categorical feature, -1 for unknown ones.

        Values that are codes already (an integer array, from :meth:`coded`) come back as they are.
        """
        return self._codes(spec, values)[0]

    def _codes(self, spec: FeatureSpec, values: Column) -> tuple[np.ndarray, bool]:
        """The codes, and whether an unknown value is among them."""
        if _is_codes(values):
            codes = np.asarray(values)
            # coded() has refused the unknown values of the fields that refuse them
            return codes, spec.unknown != "reject" and bool(codes.min(initial=0) < 0)
        # Most values are spelled as the lookup has them: one pass finds those; each other
        # distinct spelling (case, spaces, unknown) is then normalized once.
        lookup = self._lookups[spec.field]
        codes = np.fromiter(map(lookup.get, values, repeat(_NOT_FOUND)), dtype=np.intp,
                            count=len(values))
        rows = np.flatnonzero(codes == _NOT_FOUND)
        if not len(rows):
            return codes, False
        others = [values[row] for row in rows.tolist()]
        distinct = {value: lookup.get(normalize(value), -1) for value in set(others)}
        codes[rows] = np.fromiter(map(distinct.__getitem__, others), dtype=np.intp, count=len(others))
        return codes, -1 in distinct.values()

    def coded(self, columns: Mapping[str, Column]) -> dict[str, Column]:
        """``columns`` with each categorical field as category codes (-1 for unknown values).

        Encoding and drift both read codes, so each value is looked up once. Raises
        :class:`InvalidValue` for an unknown value of a field that refuses them.
        """
        coded = dict(columns)
        for spec in self._categorical:
            if spec.field in columns:
                codes, unknown = self._codes(spec, columns[spec.field])
                if unknown and spec.unknown == "reject":
                    self._refuse_unknown(spec, columns[spec.field], codes)
                coded[spec.field] = codes
        return coded

    def check(self, columns: Mapping[str, Sequence[str]]) -> None:
        """Raise :class:`InvalidValue` for the value :meth:`coded` would refuse first, coding
        nothing: one dictionary lookup per value, for requests checked one by one."""
        for spec in self._categorical:
            values = columns.get(spec.field)
            if spec.unknown != "reject" or values is None:
                continue
            lookup = self._lookups[spec.field]
            for index, value in enumerate(values):
                if value not in lookup and normalize(value) not in lookup:
                    _refuse(spec, index, value)

    def _refuse_unknown(self, spec: FeatureSpec, values: Column, codes: np.ndarray) -> None:
        """Raise :class:`InvalidValue` for the first unknown value."""
        index = int(np.flatnonzero(codes < 0)[0])
        _refuse(spec, index, values[index])

    def _columns(self, spec: FeatureSpec, start: int, width: int, values: Column) -> list[Column]:
        if spec.kind == "numeric":
            return [values]
        codes, unknown = self._codes(spec, values)
        if unknown and (spec.unknown == "reject" or self._neutral is None):
            self._refuse_unknown(spec, values, codes)
        offsets = range(width) if spec.kind == "one-hot" else [None]
        columns: list[Column] = []
        for offset in offsets:  # one-hot: one column per category; else the code itself
            column = (codes == offset if offset is not None else codes).astype(np.float64)
            if unknown:
                column[codes < 0] = self._neutral[start + (offset or 0)]  # type: ignore[index]
            columns.append(column)
        return columns

    def transform(self, columns: Mapping[str, Column]) -> np.ndarray:
        """Encode ``columns`` (field name to values, all of one length) into an (n, width) array.

        Raises :class:`InvalidValue` naming the first refused value's index and field.
        """
        for spec in self._validated:
            codes, unknown = self._codes(spec, columns[spec.field])
            if unknown:
                self._refuse_unknown(spec, columns[spec.field], codes)
        blocks: list[Column] = []
        for spec, start, width in self._weighted:
            blocks.extend(self._columns(spec, start, width, columns[spec.field]))
        # One conversion for all columns; the transposed view is as good as a copy downstream.
        return np.array(blocks, dtype=np.float64).T
