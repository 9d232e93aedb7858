"""Fitting K-Means on cleaned customers, in the weighted, standardized feature space."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sklearn import config_context
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from runtime.core.bundle import DriftReference, FeatureSpec
from runtime.core.drift import bin_counts
from runtime.core.feature_layout import FeatureLayout
from runtime.core.features import Encoder
from runtime.scoring.export import NUMERIC_COLUMNS, ExportChunk
from training.catalogue import rank_by_spending

if TYPE_CHECKING:  # training.warm imports this module
    from training.warm import Parent

__all__ = [
    "DISCOUNT_WEIGHT",
    "FittedModel",
    "drift_reference",
    "feature_specs",
    "fit",
]

# Spending behaviour defines the personas. DiscountUsage separates them too, but
# at full weight it pulls low spenders who rarely use discounts into the regulars;
# 0.8 keeps the seed's personas and places its three samples (see README).
DISCOUNT_WEIGHT = 0.8
SPENDING_FIELDS = ("AnnualIncome", "TotalSpent", "MonthlyPurchases", "AvgOrderValue", "AppTimeMinutes")
# K-Means restarts: the shared data has a second local optimum, a hair worse, that one
# start in four lands in; 50 starts miss the best one about once in two million fits,
# so segment assignments do not depend on the random state or the row order.
N_INIT = 50
# Beyond this many customers the restarts run on a random sample, and one K-Means
# run on all customers refines the best of them.
INIT_SAMPLE = 5_000
# Silhouette costs O(n^2): estimated on a sample (exact below this size).
SILHOUETTE_SAMPLE = 10_000
# Its pairwise distances are computed in blocks of this many MB (scikit-learn's default,
# 1 GB, would hold the whole 10,000 x 10,000 matrix at once).
SILHOUETTE_MEMORY_MB = 64
DRIFT_BINS = 10


def feature_specs(export: ExportChunk, discount_weight: float = DISCOUNT_WEIGHT) -> list[FeatureSpec]:
    """Every input field, in model order; only spending fields and DiscountUsage carry weight."""
    cities = sorted(set(export.columns["City"].tolist()))
    return [
        *(FeatureSpec(name, "numeric", 1.0) for name in SPENDING_FIELDS),
        FeatureSpec("DiscountUsage", "ordinal", discount_weight, ["Low", "Medium", "High"]),
        FeatureSpec("Age", "numeric", 0.0),
        FeatureSpec("Gender", "binary", 0.0, ["F", "M"], {"Female": "F", "Male": "M"}),
        FeatureSpec("City", "one-hot", 0.0, cities, unknown="neutral"),
        FeatureSpec("PreferredShoppingTime", "binary", 0.0, ["Day", "Night"]),
    ]


@dataclass(frozen=True)
class FittedModel:
    """A fitted model with its clusters renumbered as segment ids."""

    layout: FeatureLayout
    mean: np.ndarray
    scale: np.ndarray
    centroids: np.ndarray  # row i belongs to segment i
    segments: np.ndarray  # segment id of every training customer
    inertia: float
    silhouette: float
    profiles: list[dict[str, float]]  # indexed by segment id
    start: np.ndarray | None = None  # a warm start's centroids in this space, by parent row

    @property
    def sizes(self) -> list[int]:
        return np.bincount(self.segments, minlength=len(self.centroids)).tolist()

    def space(self, export: ExportChunk) -> np.ndarray:
        """The customers of ``export`` in the model's weighted, standardized space."""
        raw = np.ascontiguousarray(Encoder(self.layout).transform(export.columns))
        return np.asarray((raw - self.mean) / self.scale * self.layout.weights)


def _profile(
    export: ExportChunk, encoder: Encoder, codes: dict[str, np.ndarray], members: np.ndarray
) -> dict[str, float]:
    profile = {name: float(export.columns[name][members].mean()) for name in NUMERIC_COLUMNS}
    for spec in encoder.features:
        if spec.kind == "numeric":
            continue
        member_codes = codes[spec.field][members]
        if spec.kind == "ordinal":
            profile[spec.field] = float(member_codes.mean())
        for code, category in enumerate(spec.categories):
            profile[f"{spec.field}={category}"] = float((member_codes == code).mean())
    return profile


