"""Bootstrap stability of a segmentation: would a retrain on slightly different customers agree?

K-Means is refitted on resamples (drawn with replacement) of the training
customers, the way training fits it: fresh k-means++ restarts, or a warm start
from the centroids the model itself started from. A real export lists each
customer once, so a refit sees each drawn customer once: duplicates would weigh
some customers double, which no retrain does (about 63% of the customers, the
distinct ones of a resample). Each refit is scored twice:

- the adjusted Rand index of its assignment of every sampled customer against
  the model's (1 is the same partition, 0 what chance gives);
- per segment, Hennig's clusterwise Jaccard stability ("Cluster-wise assessment
  of cluster stability", 2007): on the distinct customers of the resample, the
  Jaccard similarity of the segment with the refit's most similar cluster,
  averaged over resamples.

The refits are scikit-learn's; the scoring runs on all resamples at once, from
one contingency table per resample. Large exports are sampled down first.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from runtime.core.bundle import Stability

__all__ = [
    "FRESH_RESTARTS",
    "RESAMPLES",
    "STABILITY_SAMPLE",
    "Bootstrap",
    "adjusted_rand",
    "bootstrap",
    "clusterwise_jaccard",
    "measure",
]

RESAMPLES = 100
# Beyond this many customers the bootstrap runs on a random sample of them: stability
# is a property of the clusters' shape, which a few thousand customers show as well.
STABILITY_SAMPLE = 2_000
# k-means++ restarts per fresh refit: more change nothing on the shared data (issue 17),
# and the refits dominate the cost.
FRESH_RESTARTS = 10


@dataclass(frozen=True)
class Bootstrap:
    """The recorded summary, and every resample's adjusted Rand index (for the figure)."""

    stability: Stability
    ari: np.ndarray


@dataclass(frozen=True)
class _Tables:
    """Per resample, (resamples, k, k) counts of model segment against refit cluster."""

    everyone: np.ndarray  # over every sampled customer
    drawn: np.ndarray  # over the distinct customers the resample drew


def _tables(segments: np.ndarray, refits: np.ndarray, drawn: np.ndarray, k: int) -> _Tables:
    """``drawn`` marks, per resample, the customers it holds."""
    resamples = len(refits)
    cells = (np.arange(resamples)[:, None] * k + segments[None, :]) * k + refits
    size = resamples * k * k
    everyone = np.bincount(cells.ravel(), minlength=size)
    chosen = np.bincount(cells.ravel(), weights=drawn.ravel(), minlength=size)
    return _Tables(everyone.reshape(resamples, k, k), chosen.reshape(resamples, k, k))


def _pairs(counts: np.ndarray) -> np.ndarray:
    counts = counts.astype(np.float64)
    return counts * (counts - 1) / 2


def adjusted_rand(tables: np.ndarray) -> np.ndarray:
    """Adjusted Rand index of each (k, k) contingency table in ``tables`` (Hubert and Arabie)."""
    total = _pairs(tables.sum(axis=(1, 2)))
    together = _pairs(tables).sum(axis=(1, 2))
    rows = _pairs(tables.sum(axis=2)).sum(axis=1)
    columns = _pairs(tables.sum(axis=1)).sum(axis=1)
    expected = rows * columns / total
    maximum = (rows + columns) / 2
    spread = maximum - expected
    # Both partitions a single cluster (or every customer alone): identical, as scikit-learn says.
    safe = np.where(spread == 0, 1.0, spread)
    return np.where(spread == 0, 1.0, (together - expected) / safe)


def clusterwise_jaccard(tables: np.ndarray) -> np.ndarray:
    """Per segment (rows of each (k, k) table, counted on the resampled customers), the mean
    over resamples of its best-matching refit cluster's Jaccard similarity."""
    tables = tables.astype(np.float64)
    sizes = tables.sum(axis=2, keepdims=True)
    clusters = tables.sum(axis=1, keepdims=True)
    union = sizes + clusters - tables
    similarity = np.divide(tables, union, out=np.zeros_like(tables), where=union > 0)
    best = similarity.max(axis=2)
    # A segment none of whose customers the resample drew says nothing about its stability.
    present = sizes[:, :, 0] > 0
    return np.asarray((best * present).sum(axis=0) / np.maximum(present.sum(axis=0), 1))


