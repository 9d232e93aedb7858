"""Nearest-centroid prediction on arrays: one customer or a million, the same code."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from runtime.core.bundle import Bundle
from runtime.core.features import Column, Encoder

__all__ = ["CONFIDENCE_STEPS", "Explanations", "Predictions", "Predictor", "argmin_rows"]

_CORES = os.cpu_count() or 1
_SHORT = 64  # blocks up to this long take NumPy's argmin; longer ones a loop over rows
_BLOCK = 16_384  # customers per block: a block's temporaries stay in the cache
CONFIDENCE_STEPS = 10_000  # confidence scores are rounded to 4 places: whole numbers of 1e-4


def argmin_rows(squared: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """The row of the smallest value in each column, as ``argmin(axis=0)`` (first one on
    ties), into ``segments``; returns the smallest values.

    NumPy's argmin along the short axis costs a call per column: on long blocks a
    loop over the k rows, each step a few whole-row operations, is several times
    faster. A row's index only ever replaces a smaller one, so ``maximum`` takes it in
    without a branch per customer (a masked copy mispredicts on mixed segments).
    """
    if squared.shape[1] <= _SHORT:
        np.argmin(squared, axis=0, out=segments)
        nearest: np.ndarray = np.minimum.reduce(squared, axis=0)
        return nearest
    closer = np.empty(squared.shape[1], dtype=bool)
    candidate = np.empty_like(segments)
    nearest = squared[0].copy()
    segments[:] = 0
    for row in range(1, len(squared)):
        np.less(squared[row], nearest, out=closer)
        np.multiply(closer, row, out=candidate)
        np.maximum(segments, candidate, out=segments)
        np.minimum(nearest, squared[row], out=nearest)
    return nearest


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_CORES, thread_name_prefix="predict")


@dataclass(frozen=True)
class Predictions:
    """Per customer: the segment id and the seed's confidence score."""

    segments: np.ndarray
    confidence: np.ndarray
    raw: np.ndarray
    predictor: Predictor

    def rows(self, rows: slice) -> Predictions:
        """The predictions of a run of consecutive customers."""
        return Predictions(self.segments[rows], self.confidence[rows], self.raw[rows], self.predictor)

    @property
    def scaled(self) -> np.ndarray:
        """The customers in the model's space (computed on demand: most callers never need it)."""
        return self.predictor.scale(self.raw)


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

    Standardization and feature weights are folded at load time into the
    centroids, so a prediction is one matrix product on the raw columns and
    their squares, and an ``argmin``.
    """

    def __init__(self, bundle: Bundle) -> None:
        self.layout = bundle.layout
        self.multiplier = self.layout.weights / bundle.scale
        self.offset = bundle.mean * self.multiplier
        self.centroids = np.ascontiguousarray(bundle.centroids)
        # |x * m - o - c|^2 = sum (m^2 x^2 - 2 m (o + c) x) + |o + c|^2: squared distances from
        # raw columns and their squares in one matrix product, scaling folded into the centroids.
        shifted = self.offset + self.centroids
        self._quadratic = np.hstack([-2.0 * self.multiplier * shifted,
                                     np.tile(self.multiplier**2, (len(shifted), 1)),
                                     (shifted**2).sum(axis=1)[:, None]])
        self.encoder = Encoder(self.layout, neutral=bundle.mean)

    def scale(self, raw: np.ndarray) -> np.ndarray:
        """Raw model columns to the weighted, standardized space of the centroids."""
        scaled: np.ndarray = raw * self.multiplier
        scaled -= self.offset
        return scaled

    def predict_raw(self, raw: np.ndarray) -> Predictions:
        """Predict from raw model columns, an (n, width) array.

        Large inputs go in blocks that fit the cache, spread over the cores
        (NumPy releases the GIL in its loops); one customer is one block.
        """
        count = len(raw)
        segments = np.empty(count, dtype=np.intp)
        confidence = np.empty(count)
        workers = min(_CORES, -(-count // _BLOCK))
        if workers <= 1:
            self._predict_range(raw, segments, confidence)
        else:  # one contiguous range per core, each walked block by block
            share = -(-count // workers)
            ranges = [slice(start, start + share) for start in range(0, count, share)]
            list(_pool().map(lambda rows: self._predict_range(
                raw[rows], segments[rows], confidence[rows]), ranges))
        return Predictions(segments, confidence, raw, self)

    def _predict_range(self, raw: np.ndarray, segments: np.ndarray, confidence: np.ndarray) -> None:
        # One workspace per range, reused by its blocks: raw columns, their squares and ones,
        # and the squared distances, one row per centroid.
        block = min(len(raw), _BLOCK)
        features = np.empty((2 * raw.shape[1] + 1, block))
        features[-1] = 1.0
        squared = np.empty((len(self.centroids), block))
        for start in range(0, len(raw), _BLOCK):
            rows = slice(start, start + _BLOCK)
            self._predict_block(raw[rows], segments[rows], confidence[rows], features, squared)

    def _predict_block(
        self, raw: np.ndarray, segments: np.ndarray, confidence: np.ndarray,
        features: np.ndarray, squared: np.ndarray,
    ) -> None:
        """One block of ``raw``, (b, width), in the range's workspace.

        The work runs along long contiguous rows, one per feature or centroid, never
        along a customer's few columns (the encoder's output is feature-major already).
        """
        width, block = raw.shape[1], len(raw)
        features, squared = features[:, :block], squared[:, :block]
        np.copyto(features[:width], raw.T)
        np.square(features[:width], out=features[width:-1])
        np.matmul(self._quadratic, features, out=squared)
        nearest = argmin_rows(squared, segments)
        # Distances order like their squares: take the square root of the ratio only. The
        # farthest centroid is never at distance 0: the bundle's centroids are distinct.
        ratio = np.divide(nearest, np.maximum.reduce(squared, axis=0), out=confidence)
        np.maximum(ratio, 0.0, out=ratio)  # a customer on a centroid may come out at -1e-16
        np.sqrt(ratio, out=ratio)
        np.subtract(1.0, ratio, out=ratio)
        # 1 - d_assigned / d_farthest, to 4 places (as np.round does: rint(x * 1e4) / 1e4)
        np.multiply(ratio, CONFIDENCE_STEPS, out=ratio)
        np.rint(ratio, out=ratio)
        np.divide(ratio, CONFIDENCE_STEPS, out=ratio)

    def predict(self, columns: Mapping[str, Column]) -> Predictions:
        """Predict from customer columns (field name to values); see :class:`Encoder`."""
        return self.predict_raw(self.encoder.transform(columns))

    def explain(self, predictions: Predictions) -> Explanations:
        """Why each customer got its segment rather than the next nearest one."""
        scaled = self.scale(predictions.raw)
        distances = np.sqrt(((scaled[:, None, :] - self.centroids[None]) ** 2).sum(axis=2))
        order = np.argsort(distances, axis=1, kind="stable")
        runner_up = np.where(order[:, 0] == predictions.segments, order[:, 1], order[:, 0])
        assigned = self.centroids[predictions.segments]
        other = self.centroids[runner_up]
        per_column = (assigned - other) * (2.0 * scaled - assigned - other)
        contributions = np.add.reduceat(per_column, self.layout.starts, axis=1)
        return Explanations(runner_up, contributions, distances)
