"""Scoring export chunks with the service's own model: the same predictor, catalogue and checks.

Customers are encoded column by column. Numeric fields go straight to their
model column; categorical ones are encoded by the service's :class:`Encoder`
itself, once per combination of categories met (a handful per file), so the
answers cannot drift from ``POST /predict``'s. Rows the API would refuse are
set aside with the API's message instead of stopping the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runtime.core.bundle import Bundle, FeatureSpec
from runtime.core.features import InvalidValue
from runtime.core.model import Model
from runtime.scoring.checks import customer_rules, invalid_rows, refusal
from runtime.scoring.chunks import KeyedChunk
from runtime.scoring.export import COLUMNS, ExportChunk, RejectedRow

__all__ = ["BulkModel", "Scored"]


def _key(spelling: str) -> tuple[int, int] | None:
    """The key the reader gives a field spelled so (its 16 first bytes), None if it has none."""
    try:
        data = spelling.encode("ascii")
    except UnicodeEncodeError:
        return None
    if not 0 < len(data) <= 16:
        return None
    return (int.from_bytes(data[:8].ljust(8, b"\0"), "little"),
            int.from_bytes(data[8:].ljust(8, b"\0"), "little"))


@dataclass
class Scored:
    """A chunk's answers, kept customers in line order, and every row set aside."""

    ids: np.ndarray
    segments: np.ndarray  # catalogue positions, as the service's answers index them
    confidence: np.ndarray
    distances: np.ndarray | None = None
    rejected: list[RejectedRow] = field(default_factory=list)