def _kmeans(space: np.ndarray, k: int, random_state: int, start: np.ndarray | None) -> KMeans:
    """The best of ``N_INIT`` k-means++ starts, chosen on a sample of a large export;
    or one run from the warm start ``start``.

    One thread: scikit-learn splits the customers among its threads and adds
    their partial sums, so on a large export the centroids' last bits depend on
    the machine's core count (1M customers: 1 and 2 threads differ by 6e-12), and
    a bundle could not be reproduced bit for bit elsewhere. On a busy machine the
    threads also wait on each other far longer than these short fits take.
    """
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        # Fewer distinct customers than k: say so instead of fitting empty segments.
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            if start is not None:
                return KMeans(n_clusters=k, init=start, n_init=1).fit(space)
            if len(space) <= INIT_SAMPLE:
                return KMeans(n_clusters=k, random_state=random_state, n_init=N_INIT).fit(space)
            rng = np.random.default_rng(random_state)
            sample = space[np.sort(rng.choice(len(space), INIT_SAMPLE, replace=False))]
            start = KMeans(n_clusters=k, random_state=random_state, n_init=N_INIT).fit(sample)
            return KMeans(n_clusters=k, init=start.cluster_centers_, n_init=1).fit(space)
        except ConvergenceWarning as exc:
            raise ValueError(f"K-Means cannot form {k} segments: {exc}") from exc


def fit(
    export: ExportChunk,
    features: list[FeatureSpec],
    k: int = 3,
    random_state: int = 42,
    parent: Parent | None = None,
) -> FittedModel:
    """Standardize, weight, cluster (from ``parent``'s centroids when given), and
    renumber clusters by spending rank.

    Raises :class:`runtime.features.InvalidValue` (index into ``export``) for a
    category the features refuse, and :class:`ValueError` when the customers
    cannot form ``k`` segments.
    """
    if len(export) <= k:
        raise ValueError(f"{len(export)} customers cannot form {k} segments (more than k needed)")
    layout = FeatureLayout.of(features)
    encoder = Encoder(layout)
    # C order, whatever the encoder returns: the reductions' rounding depends on the layout,
    # and a retrain must reproduce a bundle bit for bit.
    raw = np.ascontiguousarray(encoder.transform(export.columns))
    mean = raw.mean(axis=0)
    scale = raw.std(axis=0)
    scale[scale == 0] = 1.0
    space = np.ascontiguousarray((raw - mean) / scale * layout.weights)
    del raw
    start = None if parent is None else parent.centroids(features, mean, scale)
    kmeans = _kmeans(space, k, random_state, start)
    labels = kmeans.labels_
    codes = {
        spec.field: encoder.codes(spec, export.columns[spec.field])
        for spec in features if spec.kind != "numeric"
    }
    label_profiles = [_profile(export, encoder, codes, labels == label) for label in range(k)]
    ids = rank_by_spending(label_profiles)
    order = np.argsort(ids)  # cluster label for each segment id
    segments = ids[labels]
    with config_context(working_memory=SILHOUETTE_MEMORY_MB):
        silhouette = silhouette_score(
            space, segments, sample_size=min(len(space), SILHOUETTE_SAMPLE),
            random_state=random_state,
        )
    return FittedModel(
        layout=layout,
        mean=mean,
        scale=scale,
        centroids=np.ascontiguousarray(kmeans.cluster_centers_[order]),
        segments=segments,
        inertia=float(kmeans.inertia_),
        silhouette=float(silhouette),
        profiles=[label_profiles[label] for label in order],
        start=start,
    )


def drift_reference(export: ExportChunk, features: list[FeatureSpec]) -> list[DriftReference]:
    """Each field's training distribution, binned as the runtime will bin served inputs."""
    encoder = Encoder(FeatureLayout.of(features))
    references = []
    for spec in features:
        values = export.columns[spec.field]
        edges: list[float] = []
        if spec.kind == "numeric":
            quantiles = np.quantile(values, np.linspace(0, 1, DRIFT_BINS + 1)[1:-1])
            edges = np.unique(quantiles).tolist()
        counts = bin_counts(spec, edges, values, encoder)
        shares = (counts / counts.sum()).round(6).tolist()
        references.append(DriftReference(spec.field, edges, shares))
    return references
