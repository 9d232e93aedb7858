"""The stability part of the training report: a section and a figure from the bootstrap."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display here

import matplotlib.pyplot as plt
import numpy as np

from runtime.core.bundle import Manifest
from training.figures import COLOURS, colour, png
from training.stability import Bootstrap

__all__ = ["stability_figure", "stability_section"]


def stability_figure(bootstrap: Bootstrap, manifest: Manifest) -> bytes:
    """The ARI of every resample, and each segment's Jaccard against Hennig's thresholds."""
    summary = bootstrap.stability
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    left.hist(bootstrap.ari, bins=np.linspace(min(0.0, float(bootstrap.ari.min())), 1, 41),
              color=COLOURS[2])
    left.axvline(summary.ari_mean, color="black", label=f"mean {summary.ari_mean:.3f}")
    left.axvline(summary.ari_p5, color="grey", linestyle="--",
                 label=f"5th percentile {summary.ari_p5:.3f}")
    left.set_xlabel("adjusted Rand index of a refit against the model")
    left.set_ylabel("resamples")
    left.legend(loc="upper left", fontsize=8)
    ids = [segment.id for segment in manifest.segments]
    right.bar(range(len(ids)), summary.jaccard, color=[colour(segment) for segment in ids])
    right.set_xticks(range(len(ids)), [f"{s.id} {s.name}" for s in manifest.segments],
                     rotation=15, fontsize=8)
    # Hennig's reading: above 0.85 highly stable, below 0.6 the cluster dissolves.
    right.axhline(0.85, color="black", linestyle=":", label="0.85: highly stable")
    right.axhline(0.6, color="grey", linestyle=":", label="0.6: dissolved below")
    right.set_ylim(0, 1)
    right.set_ylabel("clusterwise Jaccard (mean over resamples)")
    right.legend(loc="lower right", fontsize=8)
    figure.suptitle(f"Bootstrap stability: {summary.resamples} {summary.refit} refits "
                    f"on {summary.sample_size:,} customers")
    return png(figure)


def stability_section(manifest: Manifest) -> list[str]:
    """The training report's stability section (none for a bundle without the figures)."""
    summary = manifest.metrics.stability
    if summary is None:
        return []
    refit = ("K-Means from the warm start's centroids" if summary.refit == "warm"
             else "fresh K-Means (k-means++ restarts)")
    return [
        "## Stability",
        "",
        f"{summary.resamples} bootstrap resamples (seed {summary.seed}) of "
        f"{summary.sample_size:,} training customers, each refitted on the distinct customers "
        f"it drew with {refit}; the refit assigns every one of the {summary.sample_size:,} "
        "customers and is compared with the model (adjusted Rand index). Jaccard: per segment, "
        "the mean over resamples of the best-matching refit cluster's Jaccard similarity on "
        "the resampled customers (Hennig 2007).",
        "",
        "| adjusted Rand index: mean | 5th percentile | worst |",
        "|---|---|---|",
        f"| {summary.ari_mean:.3f} | {summary.ari_p5:.3f} | {summary.ari_worst:.3f} |",
        "",
        "| id | segment | Jaccard |",
        "|---|---|---|",
        *(f"| {s.id} | {s.name} | {summary.jaccard[s.id]:.3f} |" for s in manifest.segments),
        "",
        "![bootstrap stability](stability.png)",
        "",
    ]