class BulkModel:
    """A bundle's predictor and catalogue, scoring whole chunks of an export."""

    def __init__(self, bundle: Bundle) -> None:
        self.model = Model(bundle)
        self.predictor = self.model.predictor
        self.catalogue = self.model.catalogue
        features = bundle.manifest.features
        self._fields = [spec.field for spec in features]
        self._numeric: list[tuple[str, int]] = []
        categorical_columns: list[int] = []
        start = 0
        for spec in features:
            if spec.weight > 0:
                if spec.kind == "numeric":
                    self._numeric.append((spec.field, start))
                else:
                    categorical_columns.extend(range(start, start + spec.width))
                start += spec.width
        self.width = start
        self._categorical = [spec for spec in features if spec.kind != "numeric"]
        self._columns = np.array(categorical_columns, dtype=np.intp)
        self._spellings = {spec.field: self._known(spec) for spec in self._categorical}
        self._combos: dict[int, np.ndarray | None] = {}
        self._combinations = int(np.prod([len(spec.categories) + 1 for spec in self._categorical]))
        self._rules = customer_rules()

    def _known(self, spec: FeatureSpec) -> list[tuple[str, int, tuple[int, int] | None]]:
        """Each spelling the encoder knows exactly, its code, and its key if it has one."""
        spellings = list(dict.fromkeys([*spec.categories, *spec.aliases]))
        codes = self.predictor.encoder.codes(spec, spellings).tolist()
        return [(spelling, code, _key(spelling))
                for spelling, code in zip(spellings, codes, strict=True)]

    def codes(self, spec: FeatureSpec, values: np.ndarray, keys: np.ndarray | None = None
              ) -> np.ndarray:
        """The encoder's category codes for ``values``, -1 for unknown ones.

        The spellings of the specification are matched first, by ``keys`` when the
        reader gave them (two integer comparisons instead of a string one); the
        encoder itself decides on every other value, once per distinct value.
        """
        codes = np.full(len(values), -2, dtype=np.intp)
        if keys is not None:
            low, high = keys[:, 0], keys[:, 1]
            long = bool(high.any())
            for _, code, key in self._spellings[spec.field]:
                if key is not None:
                    match = low == key[0]
                    if long or key[1]:
                        match &= high == key[1]
                    codes[match] = code
        else:
            for spelling, code, _ in self._spellings[spec.field]:
                codes[values == spelling] = code
        rest = np.flatnonzero(codes == -2)
        if len(rest):  # other spellings (case, blanks, unknown values): the encoder decides
            unique, inverse = np.unique(values[rest], return_inverse=True)
            codes[rest] = self.predictor.encoder.codes(spec, unique.tolist())[inverse]
        return codes

    def _row(self, columns: Mapping[str, np.ndarray], row: int) -> dict[str, list[Any]]:
        return {name: [columns[name][row].item()] for name in self._fields}

    def _combo(self, key: int, columns: Mapping[str, np.ndarray], row: int) -> np.ndarray | None:
        """The categorical model columns for one combination of codes; None if refused."""
        if key not in self._combos:
            try:
                encoded = self.predictor.encoder.transform(self._row(columns, row))
            except InvalidValue:
                self._combos[key] = None
            else:
                self._combos[key] = encoded[0, self._columns]
        return self._combos[key]

    def encode(self, columns: Mapping[str, np.ndarray],
               keys: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Raw model columns for every row, and which rows the model refuses."""
        n = len(columns[self._fields[0]])
        raw = np.empty((n, self.width), dtype=np.float64)
        for name, column in self._numeric:
            raw[:, column] = columns[name]
        if not self._categorical or not n:
            return raw, np.zeros(n, dtype=bool)
        key = np.zeros(n, dtype=np.int64)
        for spec in self._categorical:  # one integer per combination of codes
            codes = self.codes(spec, columns[spec.field], (keys or {}).get(spec.field))
            key = key * (len(spec.categories) + 1) + codes + 1
        unique, first, inverse = self._combinations_met(key)
        table = np.zeros((len(unique), len(self._columns)), dtype=np.float64)
        refused = np.zeros(len(unique), dtype=bool)
        for i, (value, row) in enumerate(zip(unique.tolist(), first.tolist(), strict=True)):
            encoded = self._combo(value, columns, row)
            if encoded is None:
                refused[i] = True
            else:
                table[i] = encoded
        raw[:, self._columns] = table[inverse]
        return raw, refused[inverse]

    def _combinations_met(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The keys present, one row holding each, and each row's position among them."""
        if self._combinations > 1 << 20:
            met: tuple[np.ndarray, np.ndarray, np.ndarray] = np.unique(
                key, return_index=True, return_inverse=True)
            return met
        present = np.bincount(key, minlength=self._combinations) > 0
        unique = np.flatnonzero(present)
        position = np.zeros(self._combinations, dtype=np.intp)
        position[unique] = np.arange(len(unique))
        holder = np.zeros(self._combinations, dtype=np.intp)
        holder[key] = np.arange(len(key))  # any row holding the key will do
        return unique, holder[unique], position[key]

    def _reason(self, columns: Mapping[str, np.ndarray], row: int) -> str:
        message = refusal(self._rules, {name: columns[name][row].item() for name in COLUMNS})
        if message is None:
            try:
                self.predictor.encoder.transform(self._row(columns, row))
            except InvalidValue as exc:
                message = f"{exc.reason} - at `$.{exc.field}`"
        return f"invalid value: {message or 'refused by the model'}"

    def score(self, chunk: ExportChunk, explain: bool = False) -> Scored:
        """Answers for the kept rows of ``chunk``; the rows the API would refuse join its rejected."""
        columns = chunk.columns
        raw, refused = self.encode(columns, chunk.keys if isinstance(chunk, KeyedChunk) else None)
        refused |= invalid_rows(self._rules, columns)
        rejected = list(chunk.rejected)
        if refused.any():
            ids = columns["CustomerID"]
            rejected += [RejectedRow(int(chunk.lines[row]), str(ids[row]), self._reason(columns, row))
                         for row in np.flatnonzero(refused).tolist()]
            rejected.sort(key=lambda row: row.line)
            raw = raw[~refused]
        predictions = self.predictor.predict_raw(raw)
        distances = self.predictor.explain(predictions).distances if explain and len(raw) else None
        return Scored(
            ids=columns["CustomerID"][~refused] if refused.any() else columns["CustomerID"],
            segments=predictions.segments,
            confidence=predictions.confidence,
            distances=distances,
            rejected=rejected,
        )
