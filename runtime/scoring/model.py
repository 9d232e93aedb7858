"""Scoring checked batches with the service's own model: the same encoder, predictor and catalogue.

Each categorical column is dictionary-encoded by Arrow, so the service's
:class:`Encoder` looks up each distinct spelling once per batch; numbers go to
the predictor as they are. A row whose category the encoder would refuse is
set aside with the API's message instead of stopping the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from runtime.core.bundle import Bundle
from runtime.core.features import Column, InvalidValue
from runtime.core.model import Model
from runtime.scoring.arrays import as_numpy, from_numpy
from runtime.scoring.checks import CheckedBatch
from runtime.scoring.columns import RejectedRow

__all__ = ["BulkModel", "Scored"]


@dataclass
class Scored:
    """A batch's answers, kept customers in file order, and every row set aside."""

    ids: pa.Array
    segments: np.ndarray  # catalogue positions, as the service's answers index them
    confidence: np.ndarray
    distances: np.ndarray | None = None
    rejected: list[RejectedRow] = field(default_factory=list)
    position: int = 0

    def __len__(self) -> int:
        return len(self.segments)


class BulkModel:
    """A bundle's predictor and catalogue, scoring whole batches of an export."""

    def __init__(self, bundle: Bundle) -> None:
        self.model = Model(bundle)
        self.predictor = self.model.predictor
        self.catalogue = self.model.catalogue
        self.encoder = self.predictor.encoder
        self._categorical = [spec for spec in self.encoder.features
                             if spec.kind != "numeric" and spec.field in self.encoder.fields]

    def _coded(self, batch: CheckedBatch) -> tuple[dict[str, Column], np.ndarray]:
        """The model's fields (categories as codes), and which rows hold an unknown category."""
        coded: dict[str, Column] = {}
        unknown = np.zeros(len(batch), dtype=bool)
        for name in self.encoder.fields:
            if name in batch.numbers:
                coded[name] = batch.numbers[name]
        for spec in self._categorical:
            encoded = pc.dictionary_encode(batch.text[spec.field])
            spellings = encoded.dictionary.to_pylist()
            codes = self.encoder.codes(spec, spellings)[
                as_numpy(encoded.indices, pa.int64())]
            coded[spec.field] = codes
            unknown |= codes < 0
        return coded, unknown

    def _refusal(self, batch: CheckedBatch, row: int) -> str | None:
        """The API's message for one row with an unknown category, None if it takes the row."""
        values: dict[str, Any] = {
            name: [batch.numbers[name][row]] if name in batch.numbers
            else [batch.text[name][row].as_py()] for name in self.encoder.fields}
        try:
            self.encoder.transform(values)
        except InvalidValue as exc:
            return f"invalid value: {exc.reason} - at `$.{exc.field}`"
        return None

    def score(self, batch: CheckedBatch, explain: bool = False) -> Scored:
        """Answers for the rows of ``batch``; the rows the API would refuse join its rejected."""
        coded, unknown = self._coded(batch)
        refused = np.zeros(len(batch), dtype=bool)
        rejected = list(batch.rejected)
        if unknown.any():
            ids = batch.text["CustomerID"]
            for row in np.flatnonzero(unknown).tolist():
                reason = self._refusal(batch, row)
                if reason is not None:
                    refused[row] = True
                    rejected.append(RejectedRow(int(batch.lines[row]),
                                                str(ids[row].as_py())[:64], reason))
            rejected.sort(key=lambda rejection: rejection.line)
        ids = batch.text["CustomerID"]
        if refused.any():
            keep = ~refused
            coded = {name: np.asarray(values)[keep] for name, values in coded.items()}
            ids = pc.filter(ids, from_numpy(keep))
        predictions = self.predictor.predict(coded)
        distances = (self.predictor.explain(predictions).distances
                     if explain and len(predictions.segments) else None)
        return Scored(ids, predictions.segments, predictions.confidence, distances, rejected,
                      batch.position)
