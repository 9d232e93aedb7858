"""Warm starts: K-Means begins from a parent bundle's centroids, carried into the new scaling.

A routine retrain on next month's export re-estimates the standardization, so
the parent's centroids are first taken back to original units with the parent's
mean, scale and weights, then into the new model's space. K-Means starts there:
segments stay where they were unless the customers really moved. Ids still come
from the catalogue's spending rank, never from the parent's row order.
"""

from __future__ import annotations

import os

import numpy as np

from runtime.core.bundle import Bundle, BundleRef, FeatureSpec, load_bundle
from runtime.core.feature_layout import FeatureLayout

__all__ = ["Parent", "centroids_in_units", "load_parent"]


def centroids_in_units(bundle: Bundle) -> np.ndarray:
    """The bundle's centroids in original units (ordinal codes for ordinal fields)."""
    return np.asarray(bundle.centroids / bundle.layout.weights * bundle.scale + bundle.mean)


def _model_columns(layout: FeatureLayout) -> list[tuple[str, str, list[str]]]:
    return [(spec.field, spec.kind, spec.categories) for spec in layout.weighted]


class Parent:
    """A bundle to warm-start from, checked against the run's k and features."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        manifest = bundle.manifest
        self.ref = BundleRef(name=manifest.model.name, version=manifest.model.version,
                             arrays_sha256=bundle.checksum)

    def check(self, k: int, features: list[FeatureSpec]) -> None:
        """Raise :class:`ValueError` unless the parent has this k and these model columns."""
        source = self.bundle.path
        if self.bundle.manifest.model.k != k:
            raise ValueError(
                f"--warm-start {source}: the parent has k={self.bundle.manifest.model.k}, "
                f"this run k={k}; a new k starts fresh (leave out --warm-start)"
            )
        theirs, ours = _model_columns(self.bundle.layout), _model_columns(FeatureLayout.of(features))
        if theirs != ours:
            raise ValueError(
                f"--warm-start {source}: the parent's weighted features are {theirs}, "
                f"this run's are {ours}; new features start fresh (leave out --warm-start)"
            )

    def centroids(self, features: list[FeatureSpec], mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """The parent's centroids in the space of a model with ``features``, ``mean`` and ``scale``."""
        original = centroids_in_units(self.bundle)
        return np.ascontiguousarray((original - mean) / scale * FeatureLayout.of(features).weights)


def load_parent(directory: str | os.PathLike[str]) -> Parent:
    """The verified bundle in ``directory``, to warm-start from (raises ``BundleError``)."""
    return Parent(load_bundle(directory))
