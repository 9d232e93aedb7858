"""Two bundles on one export: who changes segment, how far each centroid moved, which model is better.

Every complete customer of the export is assigned by both bundles, as serving
would assign them (no outlier is dropped: they are customers too); only the
stability refits leave outliers out, as training does. Segment ids are the
catalogue's, so the movement matrix reads old persona against new one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn import config_context
from sklearn.metrics import silhouette_score

from runtime.core.bundle import Bundle, Stability
from runtime.core.features import InvalidValue
from runtime.core.predictor import Predictions, Predictor
from runtime.scoring.export import ExportChunk
from training.cleaning import drop_outliers
from training.model import SILHOUETTE_MEMORY_MB, SILHOUETTE_SAMPLE
from training.stability import bootstrap
from training.warm import centroids_in_units

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Comparison:
    """The two bundles' assignments of one export, and what follows from them."""

    old: Bundle
    new: Bundle
    movement: np.ndarray  # (k old, k new) customers by old and new segment id
    silhouettes: tuple[float, float]  # each bundle's, on the export, in its own space
    silhouette_sample: int  # customers the silhouettes were scored on
    # Each bundle's bootstrap on this export's customers as training cleans them, refits
    # warm from its own centroids: its segments' stability here (recorded at training or not).
    stabilities: tuple[Stability, Stability]
    columns: list[str] | None  # model columns, when both bundles share them
    shift: np.ndarray | None  # (k, columns) new minus old centroid, original units

    @property
    def customers(self) -> int:
        return int(self.movement.sum())

    @property
    def moved(self) -> int:
        """Customers whose segment id differs between the bundles."""
        k = min(self.movement.shape)
        return self.customers - int(np.trace(self.movement[:k, :k]))

    @property
    def moved_share(self) -> float:
        return self.moved / self.customers if self.customers else 0.0


def _silhouette(predictions: Predictions, sample: np.ndarray) -> float:
    segments = predictions.segments[sample]
    if not 2 <= len(np.unique(segments)) < len(segments):
        return float("nan")  # one segment, or one customer per segment: undefined
    with config_context(working_memory=SILHOUETTE_MEMORY_MB):
        return float(silhouette_score(predictions.scaled[sample], segments))


def _stability(bundle: Bundle, predictions: Predictions, keep: np.ndarray, seed: int) -> Stability:
    return bootstrap(predictions.scaled[keep], predictions.segments[keep],
                     bundle.manifest.model.k, init=bundle.centroids, seed=seed).stability


def _predict(bundle: Bundle, export: ExportChunk) -> Predictions:
    try:
        return Predictor(bundle).predict(export.columns)
    except InvalidValue as exc:
        line = export.lines[exc.index]
        customer = export.columns["CustomerID"][exc.index]
        raise ValueError(
            f"line {line} ({customer}): {exc.field}: {exc.reason} "
            f"(under the bundle in {bundle.path})"
        ) from exc


def compare(old: Bundle, new: Bundle, export: ExportChunk, seed: int = 42) -> Comparison:
    """Assign ``export`` with both bundles and compare (ValueError for a value one refuses)."""
    if len(export) == 0:
        raise ValueError("the export holds no complete customer")
    before, after = _predict(old, export), _predict(new, export)
    k_old, k_new = old.manifest.model.k, new.manifest.model.k
    movement = np.bincount(before.segments * k_new + after.segments,
                           minlength=k_old * k_new).reshape(k_old, k_new)
    keep, _ = drop_outliers(export)  # outliers would pull the refits as training never does
    rng = np.random.default_rng(seed)
    sample = (np.arange(len(export)) if len(export) <= SILHOUETTE_SAMPLE
              else np.sort(rng.choice(len(export), SILHOUETTE_SAMPLE, replace=False)))
    columns = list(old.layout.names)
    comparable = k_old == k_new and old.layout.names == new.layout.names
    return Comparison(
        old=old,
        new=new,
        movement=movement,
        silhouettes=(_silhouette(before, sample), _silhouette(after, sample)),
        silhouette_sample=len(sample),
        stabilities=(_stability(old, before, keep, seed), _stability(new, after, keep, seed)),
        columns=columns if comparable else None,
        shift=centroids_in_units(new) - centroids_in_units(old) if comparable else None,
    )
