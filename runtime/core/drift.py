"""Drift: served inputs counted into the training distribution's bins, compared by PSI."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from itertools import chain

import msgspec
import numpy as np

from runtime.core.bundle import DriftReference, FeatureSpec
from runtime.core.feature_layout import FeatureLayout
from runtime.core.features import Column, Encoder

__all__ = ["MIN_SAMPLE", "DriftMonitor", "DriftReport", "bin_counts", "population_stability_index"]

# PSI of a sample drawn from the reference itself is about (bins - 1) / customers: with ~10
# bins, 500 customers keep that noise near 0.02, well under the 0.1 read as a moderate shift;
# 6 customers give several units, an alarm about nothing.
MIN_SAMPLE = 500

# Shares below this are floored so that an empty bin gives a large, finite PSI.
_FLOOR = 1e-4


def bin_index(
    spec: FeatureSpec, edges: Sequence[float], values: Column, encoder: Encoder
) -> np.ndarray:
    """The bin of each of ``values`` of one field.

    Numeric fields use the quantile ``edges`` (a value equal to an edge goes to
    the bin above it); categorical ones one bin per category plus a last bin
    for unknown values.
    """
    if spec.kind == "numeric":
        # The number of edges at or below each value, as searchsorted(side="right") for the
        # validated, finite values; with a few edges, comparing against each is branch-free
        # and several times faster than a binary search per value.
        numbers = np.asarray(values, dtype=np.float64)
        bins: np.ndarray = np.add.reduce(numbers >= np.asarray(edges)[:, None], axis=0, dtype=np.intp)
        return bins
    codes = encoder.codes(spec, values)
    return np.where(codes < 0, len(spec.categories), codes)


def bin_counts(
    spec: FeatureSpec, edges: Sequence[float], values: Column, encoder: Encoder
) -> np.ndarray:
    """Count ``values`` of one field into its bins (see :func:`bin_index`)."""
    bins = len(edges) + 1 if spec.kind == "numeric" else len(spec.categories) + 1
    return np.bincount(bin_index(spec, edges, values, encoder), minlength=bins)


def population_stability_index(reference: DriftReference, counts: np.ndarray) -> float:
    """PSI of observed ``counts`` against the reference shares."""
    total = counts.sum()
    if total == 0:
        return 0.0
    expected = np.maximum(np.asarray(reference.shares), _FLOOR)
    observed = np.maximum(counts / total, _FLOOR)
    return float(((observed - expected) * np.log(observed / expected)).sum())


class FieldDrift(msgspec.Struct):
    """One field's PSI (None below the minimum sample) and the customers it rests on."""

    field: str
    psi: float | None
    customers: int
    counts: list[int]
    reference_shares: list[float]


class DriftReport(msgspec.Struct):
    """The drift window: how many customers it holds, since when, and each field's PSI."""

    window_size: int
    customers: int
    window_start: str | None
    fields: list[FieldDrift]
    min_sample: int = MIN_SAMPLE


_FLUSH_AT = 512


def _joined(parts: Sequence[Mapping[str, Column]], spec: FeatureSpec) -> Column:
    """One field's values across buffered column sets (a single set is used as it is)."""
    if len(parts) == 1:
        return parts[0][spec.field]
    if isinstance(parts[0][spec.field], np.ndarray):  # the service's numbers and codes
        return np.concatenate([part[spec.field] for part in parts])
    return list(chain.from_iterable(part[spec.field] for part in parts))


class DriftMonitor:
    """Counts served customers into the reference bins over a rolling window.

    The request path only appends the customers' columns to lists; they are
    binned in one vectorized pass per field once enough have gathered, or when
    a report is asked for. The window is kept as ``slices`` consecutive buckets, the oldest
    dropped as a new one starts.
    """

    def __init__(
        self, layout: FeatureLayout, references: Sequence[DriftReference],
        window: int, slices: int = 10, min_sample: int = MIN_SAMPLE,
    ) -> None:
        by_field = {reference.field: reference for reference in references}
        self._fields = [(spec, by_field[spec.field]) for spec in layout.features
                        if spec.field in by_field]
        self._encoder = Encoder(layout)
        self.window = window
        self.min_sample = min_sample
        self._bucket_size = max(1, window // slices)
        # A bucket counts every field's bins in one array: field i's bins start at offset i.
        sizes = [len(reference.shares) for _, reference in self._fields]
        self._offsets = np.cumsum([0, *sizes])
        self._buckets: deque[tuple[float, np.ndarray, int]] = deque(maxlen=slices)
        self._pending: list[Mapping[str, Column]] = []
        self._pending_count = 0

    def observe(self, columns: Mapping[str, Column]) -> None:
        """Count customers given as columns (field name to values, all of one length)."""
        self._pending.append(columns)
        self._pending_count += len(next(iter(columns.values()), ()))
        if self._pending_count >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        parts, count = self._pending, self._pending_count
        if not parts:
            return
        self._pending, self._pending_count = [], 0
        # One vectorized pass per field over everything pending, then one count per bucket.
        bins = np.stack([
            bin_index(spec, reference.edges, _joined(parts, spec), self._encoder)
            for spec, reference in self._fields
        ]) + self._offsets[:-1, None]
        done = 0
        while done < count:
            if not self._buckets or self._buckets[-1][2] >= self._bucket_size:
                self._buckets.append((time.time(), np.zeros(self._offsets[-1], dtype=np.int64), 0))
            start, counts, size = self._buckets[-1]
            take = min(self._bucket_size - size, count - done)
            counts += np.bincount(bins[:, done:done + take].ravel(), minlength=len(counts))
            self._buckets[-1] = (start, counts, size + take)
            done += take

    def report(self) -> DriftReport:
        self.flush()
        fields = []
        window = sum((bucket[1] for bucket in self._buckets), np.zeros(self._offsets[-1], dtype=np.int64))
        for (spec, reference), first, end in zip(self._fields, self._offsets[:-1], self._offsets[1:],
                                                 strict=True):
            counts = window[first:end]
            customers = int(counts.sum())
            psi = population_stability_index(reference, counts)
            fields.append(FieldDrift(spec.field, round(psi, 6) if customers >= self.min_sample else None,
                                     customers, counts.tolist(), reference.shares))
        start = self._buckets[0][0] if self._buckets else None
        return DriftReport(
            window_size=self.window,
            customers=sum(bucket[2] for bucket in self._buckets),
            window_start=datetime.fromtimestamp(start, UTC).isoformat(timespec="seconds") if start else None,
            fields=fields,
            min_sample=self.min_sample,
        )
