"""What a run measures and for how long; every duration can be set from the command line."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PARTS", "ROOT", "Settings"]

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("size", "inprocess", "cold", "predict", "memory", "batch", "scaling", "r4", "profile")


@dataclass(frozen=True)
class Settings:
    """Durations in seconds, counts, and where things are. ``quick()`` gives a smoke run."""

    mode: str = "full"
    duration: float = 5.0
    rounds: int = 3
    warmup: float = 2.0
    batch_duration: float = 5.0
    connections: int = 16
    batch_connections: int = 4
    cold_starts: int = 5
    memory_requests: int = 10_000
    inprocess_rows: int = 1_000_000
    inprocess_repeats: int = 7
    profile_seconds: float = 10.0
    batch_sizes: tuple[int, ...] = (1, 10, 100, 1_000, 10_000)
    parts: tuple[str, ...] = tuple(p for p in PARTS if p != "profile")
    data: Path = ROOT.parent / "shared" / "data" / "CustomerData.csv"
    bundle: Path = ROOT / "artifacts" / "customer-segmentation" / "1.0.0"
    venvs: Path = ROOT / "bench" / ".venvs"
    results: Path = ROOT / "bench" / "results"
    ours_python: Path | None = None
    seed: int = 42
    strict: bool = False

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            mode="quick",
            duration=2.0,
            rounds=1,
            warmup=1.0,
            batch_duration=1.0,
            cold_starts=3,
            memory_requests=1_000,
            inprocess_repeats=3,
            profile_seconds=3.0,
        )

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def stem(self) -> str:
        """Name of the results files: ``results``, ``results-quick``, ``results-PARTS``..."""
        words = ["results"] + ([self.mode] if self.mode != "full" else [])
        default = tuple(p for p in PARTS if p != "profile")
        if self.parts not in (default, PARTS):
            words.append("-".join(self.parts))
        return "-".join(words)

    def wants(self, part: str) -> bool:
        return part in self.parts
