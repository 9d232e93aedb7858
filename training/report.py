"""The training report: a Markdown page with PNG figures, written beside the bundle.

Figures stay cheap and legible at any size: the k sweep fits on a sample and
scores it on a smaller one (silhouette costs O(n^2)), and the projection plots
a sample of the customers.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display here

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from sklearn import config_context
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from runtime.core.bundle import Manifest
from runtime.scoring.export import ExportChunk
from training.figures import COLOURS, colour, money, png
from training.model import SILHOUETTE_MEMORY_MB, FittedModel
from training.stability import Bootstrap
from training.stability_report import stability_figure, stability_section

__all__ = ["K_RANGE", "render_report"]

K_RANGE = range(2, 9)
SWEEP_SAMPLE = 10_000  # customers the k sweep fits K-Means on
SWEEP_SILHOUETTE = 4_000  # of those, customers it scores the silhouette on
PLOT_SAMPLE = 5_000  # customers drawn in the projection
PROFILE_FIELDS = ("AnnualIncome", "TotalSpent", "MonthlyPurchases", "AvgOrderValue",
                  "AppTimeMinutes", "DiscountUsage", "Age")
MONEY_FIELDS = {"AnnualIncome", "TotalSpent", "AvgOrderValue"}


def _sample(rng: np.random.Generator, size: int, limit: int) -> np.ndarray:
    """Sorted indices of at most ``limit`` of ``size`` rows (all of them when there are few)."""
    if size <= limit:
        return np.arange(size)
    return np.sort(rng.choice(size, limit, replace=False))


def _k_sweep(space: np.ndarray, k: int, seed: int) -> tuple[bytes, list[tuple[int, float, float]]]:
    rng = np.random.default_rng(seed)
    sample = space[_sample(rng, len(space), SWEEP_SAMPLE)]
    scored = _sample(rng, len(sample), SWEEP_SILHOUETTE)
    rows = []
    for candidate in K_RANGE:
        if candidate >= len(scored):
            break
        with threadpool_limits(limits=1, user_api="openmp"):  # as in training.model._kmeans
            kmeans = KMeans(n_clusters=candidate, random_state=seed, n_init=10).fit(sample)
        with config_context(working_memory=SILHOUETTE_MEMORY_MB):
            silhouette = silhouette_score(sample[scored], kmeans.labels_[scored])
        rows.append((candidate, float(silhouette), float(kmeans.inertia_)))
    figure, left = plt.subplots(figsize=(7, 4))
    ks = [row[0] for row in rows]
    left.plot(ks, [row[1] for row in rows], "o-", color=COLOURS[2], label="silhouette")
    left.set_xlabel("k (number of segments)")
    left.set_ylabel("silhouette (higher is better)", color=COLOURS[2])
    left.axvline(k, color="grey", linestyle=":", label=f"the model's k = {k}")
    right = left.twinx()
    right.plot(ks, [row[2] for row in rows], "s--", color=COLOURS[0], label="inertia")
    right.set_ylabel("inertia (within-segment spread)", color=COLOURS[0])
    handles = [*left.get_legend_handles_labels()[0], *right.get_legend_handles_labels()[0]]
    left.legend(handles=handles, loc="upper right", fontsize=8)
    sampled = f", on {len(sample):,} sampled customers" if len(sample) < len(space) else ""
    left.set_title(f"Silhouette and inertia against k{sampled}")
    return png(figure), rows


def _profiles(manifest: Manifest) -> bytes:
    figure, axes = plt.subplots(2, 4, figsize=(12, 6), layout="constrained")
    segments = manifest.segments
    ids = [segment.id for segment in segments]
    colours = [colour(segment) for segment in ids]
    for axis, field in zip(axes.flat, PROFILE_FIELDS, strict=False):
        axis.bar(range(len(segments)), [s.profile[field] for s in segments], color=colours)
        axis.set_title(field)
        axis.set_xticks(range(len(segments)), [str(segment) for segment in ids])
        if field in MONEY_FIELDS:
            axis.yaxis.set_major_formatter(FuncFormatter(money))
        spec = next((f for f in manifest.features if f.field == field), None)
        if spec is not None and spec.kind == "ordinal":
            axis.set_yticks(range(len(spec.categories)), spec.categories)
            axis.set_ylim(0, len(spec.categories) - 1)
    legend = axes.flat[-1]
    legend.axis("off")
    legend.legend(
        [Patch(color=shade) for shade in colours],
        [f"{s.id} {s.name}\n({s.size:,} customers)" for s in segments],
        loc="center", fontsize=9, frameon=False,
    )
    figure.suptitle("Segment profiles: means on the training customers, by segment id")
    return png(figure)


def _projection(space: np.ndarray, model: FittedModel, manifest: Manifest, seed: int) -> bytes:
    shown = _sample(np.random.default_rng(seed), len(space), PLOT_SAMPLE)
    points, segments = space[shown], model.segments[shown]
    centre = points.mean(axis=0)
    _, _, axes_t = np.linalg.svd(points - centre, full_matrices=False)
    flat = (points - centre) @ axes_t[:2].T
    figure, axis = plt.subplots(figsize=(6.5, 5))
    small = len(shown) <= 1000
    for segment in manifest.segments:
        members = flat[segments == segment.id]
        axis.scatter(members[:, 0], members[:, 1], s=14 if small else 4, alpha=0.7 if small else 0.3,
                     linewidths=0, color=colour(segment.id))
    centres = (model.centroids - centre) @ axes_t[:2].T
    axis.scatter(centres[:, 0], centres[:, 1], marker="X", s=160, color="black")
    axis.set_xlabel("first principal component")
    axis.set_ylabel("second principal component")
    sampled = f" ({len(shown):,} of {len(space):,} shown)" if len(shown) < len(space) else ""
    axis.set_title(f"Customers in the model space, projected to 2-D{sampled}")
    # Legend entries drawn opaque and at one size, however faint and small the points are.
    handles = [
        Line2D([], [], marker="o", linestyle="", color=colour(segment.id), markersize=6,
               label=f"{segment.id} {segment.name}")
        for segment in manifest.segments
    ]
    handles.append(Line2D([], [], marker="X", linestyle="", color="black", markersize=9,
                          label="centroids"))
    axis.legend(handles=handles, fontsize=8)
    return png(figure)


def _markdown(manifest: Manifest, sweep: list[tuple[int, float, float]], customers: int) -> str:
    info, metrics, parent = manifest.model, manifest.metrics, manifest.training.parent
    start = ("" if parent is None else
             f" Warm-started from {parent.name} {parent.version} (arrays `{parent.arrays_sha256}`).")
    lines = [
        f"# Training report: {info.name} {info.version}",
        "",
        f"Trained {info.trained_at} from `{manifest.training.data_file}` "
        f"(SHA-256 `{manifest.training.data_sha256}`) with `{info.command}`.",
        "",
        "## Cleaning",
        "",
        "| step | rows in | rows out | reasons |",
        "|---|---|---|---|",
        *(
            f"| {s.step} | {s.rows_in} | {s.rows_out} | "
            f"{', '.join(f'{r}: {n}' for r, n in s.reasons.items()) or '-'} |"
            for s in manifest.training.cleaning
        ),
        "",
        "## Model",
        "",
        f"K-Means, k = {info.k}, random state {info.random_state}: silhouette "
        f"{metrics.silhouette:.4f}, inertia {metrics.inertia:.2f}, sizes {metrics.sizes}.{start}",
        "",
        "| feature | kind | weight |",
        "|---|---|---|",
        *(f"| {f.field} | {f.kind} | {f.weight:g} |" for f in manifest.features),
        "",
        "## Choosing k",
        "",
        "![silhouette and inertia against k](k_sweep.png)",
        "",
        *(
            [f"K-Means fitted on {min(customers, SWEEP_SAMPLE):,} sampled customers, "
             f"silhouette scored on {min(customers, SWEEP_SILHOUETTE):,} of them.", ""]
            if customers > SWEEP_SILHOUETTE else []
        ),
        "| k | silhouette | inertia |",
        "|---|---|---|",
        *(f"| {k} | {s:.4f} | {i:.2f} |" for k, s, i in sweep),
        "",
        "## Segments",
        "",
        "| id | segment | size | characteristics |",
        "|---|---|---|---|",
        *(
            f"| {s.id} | {s.name} | {s.size} | {'; '.join(s.characteristics)} |"
            for s in manifest.segments
        ),
        "",
        "![segment profiles](profiles.png)",
        "",
        "![2-D projection](projection.png)",
        "",
        *stability_section(manifest),
    ]
    return "\n".join(lines)


def render_report(
    customers: ExportChunk, model: FittedModel, manifest: Manifest, stability: Bootstrap,
    seed: int,
) -> dict[str, bytes]:
    """The report's files, by path relative to the bundle directory."""
    space = model.space(customers)
    sweep_png, sweep = _k_sweep(space, manifest.model.k, seed)
    return {
        "report/report.md": _markdown(manifest, sweep, len(space)).encode(),
        "report/k_sweep.png": sweep_png,
        "report/profiles.png": _profiles(manifest),
        "report/projection.png": _projection(space, model, manifest, seed),
        "report/stability.png": stability_figure(stability, manifest),
    }
