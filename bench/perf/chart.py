"""A PNG chart of a run: ours against the references, figure by figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["draw"]

_OURS, _REFERENCE, _GOAL = "#1f77b4", "#bbbbbb", "#d62728"


def draw(results: dict[str, Any], path: Path) -> Path:
    """One panel per compared figure, plus batch throughput against batch size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    compared = [f for f in results["figures"] if f["ours"] is not None and f["met"] is not None]
    sweep = results.get("batch_sweep") or {}
    panels = len(compared) + (1 if sweep else 0)
    columns = 3
    rows = max(1, -(-panels // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    flat = list(axes.flat)
    for ax, figure in zip(flat, compared, strict=False):
        labels, values, colors = ["ours"], [figure["ours"] * figure["scale"]], [_OURS]
        if figure["reference"] is not None:
            labels.append(figure["reference_name"] or "reference")
            values.append(figure["reference"] * figure["scale"])
            colors.append(_REFERENCE)
        ax.bar(labels, values, color=colors)
        if figure["goal"] is not None:
            ax.axhline(figure["goal"] * figure["scale"], color=_GOAL, linestyle="--", label="target")
            ax.legend(fontsize=7)
        if figure["goal"] is not None:
            values.append(figure["goal"] * figure["scale"])
        if max(values) > 20 * max(min(values), 1e-12):
            ax.set_yscale("log")
        verdict = {True: "met", False: "missed"}[bool(figure["met"])]
        ax.set_title(f"{figure['name']}\n{figure['target']} ({verdict})", fontsize=8)
        ax.set_ylabel(figure["unit"], fontsize=8)
        ax.tick_params(labelsize=8)
    if sweep:
        ax = flat[len(compared)]
        sizes = sorted(int(size) for size in sweep)
        ax.plot(sizes, [sweep[str(size)]["customers_per_s"] for size in sizes], "o-", color=_OURS)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title("POST /predict/batch: customers/s by batch size", fontsize=8)
        ax.set_xlabel("customers per request", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in flat[panels:]:
        ax.axis("off")
    fig.suptitle(f"customer segmentation benchmark ({results['meta']['mode']})", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
