"""What every figure of the training and migration reports shares: colours, money ticks, PNG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["COLOURS", "colour", "money", "png"]

COLOURS = ("#d62728", "#2ca02c", "#1f77b4", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f")


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes, free of the date and software stamps (reproducible files)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def colour(segment: int) -> str:
    """The colour of a segment id, the same in every figure."""
    return COLOURS[segment % len(COLOURS)]


def money(value: float, _position: object = None) -> str:
    """A tick label for an amount: 450K, 1.2M."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:g}K"
    return f"{value:g}"
