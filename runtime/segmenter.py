"""A loaded bundle, ready to answer: prediction plus answers pre-encoded per segment."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

import msgspec

from runtime.bundle import Bundle, Segment
from runtime.predictor import Predictions, Predictor
from runtime.schemas import (
    BatchPrediction,
    Customer,
    Explanation,
    Prediction,
    SegmentDistance,
    SegmentInfo,
)

__all__ = ["Segmenter"]

_encode = msgspec.json.encode
_CONFIDENCE = b',"confidence_score":'


class Segmenter:
    """Customers in, JSON answers out, for one bundle.

    The parts of an answer that depend only on the segment are encoded once,
    from the :class:`Prediction` struct itself, so the hot path only appends
    the confidence, the customer's id and the model version.
    """

    def __init__(self, bundle: Bundle, catalogue: Sequence[Segment] | None = None) -> None:
        self.bundle = bundle
        self.predictor = Predictor(bundle)
        self.version = bundle.manifest.model.version
        self.catalogue = list(catalogue or bundle.manifest.segments)
        self._getters = [(field, attrgetter(field)) for field in self.predictor.encoder.fields]
        self._heads = [self._head(segment) for segment in self.catalogue]
        self._version_tail = b',"model_version":' + _encode(self.version)
        empty_batch = _encode(BatchPrediction(model_version=self.version, predictions=[]))
        self._batch_head, self._batch_tail = empty_batch.split(b"[]")
        self._batch_head += b"["
        self._batch_tail = b"]" + self._batch_tail
        self.segments_json = _encode([self.segment_info(s) for s in self.catalogue])

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

    def predict(self, customers: Sequence[Customer]) -> Predictions:
        """Predict for decoded customers; raises ``InvalidValue`` naming the index and field."""
        columns = {field: list(map(get, customers)) for field, get in self._getters}
        return self.predictor.predict(columns)

    def answers(
        self, customers: Sequence[Customer], predictions: Predictions, explain: bool = False
    ) -> list[bytes]:
        """One encoded :class:`Prediction` per customer, in order."""
        heads = self._heads
        tail = self._version_tail
        ends = self._explanations(predictions) if explain else [b"}"] * len(customers)
        return [
            b"".join((heads[segment], repr(confidence).encode(), b',"CustomerID":',
                      _encode(customer.CustomerID), tail, end))
            for segment, confidence, customer, end in zip(
                predictions.segments.tolist(), predictions.confidence.tolist(), customers, ends,
                strict=True,
            )
        ]

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

    def batch(self, answers: list[bytes]) -> bytes:
        """An encoded :class:`BatchPrediction` around already encoded answers."""
        return b"".join((self._batch_head, b",".join(answers), self._batch_tail))
