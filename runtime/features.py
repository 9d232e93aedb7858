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
    """Every accepted spelling to its code, exact spellings included so they skip normalizing."""
    codes = {category: code for code, category in enumerate(spec.categories)}
    spellings = {category: category for category in spec.categories} | spec.aliases
    table = {normalize(spelling): codes[category] for spelling, category in spellings.items()}
    table.update({spelling: codes[category] for spelling, category in spellings.items()})
    return table


class Encoder:
    """Turns customer columns into the model's raw columns (before standardization).

    Only weighted features become columns. Categorical fields whose unknown
    values are refused are validated even when they carry no weight; the rest
    of the unweighted fields are not looked at. Categories match
    case-insensitively and through aliases; an unknown one is refused or, where
    the specification says ``neutral``, given the training mean so that it
    pulls towards no segment.
    """

    def __init__(self, features: Sequence[FeatureSpec], neutral: np.ndarray | None = None) -> None:
        self.features = tuple(features)
        self._lookups = {
            spec.field: _lookup(spec) for spec in self.features if spec.kind != "numeric"
        }
        self._weighted: list[tuple[FeatureSpec, int]] = []
        start = 0
        for spec in self.features:
            if spec.weight > 0:
                self._weighted.append((spec, start))
                start += spec.width
        self.width = start
        self._validated = [
            spec for spec in self.features
            if spec.weight == 0 and spec.kind != "numeric" and spec.unknown == "reject"
        ]
        self._neutral = neutral
        self.fields = tuple(dict.fromkeys(
            [spec.field for spec, _ in self._weighted] + [spec.field for spec in self._validated]))

    def codes(self, spec: FeatureSpec, values: Sequence[Any]) -> np.ndarray:
        """Category codes of ``values`` for a categorical feature, -1 for unknown ones."""
        codes = self._distinct_codes(spec, values)
        return np.fromiter(map(codes.__getitem__, values), dtype=np.intp, count=len(values))

    def _distinct_codes(self, spec: FeatureSpec, values: Sequence[Any]) -> dict[Any, int]:
        """The code of each distinct value: a batch holds few spellings, each looked up once."""
        lookup = self._lookups[spec.field]
        return {v: lookup[v] if v in lookup else lookup.get(normalize(v), -1) for v in set(values)}

    def _code_list(self, spec: FeatureSpec, values: Sequence[Any]) -> list[int]:
        return list(map(self._distinct_codes(spec, values).__getitem__, values))

    def _refuse_unknown(self, spec: FeatureSpec, values: Sequence[Any], codes: list[int]) -> None:
        index = codes.index(-1)
        raise InvalidValue(
            spec.field,
            index,
            f"Unknown value {str(values[index])[:40]!r}, expected one of "
            f"{', '.join(spec.categories)}",
        )

    def _columns(self, spec: FeatureSpec, start: int, values: Sequence[Any]) -> list[Sequence[Any]]:
        if spec.kind == "numeric":
            return [values]
        codes = self._code_list(spec, values)
        unknown = -1 in codes
        if unknown and (spec.unknown == "reject" or self._neutral is None):
            self._refuse_unknown(spec, values, codes)
        if spec.kind != "one-hot":
            if unknown:
                neutral = float(self._neutral[start])  # type: ignore[index]
                return [[neutral if code < 0 else code for code in codes]]
            return [codes]
        columns: list[Sequence[Any]] = []
        for offset in range(spec.width):
            neutral = float(self._neutral[start + offset]) if unknown else 0.0  # type: ignore[index]
            columns.append([neutral if code < 0 else float(code == offset) for code in codes])
        return columns

    def transform(self, columns: Mapping[str, Sequence[Any]]) -> np.ndarray:
        """Encode ``columns`` (field name to values, all of one length) into an (n, width) array.

        Raises :class:`InvalidValue` naming the first refused value's index and field.
        """
        for spec in self._validated:
            values = columns[spec.field]
            if -1 in self._distinct_codes(spec, values).values():
                self._refuse_unknown(spec, values, self._code_list(spec, values))
        blocks: list[Sequence[Any]] = []
        for spec, start in self._weighted:
            blocks.extend(self._columns(spec, start, columns[spec.field]))
        # One conversion for all columns; the transposed view is as good as a copy downstream.
        return np.array(blocks, dtype=np.float64).T
