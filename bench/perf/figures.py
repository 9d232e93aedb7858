"""The figures of a run, their targets, and the printed table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Figure", "table"]


@dataclass
class Figure:
    """One measured figure: ours, the reference's, and the target they are held to.

    ``goal`` is the value ours must reach (in the figure's raw unit), at least or, with
    ``lower``, at most; a figure without ``target`` is given for information. ``flags``
    name anything that makes it untrustworthy (errors under load, a reference that did
    not run): a flagged figure is never met. ``scale`` converts raw units for display.
    """

    key: str
    name: str
    unit: str
    ours: float | None
    reference: float | None = None
    reference_name: str = ""
    target: str = ""
    goal: float | None = None
    lower: bool = False
    flags: list[str] = field(default_factory=list)
    scale: float = 1.0

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.reference:
            return None
        return self.ours / self.reference

    @property
    def met(self) -> bool | None:
        if not self.target:
            return None
        if self.flags or self.ours is None or self.goal is None:
            return False
        return self.ours <= self.goal if self.lower else self.ours >= self.goal

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def _number(value: float | None, unit: str, scale: float) -> str:
    if value is None:
        return "n/a"
    shown = value * scale
    digits = 0 if abs(shown) >= 100 else 2 if abs(shown) >= 1 else 3
    return f"{shown:,.{digits}f} {unit}".strip()


def _verdict(figure: Figure) -> str:
    if figure.met is None:
        return "info"
    if figure.flags:
        return "FLAGGED"
    return "yes" if figure.met else "NO"


def table(figures: list[Figure]) -> str:
    """A fixed-width table: figure, ours, reference, ratio, target, met."""
    header = ("figure", "ours", "reference", "ratio", "target", "met")
    rows = [header]
    for figure in figures:
        reference = _number(figure.reference, figure.unit, figure.scale)
        if figure.reference is not None and figure.reference_name:
            reference = f"{reference} ({figure.reference_name})"
        ratio = figure.ratio
        rows.append(
            (
                figure.name,
                _number(figure.ours, figure.unit, figure.scale),
                reference if figure.reference is not None else "-",
                f"{ratio:.2f}x" if ratio is not None else "-",
                figure.target or "-",
                _verdict(figure),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"  {figure.name}: {flag}" for figure in figures for flag in figure.flags]
    return "\n".join(lines + (["flags:", *notes] if notes else []))
