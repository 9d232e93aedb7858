"""The training report: a Markdown page with PNG figures, written beside the bundle."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from runtime.bundle import Manifest
from runtime.export import ExportChunk
from runtime.features import Encoder
from training.model import FittedModel

__all__ = ["K_RANGE", "render_report"]

K_RANGE = range(2, 9)
SWEEP_SAMPLE = 20_000
PROFILE_FIELDS = ("Age", "AnnualIncome", "TotalSpent", "MonthlyPurchases", "AvgOrderValue",
                  "AppTimeMinutes", "DiscountUsage")
COLOURS = ("#d62728", "#2ca02c", "#1f77b4", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _space(customers: ExportChunk, model: FittedModel) -> np.ndarray:
    raw = Encoder(model.features).transform({n: v.tolist() for n, v in customers.columns.items()})
    weights = np.concatenate([np.full(s.width, s.weight) for s in model.features if s.weight > 0])
    return np.asarray((raw - model.mean) / model.scale * weights)


def _k_sweep(space: np.ndarray, seed: int) -> tuple[bytes, list[tuple[int, float, float]]]:
    rng = np.random.default_rng(seed)
    if len(space) > SWEEP_SAMPLE:
        space = space[rng.choice(len(space), SWEEP_SAMPLE, replace=False)]
    sample = space
    rows = []
    for k in K_RANGE:
        if k >= len(sample):
            break
        kmeans = KMeans(n_clusters=k, random_state=seed, n_init=10).fit(sample)
        rows.append((k, float(silhouette_score(sample, kmeans.labels_)), float(kmeans.inertia_)))
    figure, left = plt.subplots(figsize=(7, 4))
    ks = [row[0] for row in rows]
    left.plot(ks, [row[1] for row in rows], "o-", color=COLOURS[2])
    left.set_xlabel("k (number of segments)")
    left.set_ylabel("silhouette", color=COLOURS[2])
    right = left.twinx()
    right.plot(ks, [row[2] for row in rows], "s--", color=COLOURS[0])
    right.set_ylabel("inertia", color=COLOURS[0])
    left.set_title("Silhouette and inertia against k")
    return _png(figure), rows


def _profiles(manifest: Manifest) -> bytes:
    figure, axes = plt.subplots(1, len(PROFILE_FIELDS), figsize=(3 * len(PROFILE_FIELDS), 3.6))
    names = [segment.name for segment in manifest.segments]
    for axis, field in zip(axes, PROFILE_FIELDS, strict=True):
        values = [segment.profile[field] for segment in manifest.segments]
        axis.bar(range(len(values)), values, color=COLOURS[: len(values)])
        axis.set_title(field)
        axis.set_xticks(range(len(values)), [str(s.id) for s in manifest.segments])
    figure.legend(
        [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLOURS[: len(names)]],
        [f"{s.id} {s.name}" for s in manifest.segments], loc="lower center", ncol=len(names),
    )
    figure.suptitle("Segment profiles (means on the training customers)")
    figure.subplots_adjust(bottom=0.22)
    return _png(figure)


def _projection(space: np.ndarray, model: FittedModel, manifest: Manifest) -> bytes:
    centred = space - space.mean(axis=0)
    _, _, axes_t = np.linalg.svd(centred, full_matrices=False)
    points = centred @ axes_t[:2].T
    figure, axis = plt.subplots(figsize=(6.5, 5))
    for segment in manifest.segments:
        members = points[model.segments == segment.id]
        axis.scatter(members[:, 0], members[:, 1], s=14, alpha=0.7,
                     color=COLOURS[segment.id % len(COLOURS)], label=f"{segment.id} {segment.name}")
    centres = (model.centroids - space.mean(axis=0)) @ axes_t[:2].T
    axis.scatter(centres[:, 0], centres[:, 1], marker="X", s=160, color="black", label="centroids")
    axis.set_xlabel("first principal component")
    axis.set_ylabel("second principal component")
    axis.set_title("Customers in the model space, projected to 2-D")
    axis.legend(fontsize=8)
    return _png(figure)


def _markdown(manifest: Manifest, sweep: list[tuple[int, float, float]]) -> str:
    info, metrics = manifest.model, manifest.metrics
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
        f"{metrics.silhouette:.4f}, inertia {metrics.inertia:.2f}, sizes {metrics.sizes}.",
        "",
        "| feature | kind | weight |",
        "|---|---|---|",
        *(f"| {f.field} | {f.kind} | {f.weight:g} |" for f in manifest.features),
        "",
        "## Choosing k",
        "",
        "![silhouette and inertia against k](k_sweep.png)",
        "",
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
    ]
    return "\n".join(lines)


def render_report(
    customers: ExportChunk, model: FittedModel, manifest: Manifest, seed: int
) -> dict[str, bytes]:
    """The report's files, by path relative to the bundle directory."""
    space = _space(customers, model)
    sweep_png, sweep = _k_sweep(space, seed)
    return {
        "report/report.md": _markdown(manifest, sweep).encode(),
        "report/k_sweep.png": sweep_png,
        "report/profiles.png": _profiles(manifest),
        "report/projection.png": _projection(space, model, manifest),
    }