def _refit(space: np.ndarray, k: int, init: np.ndarray | None, seed: int) -> np.ndarray:
    if len(space) < k:
        # Fewer customers than segments (a tiny export): each is its own cluster. The rows
        # repeat to make k; a repeat never wins the nearest-centroid tie, the first one does.
        return space[np.arange(k) % len(space)]
    if init is None:
        kmeans = KMeans(n_clusters=k, n_init=FRESH_RESTARTS, random_state=seed)
    else:
        kmeans = KMeans(n_clusters=k, init=init, n_init=1)
    return np.asarray(kmeans.fit(space).cluster_centers_)


def _nearest(space: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Nearest centroid of every customer under every refit: (resamples, customers)."""
    squared = (
        (centroids**2).sum(axis=2)[:, :, None]
        - 2 * np.einsum("rkd,nd->rkn", centroids, space)
        + (space**2).sum(axis=1)[None, None, :]
    )
    return np.asarray(squared.argmin(axis=1))


def bootstrap(
    space: np.ndarray,
    segments: np.ndarray,
    k: int,
    *,
    init: np.ndarray | None = None,
    resamples: int = RESAMPLES,
    seed: int = 42,
) -> Bootstrap:
    """Stability of the segments ``segments`` of the customers ``space`` (the model space).

    ``init`` is the warm start the model was fitted from (refits start there too),
    or ``None`` for fresh k-means++ refits.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    rng = np.random.default_rng(seed)
    if len(space) > STABILITY_SAMPLE:
        chosen = np.sort(rng.choice(len(space), STABILITY_SAMPLE, replace=False))
        space, segments = space[chosen], segments[chosen]
    count = len(space)
    draws = rng.integers(0, count, size=(resamples, count))
    seeds = rng.integers(0, 2**31 - 1, size=resamples)
    drawn = np.zeros((resamples, count), dtype=bool)  # the distinct customers of each resample
    np.put_along_axis(drawn, draws, True, axis=1)
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        # A resample of a tiny export may hold fewer distinct customers than k: its refit
        # merges segments, which is what instability means, not an error.
        warnings.simplefilter("ignore", ConvergenceWarning)
        centroids = np.stack([
            _refit(space[chosen], k, init, int(s)) for chosen, s in zip(drawn, seeds, strict=True)
        ])
    tables = _tables(segments, _nearest(space, centroids), drawn, k)
    ari = adjusted_rand(tables.everyone)
    summary = Stability(
        refit="fresh" if init is None else "warm",
        resamples=resamples,
        seed=seed,
        sample_size=count,
        ari_mean=round(float(ari.mean()), 6),
        ari_p5=round(float(np.percentile(ari, 5)), 6),
        ari_worst=round(float(ari.min()), 6),
        jaccard=[round(float(value), 6) for value in clusterwise_jaccard(tables.drawn)],
    )
    return Bootstrap(summary, ari)


def measure(
    space: np.ndarray,
    segments: np.ndarray,
    k: int,
    *,
    init: np.ndarray | None,
    resamples: int,
    seed: int,
    progress: Callable[[str], None],
) -> Bootstrap:
    """:func:`bootstrap`, with a progress line giving its figures and its time."""
    started = time.perf_counter()
    result = bootstrap(space, segments, k, init=init, resamples=resamples, seed=seed)
    summary = result.stability
    progress(f"bootstrap stability ({summary.resamples} {summary.refit} refits on "
             f"{summary.sample_size} customers, {time.perf_counter() - started:.1f} s): "
             f"ARI mean {summary.ari_mean:.3f}, 5th percentile {summary.ari_p5:.3f}, "
             f"worst {summary.ari_worst:.3f}; Jaccard by segment {summary.jaccard}")
    return result
