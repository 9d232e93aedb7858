"""Nearest-centroid prediction on arrays: one customer or a million, the same code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime.bundle import Bundle
from runtime.features import Encoder

__all__ = ["Explanations", "Predictions", "Predictor"]

_TINY = np.finfo(np.float64).tiny  # keeps 0 / 0 out when every centroid is at the same distance


@dataclass(frozen=True)
class Predictions:
    """Per customer: the segment id, the seed's confidence score, and the scaled features."""

    segments: np.ndarray
    confidence: np.ndarray
    squared_distances: np.ndarray
    scaled: np.ndarray

    @property
    def distances(self) -> np.ndarray:
        """Euclidean distances to every centroid, (n, k)."""
        distances: np.ndarray = np.sqrt(np.maximum(self.squared_distances, 0.0))
        return distances


@dataclass(frozen=True)
class Explanations:
    """Per customer: the runner-up segment and each feature's share of the squared-distance gap.

    For a nearest-centroid model, ``|z - c_r|^2 - |z - c_a|^2`` splits exactly into
    one term per model column, ``(c_a - c_r) * (2 z - c_a - c_r)``; columns of one
    feature (one-hot) are summed, so the contributions add up to the gap.
    """

    runner_up: np.ndarray
    contributions: np.ndarray  # (n, features with weight), in model order
    distances: np.ndarray  # computed row by row, so a customer's figures never depend on its batch


class Predictor:
    """Assigns customers to the nearest centroid of a bundle.

    Standardization and feature weights are folded at load time into one
    multiplier and one offset per column, so a prediction is a fused
    multiply-subtract, one matrix product and an ``argmin``.
    """

    def __init__(self, bundle: Bundle) -> None:
        weights = np.concatenate(
            [np.full(spec.width, spec.weight) for spec in bundle.manifest.features if spec.weight > 0]
        )
        self.multiplier = weights / bundle.scale
        self.offset = bundle.mean * self.multiplier
        self.centroids = bundle.centroids
        self._centroids_t = np.ascontiguousarray(bundle.centroids.T)
        self._centroid_norms = (bundle.centroids**2).sum(axis=1)
        self.encoder = Encoder(bundle.manifest.features, neutral=bundle.mean)
        weighted = [spec for spec in bundle.manifest.features if spec.weight > 0]
        self.weighted_fields = [spec.field for spec in weighted]
        self._feature_starts = np.cumsum([0] + [spec.width for spec in weighted[:-1]])

    def scale(self, raw: np.ndarray) -> np.ndarray:
        """Raw model columns to the weighted, standardized space of the centroids."""
        scaled: np.ndarray = raw * self.multiplier
        scaled -= self.offset
        return scaled

    def predict_raw(self, raw: np.ndarray) -> Predictions:
        """Predict from raw model columns, an (n, width) array."""
        scaled = self.scale(raw)
        # |z - c|^2 = |z|^2 - 2 z.c + |c|^2: one matrix product for all customers and centroids.
        squared = scaled @ self._centroids_t
        squared *= -2.0
        squared += self._centroid_norms
        squared += np.add.reduce(scaled * scaled, axis=1)[:, None]
        segments = squared.argmin(axis=1)
        # Distances order like their squares: take the square root of the ratio only.
        ratio = np.minimum.reduce(squared, axis=1)
        ratio /= np.maximum.reduce(squared, axis=1) + _TINY
        np.maximum(ratio, 0.0, out=ratio)
        confidence = np.sqrt(ratio, out=ratio)
        confidence *= -1e4
        confidence += 1e4
        np.rint(confidence, out=confidence)
        confidence /= 1e4  # 1 - d_assigned / d_farthest, to the seed's 4 places
        return Predictions(segments, confidence, squared, scaled)

    def predict(self, columns: Mapping[str, Sequence[Any]]) -> Predictions:
        """Predict from customer columns (field name to values); see :class:`Encoder`."""
        return self.predict_raw(self.encoder.transform(columns))

    def explain(self, predictions: Predictions) -> Explanations:
        """Why each customer got its segment rather than the next nearest one."""
        scaled = predictions.scaled
        distances = np.sqrt(((scaled[:, None, :] - self.centroids[None]) ** 2).sum(axis=2))
        order = np.argsort(distances, axis=1, kind="stable")
        runner_up = np.where(order[:, 0] == predictions.segments, order[:, 1], order[:, 0])
        assigned = self.centroids[predictions.segments]
        other = self.centroids[runner_up]
        per_column = (assigned - other) * (2.0 * scaled - assigned - other)
        contributions = np.add.reduceat(per_column, self._feature_starts, axis=1)
        return Explanations(runner_up, contributions, distances)
