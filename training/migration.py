"""The migration report: Markdown, a figure and the verdict, written beside the new bundle.

``migration.json`` (:class:`runtime.core.migration.Migration`) is what the
rollout reads; ``migration.md`` and ``migration.png`` are for the people who
decide. Each file is written to a temporary name and renamed, the verdict last.
"""

from __future__ import annotations

import math
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display here

import matplotlib.pyplot as plt
import numpy as np

from runtime.core.bundle import Bundle, BundleRef, Stability
from runtime.core.migration import MIGRATION_FILE, Migration, encode_migration
from training.compare import Comparison
from training.figures import colour, png

__all__ = ["FIGURE_FILE", "REPORT_FILE", "render_migration", "verdict", "write_migration"]

REPORT_FILE = "migration.md"
FIGURE_FILE = "migration.png"


def _ref(bundle: Bundle) -> BundleRef:
    info = bundle.manifest.model
    return BundleRef(name=info.name, version=info.version, arrays_sha256=bundle.checksum)


def verdict(comparison: Comparison, limit: float, export_file: str, export_sha256: str) -> Migration:
    """The comparison's verdict: passed when at most ``limit`` of the customers move."""
    share = comparison.moved_share
    return Migration(
        old=_ref(comparison.old),
        new=_ref(comparison.new),
        export_file=export_file,
        export_sha256=export_sha256,
        compared_at=datetime.now(UTC).isoformat(timespec="seconds"),
        customers=comparison.customers,
        moved=comparison.moved,
        moved_share=round(share, 6),
        limit=limit,
        passed=share <= limit,
        movement=comparison.movement.tolist(),
    )


def _names(bundle: Bundle) -> list[str]:
    return [f"{segment.id} {segment.name}" for segment in bundle.manifest.segments]


def _figure(comparison: Comparison) -> bytes:
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    movement = comparison.movement
    left.imshow(movement, cmap="Blues")
    for (row, column), count in np.ndenumerate(movement):
        dark = count > movement.max() / 2
        left.text(column, row, f"{count:,}", ha="center", va="center",
                  color="white" if dark else "black")
    left.set_xticks(range(movement.shape[1]), _names(comparison.new), rotation=15, fontsize=8)
    left.set_yticks(range(movement.shape[0]), _names(comparison.old), fontsize=8)
    left.set_xlabel(f"new segment ({comparison.new.manifest.model.version})")
    left.set_ylabel(f"old segment ({comparison.old.manifest.model.version})")
    left.set_title(f"Customers by segment: {comparison.moved:,} of {comparison.customers:,} move")
    if comparison.shift is None or comparison.columns is None:
        right.axis("off")
        right.text(0.5, 0.5, "different k or features:\nno centroid shift", ha="center")
    else:
        # In old standard deviations, so that income and minutes share one axis.
        relative = comparison.shift / comparison.old.scale
        width = 0.8 / len(relative)
        positions = np.arange(len(comparison.columns))
        for segment, row in enumerate(relative):
            right.bar(positions + (segment - (len(relative) - 1) / 2) * width, row, width,
                      color=colour(segment), label=_names(comparison.old)[segment])
        right.axhline(0, color="black", linewidth=0.8)
        right.set_xticks(positions, comparison.columns, rotation=15, fontsize=8)
        right.set_ylabel("centroid shift (old standard deviations)")
        right.legend(fontsize=8)
        right.set_title("How far each segment's centre moved")
    return png(figure)


def _stability(stability: Stability | None) -> tuple[str, str]:
    if stability is None:
        return "not recorded", "not recorded"
    jaccard = " / ".join(f"{value:.3f}" for value in stability.jaccard)
    return (f"{stability.ari_mean:.3f} / {stability.ari_p5:.3f} / {stability.ari_worst:.3f} "
            f"({stability.resamples} {stability.refit} refits on {stability.sample_size:,})",
            jaccard)


