"""Encoding customers into the model's columns, as the bundle's feature specification says."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from runtime.bundle import FeatureSpec

__all__ = ["Encoder", "InvalidValue", "normalize"]


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
    table = {normalize(category): code for code, category in enumerate(spec.categories)}
    for alias, category in spec.aliases.items():
        table[normalize(alias)] = spec.categories.index(category)
    return table


class Encoder:
    """Turns customer columns into the model's raw columns (before standardization).

    Every field of the specification is validated, including those with weight 0;
    only weighted ones become columns. Categories are matched case-insensitively
    and through aliases; an unknown one is refused or, where the specification
    says ``neutral``, given the training mean so that it pulls towards no segment.
    """

    def __init__(self, features: Sequence[FeatureSpec], neutral: np.ndarray | None = None) -> None:
        self.features = tuple(features)
        self._lookups = {
            spec.field: _lookup(spec) for spec in self.features if spec.kind != "numeric"
        }
        self._plan: list[tuple[FeatureSpec, slice | None]] = []
        start = 0
        for spec in self.features:
            place = slice(start, start + spec.width) if spec.weight > 0 else None
            self._plan.append((spec, place))
            start = place.stop if place else start
        self.width = start
        self._neutral = neutral

    def codes(self, spec: FeatureSpec, values: Sequence[Any]) -> np.ndarray:
        """Category codes of ``values`` for a categorical feature, -1 for unknown ones."""
        lookup = self._lookups[spec.field]
        return np.array([lookup.get(normalize(v), -1) for v in values], dtype=np.intp)

    def _checked_codes(self, spec: FeatureSpec, values: Sequence[Any]) -> np.ndarray:
        codes = self.codes(spec, values)
        if spec.unknown == "reject" or self._neutral is None:
            unknown = np.flatnonzero(codes < 0)
            if unknown.size:
                index = int(unknown[0])
                raise InvalidValue(
                    spec.field,
                    index,
                    f"Unknown value {str(values[index])[:40]!r}, expected one of "
                    f"{', '.join(spec.categories)}",
                )
        return codes

    def transform(self, columns: Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Encode ``columns`` (field name to values, all of one length) into an (n, width) array."""
        n = len(next(iter(columns.values())))
        out = np.empty((n, self.width), dtype=np.float64)
        for spec, place in self._plan:
            values = columns[spec.field]
            if spec.kind == "numeric":
                if place is not None:
                    out[:, place.start] = values
                continue
            codes = self._checked_codes(spec, values)
            if place is None:
                continue
            if spec.kind == "one-hot":
                out[:, place] = np.eye(spec.width)[codes]
            else:
                out[:, place.start] = codes
            if self._neutral is not None and (codes < 0).any():
                out[codes < 0, place] = self._neutral[place]
        return out
