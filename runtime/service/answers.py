"""A model's answers: one :class:`Prediction` per customer, encoded by msgspec."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from runtime.core.bundle import Segment
from runtime.core.model import Model
from runtime.core.predictor import Predictions
from runtime.service.schemas import (
    BatchPrediction,
    Explanation,
    Prediction,
    SegmentDistance,
    SegmentInfo,
)

__all__ = ["Answers", "segment_info"]


def segment_info(segment: Segment) -> SegmentInfo:
    return SegmentInfo(
        id=segment.id,
        name=segment.name,
        description=segment.description,
        characteristics=segment.characteristics,
        offers=segment.offers,
        size=segment.size,
    )


class Answers:
    """Builds and encodes the answers of one model's predictions."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.version = model.version
        # Row i of the centroids is segment i: answers index the catalogue by id.
        self.segments = sorted(model.catalogue, key=lambda segment: segment.id)
        self._encoder = msgspec.json.Encoder()

    def predictions(
        self, customer_ids: Sequence[str], predictions: Predictions, explain: bool = False
    ) -> list[Prediction]:
        """One :class:`Prediction` per customer, in order."""
        if len(customer_ids) != len(predictions.segments):
            raise ValueError(f"{len(customer_ids)} customer ids for {len(predictions.segments)} predictions")
        version, segments = self.version, self.segments
        answers = [
            Prediction(segment.id, segment.name, segment.description, segment.characteristics,
                       segment.offers, confidence, customer_id, version)
            for segment, confidence, customer_id in zip(
                map(segments.__getitem__, predictions.segments.tolist()),
                predictions.confidence.tolist(), customer_ids, strict=True)
        ]
        if explain:
            for answer, explanation in zip(answers, self._explanations(predictions), strict=True):
                answer.explanation = explanation
        return answers

    def encode_one(self, customer_ids: Sequence[str], predictions: Predictions, explain: bool) -> bytes:
        """The JSON :class:`Prediction` of a single customer."""
        return self._encoder.encode(self.predictions(customer_ids, predictions, explain)[0])

    def encode_batch(self, customer_ids: Sequence[str], predictions: Predictions, explain: bool) -> bytes:
        """The JSON :class:`BatchPrediction` of customers, in order."""
        return self._encoder.encode(
            BatchPrediction(self.version, self.predictions(customer_ids, predictions, explain)))

    def _explanations(self, predictions: Predictions) -> list[Explanation]:
        explained = self.model.predictor.explain(predictions)
        names = [segment.name for segment in self.segments]
        fields = self.model.predictor.layout.fields
        return [
            Explanation(
                distances=[SegmentDistance(i, names[i], d) for i, d in enumerate(distances)],
                runner_up=runner_up,
                runner_up_name=names[runner_up],
                margin=distances[runner_up] - distances[segment],
                squared_distance_gap=sum(contributions),
                contributions=dict(zip(fields, contributions, strict=True)),
            )
            for segment, runner_up, distances, contributions in zip(
                predictions.segments.tolist(), explained.runner_up.tolist(),
                explained.distances.tolist(), explained.contributions.tolist(), strict=True)
        ]
