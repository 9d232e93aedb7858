"""What a run tells on stderr: a progress bar while it works, a summary at the end."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from runtime.core.bundle import Segment
from runtime.scoring.model import Scored

__all__ = ["Progress", "Summary"]


class Progress:
    """One line redrawn in place, at most every ``interval`` seconds: bar, rows and rows/s.

    Drawn only where it can be redrawn (a terminal), unless forced either way.
    """

    def __init__(self, total_bytes: int, stream: TextIO, enabled: bool | None = None,
                 interval: float = 0.25, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(total_bytes, 1)
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.interval = interval
        self.clock = clock
        self.start = clock()
        self._drawn = 0.0
        self._width = 0

    def update(self, rows: int, position: int, force: bool = False) -> None:
        now = self.clock()
        if not self.enabled or (not force and now - self._drawn < self.interval):
            return
        self._drawn = now
        share = min(position / self.total, 1.0)
        filled = int(share * 24)
        elapsed = now - self.start
        rate = rows / elapsed if elapsed > 0 else 0.0
        line = (f"[{'#' * filled}{'.' * (24 - filled)}] {share:4.0%}  {rows:,} rows  "
                f"{rate:,.0f} rows/s  {elapsed:.0f} s")
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def close(self) -> None:
        """Clear the line, so the summary starts on a clean one."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


@dataclass
class Summary:
    """Counts over a run: rows scored per segment, rows rejected per kind of reason."""

    catalogue: list[Segment]
    scored: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    segments: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        self.segments = np.zeros(len(self.catalogue), dtype=np.int64)

    @property
    def rows(self) -> int:
        return self.scored + self.rejected.total()

    def add(self, scored: Scored) -> None:
        self.scored += len(scored.ids)
        self.segments += np.bincount(scored.segments, minlength=len(self.catalogue))
        self.rejected.update(row.reason.split(":", 1)[0] for row in scored.rejected)

    def render(self, seconds: float, output: Path, rejected: Path) -> str:
        rate = self.rows / seconds if seconds > 0 else 0.0
        lines = [f"scored {self.scored:,} of {self.rows:,} rows in {seconds:.1f} s "
                 f"({rate:,.0f} rows/s) -> {output}"]
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in self.rejected.most_common())
        lines.append(f"rejected {self.rejected.total():,} rows -> {rejected}"
                     + (f" ({kinds})" if kinds else ""))
        for segment, count in zip(self.catalogue, self.segments.tolist(), strict=True):
            share = count / self.scored if self.scored else 0.0
            lines.append(f"  segment {segment.id} {segment.name}: {count:,} ({share:.1%})")
        return "\n".join(lines)
