"""A model's answers: JSON pre-encoded per segment, completed per customer."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np

from runtime.core.bundle import Segment
from runtime.core.model import Model
from runtime.core.predictor import CONFIDENCE_STEPS, Predictions
from runtime.service.schemas import (
    BatchPrediction,
    Explanation,
    Prediction,
    SegmentCatalogue,
    SegmentDistance,
    SegmentInfo,
)

__all__ = ["Segmenter"]

_encode = msgspec.json.encode
_CONFIDENCE = b',"confidence_score":'
_CUSTOMER_ID = b',"CustomerID":"'
_PIECES_PER_ANSWER = 4  # see _pieces
# Every confidence score a prediction can have (whole numbers of 1e-4), encoded once with the
# start of the id that follows it: msgspec writes floats as repr does.
_SCORES = [score + _CUSTOMER_ID for score in _encode(
    [step / CONFIDENCE_STEPS for step in range(CONFIDENCE_STEPS + 1)])[1:-1].split(b",")]
_ANSWERS_PER_PART = 512


class Segmenter:
    """Customers in, JSON answers out, for one bundle.

    The parts of an answer that depend only on the segment are encoded once,
    from the :class:`Prediction` struct itself, so the hot path only appends
    the confidence, the customer's id and the model version.
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self.bundle = model.bundle
        self.predictor = model.predictor
        self.version = model.version
        self.version_header = self.version.encode("latin-1", "replace")
        self.catalogue = model.catalogue
        self._heads = [self._head(segment) for segment in self.catalogue]
        self._later_heads = [b"," + head for head in self._heads]  # every answer but the first
        self._version_tail = b'","model_version":' + _encode(self.version)  # closes the id
        empty_batch = _encode(BatchPrediction(model_version=self.version, predictions=[]))
        self._batch_head, self._batch_tail = empty_batch.split(b"[]")
        self._batch_head += b"["
        self._batch_tail = b"]" + self._batch_tail
        self.segments_json = _encode(SegmentCatalogue(
            total_clusters=len(self.catalogue),
            segments={str(s.id): self.segment_info(s) for s in self.catalogue},
            model_version=self.version,
        ))

    def _head(self, segment: Segment) -> bytes:
        sample = Prediction(
            cluster=segment.id,
            segment_name=segment.name,
            segment_description=segment.description,
            characteristics=segment.characteristics,
            recommended_offers=segment.offers,
            confidence_score=0.0,
            CustomerID="",
            model_version=self.version,
        )
        return _encode(sample).split(_CONFIDENCE)[0] + _CONFIDENCE

    @staticmethod
    def segment_info(segment: Segment) -> SegmentInfo:
        return SegmentInfo(
            id=segment.id,
            name=segment.name,
            description=segment.description,
            characteristics=segment.characteristics,
            offers=segment.offers,
            size=segment.size,
        )

    def answers(
        self, customer_ids: Sequence[str], predictions: Predictions, explain: bool = False
    ) -> list[bytes]:
        """Each customer's encoded :class:`Prediction`, one answer per customer."""
        pieces = self._pieces(customer_ids, predictions, explain, self._heads)
        return [b"".join(pieces[start:start + _PIECES_PER_ANSWER])
                for start in range(0, len(pieces), _PIECES_PER_ANSWER)]

    def batch(
        self, customer_ids: Sequence[str], predictions: Predictions, explain: bool = False
    ) -> list[bytes]:
        """The encoded :class:`BatchPrediction` of customers, in order, as consecutive parts.

        Parts of a few hundred answers each: one body of megabytes would cost a fresh
        allocation, page by page, on every request.
        """
        pieces = [self._batch_head,
                  *self._pieces(customer_ids, predictions, explain, self._later_heads),
                  self._batch_tail]
        step = _PIECES_PER_ANSWER * _ANSWERS_PER_PART
        return [b"".join(pieces[start:start + step]) for start in range(0, len(pieces), step)]

    def _pieces(
        self, customer_ids: Sequence[str], predictions: Predictions, explain: bool,
        later_heads: list[bytes],
    ) -> list[bytes]:
        """The answers' bytes, one flat list joined once: no copy per customer.

        ``later_heads`` open every answer but the first: with a comma inside a list.
        """
        count = len(customer_ids)
        if len(predictions.segments) != count:
            raise ValueError(f"{count} customer ids for {len(predictions.segments)} predictions")
        if not count:
            return []
        tail = self._version_tail
        pieces: list[bytes] = [b""] * (_PIECES_PER_ANSWER * count)
        # Each piece goes in at its place in every answer at once (slices of the flat list).
        pieces[0::_PIECES_PER_ANSWER] = map(later_heads.__getitem__, predictions.segments.tolist())
        pieces[0] = self._heads[predictions.segments[0]]
        steps = np.rint(predictions.confidence * CONFIDENCE_STEPS).astype(np.intp)
        pieces[1::_PIECES_PER_ANSWER] = map(_SCORES.__getitem__, steps.tolist())
        # One call encodes every id: `","` only occurs between them, as quotes inside
        # a string are escaped. Each id goes out bare, between constant quotes.
        pieces[2::_PIECES_PER_ANSWER] = _encode(customer_ids)[2:-2].split(b'","')
        pieces[3::_PIECES_PER_ANSWER] = ([tail + end for end in self._explanations(predictions)]
                                         if explain else [tail + b"}"] * count)
        return pieces

    def _explanations(self, predictions: Predictions) -> list[bytes]:
        explained = self.predictor.explain(predictions)
        names = [segment.name for segment in self.catalogue]
        fields = self.predictor.weighted_fields
        ends = []
        for segment, runner_up, distances, contributions in zip(
            predictions.segments.tolist(), explained.runner_up.tolist(),
            explained.distances.tolist(), explained.contributions.tolist(), strict=True,
        ):
            explanation = Explanation(
                distances=[SegmentDistance(i, names[i], d) for i, d in enumerate(distances)],
                runner_up=runner_up,
                runner_up_name=names[runner_up],
                margin=distances[runner_up] - distances[segment],
                squared_distance_gap=sum(contributions),
                contributions=dict(zip(fields, contributions, strict=True)),
            )
            ends.append(b',"explanation":' + _encode(explanation) + b"}")
        return ends
