"""Drift: served inputs counted into the training distribution's bins, compared by PSI."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from runtime.bundle import DriftReference, FeatureSpec
from runtime.features import Encoder

__all__ = ["bin_counts", "population_stability_index"]

# Shares below this are floored so that an empty bin gives a large, finite PSI.
_FLOOR = 1e-4


def bin_counts(
    spec: FeatureSpec, edges: Sequence[float], values: Sequence[object], encoder: Encoder
) -> np.ndarray:
    """Count ``values`` of one field into its bins.

    Numeric fields use the quantile ``edges`` (a value equal to an edge goes to
    the bin above it); categorical ones one bin per category plus a last bin
    for unknown values.
    """
    if spec.kind == "numeric":
        index = np.searchsorted(np.asarray(edges), np.asarray(values, dtype=np.float64), "right")
        return np.bincount(index, minlength=len(edges) + 1)
    codes = encoder.codes(spec, values)  # type: ignore[arg-type]
    codes[codes < 0] = len(spec.categories)
    return np.bincount(codes, minlength=len(spec.categories) + 1)


def population_stability_index(reference: DriftReference, counts: np.ndarray) -> float:
    """PSI of observed ``counts`` against the reference shares."""
    total = counts.sum()
    if total == 0:
        return 0.0
    expected = np.maximum(np.asarray(reference.shares), _FLOOR)
    observed = np.maximum(counts / total, _FLOOR)
    return float(((observed - expected) * np.log(observed / expected)).sum())