def _side_by_side(what: str, old: Stability | None, new: Stability | None) -> list[str]:
    (old_ari, old_jaccard), (new_ari, new_jaccard) = _stability(old), _stability(new)
    return [f"| bootstrap ARI {what}: mean / 5th percentile / worst | {old_ari} | {new_ari} |",
            f"| clusterwise Jaccard by segment id {what} | {old_jaccard} | {new_jaccard} |"]


def _number(value: float) -> str:
    return "undefined" if math.isnan(value) else f"{value:.4f}"


def render_migration(comparison: Comparison, migration: Migration) -> str:
    """The Markdown report."""
    old, new = comparison.old, comparison.new
    status = "PASSED" if migration.passed else "FAILED"
    lines = [
        f"# Migration report: {old.manifest.model.name} {old.manifest.model.version} "
        f"-> {new.manifest.model.version}",
        "",
        f"Compared {migration.compared_at} on `{migration.export_file}` "
        f"(SHA-256 `{migration.export_sha256}`): {migration.customers:,} complete customers, "
        "each assigned by both bundles.",
        "",
        f"**Verdict: {status}.** {migration.moved:,} of {migration.customers:,} customers "
        f"({migration.moved_share:.2%}) change segment; the limit is {migration.limit:.2%}.",
        "",
        "## Movement",
        "",
        "Rows: segment under the old bundle; columns: under the new one.",
        "",
        "| old \\ new | " + " | ".join(_names(new)) + " |",
        "|---" * (len(_names(new)) + 1) + "|",
        *(f"| {name} | " + " | ".join(f"{count:,}" for count in row) + " |"
          for name, row in zip(_names(old), migration.movement, strict=True)),
        "",
        f"![movement and centroid shift]({FIGURE_FILE})",
        "",
        "## Centroid shift",
        "",
    ]
    if comparison.shift is None or comparison.columns is None:
        lines += ["The bundles differ in k or in their weighted features: centroids do not "
                  "compare.", ""]
    else:
        lines += [
            "New minus old centre of each segment, in original units (ordinal fields in "
            "category steps).",
            "",
            "| segment | " + " | ".join(comparison.columns) + " |",
            "|---" * (len(comparison.columns) + 1) + "|",
            *(f"| {name} | " + " | ".join(f"{value:+,.2f}" for value in row) + " |"
              for name, row in zip(_names(old), comparison.shift, strict=True)),
            "",
        ]
    sample = (f" (scored on {comparison.silhouette_sample:,} sampled customers)"
              if comparison.silhouette_sample < migration.customers else "")
    lines += [
        "## Quality side by side",
        "",
        f"| | old {old.manifest.model.version} | new {new.manifest.model.version} |",
        "|---|---|---|",
        f"| silhouette on this export{sample} | {_number(comparison.silhouettes[0])} | "
        f"{_number(comparison.silhouettes[1])} |",
        f"| silhouette at training | {old.manifest.metrics.silhouette:.4f} | "
        f"{new.manifest.metrics.silhouette:.4f} |",
        *_side_by_side("on this export", *comparison.stabilities),
        *_side_by_side("at training", old.manifest.metrics.stability,
                       new.manifest.metrics.stability),
        "",
        "On this export: each bundle's segments refitted on bootstrap resamples of the "
        "export's customers as training cleans them (outliers dropped), starting from the "
        "bundle's own centroids. At training: as the manifest records.",
        "",
    ]
    return "\n".join(lines)


def _replace(path: Path, content: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide it from the service's user
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_migration(comparison: Comparison, migration: Migration) -> list[Path]:
    """Write the report, its figure and the verdict into the new bundle's directory."""
    directory = Path(comparison.new.path)
    files = [
        (directory / REPORT_FILE, render_migration(comparison, migration).encode()),
        (directory / FIGURE_FILE, _figure(comparison)),
        (directory / MIGRATION_FILE, encode_migration(migration)),  # last: the verdict is complete
    ]
    for path, content in files:
        _replace(path, content)
    return [path for path, _ in files]
