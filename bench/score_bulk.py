"""Bulk scoring benchmark: rows/s and peak memory of ``python -m runtime.score``.

Generates exports in the delivered format (a byte-order mark, every line wrapped
in quotes, a few dirty rows, a last row cut short) in a temporary directory,
scores each with ``python -m runtime.score`` in a child process, and prints, per
size, the rows per second (wall clock, child start to exit) and the child's peak
resident memory. Nothing generated is kept.

    python bench/score_bulk.py                      # 1,000,000 and 10,000,000 rows
    python bench/score_bulk.py --rows 50000 --engine dask

Customers are drawn around the bundle's segment profiles (the means of each
segment's training customers, in the segments' proportions), so the scorer
sees the mix of segments it was trained on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = ROOT / "artifacts" / "customer-segmentation" / "1.0.0"
HEADER = ("CustomerID,Age,Gender,City,AnnualIncome,TotalSpent,MonthlyPurchases,"
          "AvgOrderValue,AppTimeMinutes,DiscountUsage,PreferredShoppingTime")
NUMBERS = ("AnnualIncome", "TotalSpent", "MonthlyPurchases", "AvgOrderValue", "AppTimeMinutes")
CHOICES = {"Gender": ("F", "M"), "DiscountUsage": ("Low", "Medium", "High"),
           "PreferredShoppingTime": ("Day", "Night")}
CITIES = ("Bangalore", "Chennai", "Delhi", "Hyderabad", "Kolkata", "Mumbai", "Pune")
# Dirty lines planted every DIRTY_EVERY rows, in turn: what the scorer should make of each.
DEFECTS = (
    ("missing value", lambda f: f.__setitem__(4, "")),
    ("not a number", lambda f: f.__setitem__(5, "n/a")),
    ("invalid value", lambda f: f.__setitem__(9, "Sometimes")),  # the model knows no such usage
    ("invalid value", lambda f: f.__setitem__(1, "150")),  # the API takes ages up to 120
    ("too many fields", lambda f: f.append("extra")),
)
DIRTY_EVERY = 100_003
_BLOCK = 250_000


@dataclass(frozen=True)
class Export:
    path: Path
    rows: int
    dirty: int  # rows the scorer should set aside


def _profiles(bundle: Path) -> tuple[np.ndarray, list[dict[str, float]]]:
    manifest = json.loads((bundle / "manifest.json").read_text())
    segments = manifest["segments"]
    sizes = np.array([segment["size"] for segment in segments], dtype=np.float64)
    return sizes / sizes.sum(), [segment["profile"] for segment in segments]


def _pick(rng: np.random.Generator, shares: np.ndarray, choices: tuple[str, ...]) -> np.ndarray:
    """One of ``choices`` per row, row i drawn with probabilities ``shares[i]``."""
    cumulative = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    drawn = (rng.random(len(shares))[:, None] > cumulative[:, :-1]).sum(axis=1)
    return np.array(choices, dtype=object)[drawn]


def _lines(rng: np.random.Generator, start: int, count: int, weights: np.ndarray,
           profiles: list[dict[str, float]]) -> list[list[str]]:
    segment = rng.choice(len(weights), size=count, p=weights)

    def profile(key: str) -> np.ndarray:
        return np.array([p.get(key, 0.0) for p in profiles])[segment]

    columns: dict[str, list[str]] = {
        "CustomerID": [f"C{number:08d}" for number in range(start + 1, start + count + 1)],
        "Age": np.clip(rng.normal(profile("Age"), 8), 18, 80).astype(np.int64).astype(str).tolist(),
    }
    for name in NUMBERS:
        value = profile(name) * rng.lognormal(0.0, 0.2, count)
        step = 1000 if value.mean() > 10_000 else 10 if value.mean() > 500 else 1
        columns[name] = np.maximum(np.rint(value / step) * step, step).astype(np.int64).astype(
            str).tolist()
    for name, choices in CHOICES.items():
        shares = np.stack([profile(f"{name}={choice}") + 0.02 for choice in choices], axis=1)
        columns[name] = _pick(rng, shares, choices).tolist()
    city = np.stack([profile(f"City={name}") + 0.02 for name in CITIES], axis=1)
    columns["City"] = _pick(rng, city, CITIES).tolist()
    order = HEADER.split(",")
    return [list(fields) for fields in zip(*(columns[name] for name in order), strict=True)]


def generate(path: Path, rows: int, seed: int = 0, bundle: Path = DEFAULT_BUNDLE) -> Export:
    """Write an export of ``rows`` customers in the delivered format."""
    rng = np.random.default_rng(seed)
    weights, profiles = _profiles(bundle)
    dirty = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as file:
        file.write(f'"{HEADER}"\n')
        for start in range(0, rows, _BLOCK):
            count = min(_BLOCK, rows - start)
            lines = _lines(rng, start, count, weights, profiles)
            for row in range(-start % DIRTY_EVERY, count, DIRTY_EVERY):
                if start + row + 1 < rows:
                    DEFECTS[((start + row) // DIRTY_EVERY) % len(DEFECTS)][1](lines[row])
                    dirty += 1
            text = ['"' + ",".join(fields) + '"\n' for fields in lines]
            if start + count == rows:  # the delivered file's last row is cut short
                text[-1] = '"' + ",".join(lines[-1][:8]) + '"\n'
                dirty += 1
            file.write("".join(text))
    return Export(path, rows, dirty)


@dataclass(frozen=True)
class Run:
    rows: int
    seconds: float
    cpu_seconds: float
    peak_mb: float
    stderr: str


def score(export: Export, output: Path, *extra: str) -> Run:
    """Score ``export`` with ``python -m runtime.score`` in a child process."""
    command = [sys.executable, "-m", "runtime.score", str(export.path), "-o", str(output),
               "--no-progress", *extra]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    stderr = child.stderr.read() if child.stderr else ""
    # wait4 gives this child's own rusage: its peak memory, not the largest of all children.
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {child.returncode}:\n{stderr}")
    return Run(export.rows, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
               stderr)


def _generate_apart(path: Path, rows: int, seed: int) -> Export:
    """:func:`generate` in a child process, so that this one stays small.

    The kernel's peak-memory figure for a child counts its parent's pages until
    the child starts its own program: a parent grown by generating would show up
    in the scorer's figure.
    """
    done = subprocess.run([sys.executable, __file__, "--generate", str(path), str(rows), str(seed)],
                          check=True, capture_output=True, text=True)
    return Export(path, rows, int(done.stdout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1000000,10000000",
                        help="comma-separated file sizes in rows (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--engine", choices=("local", "dask"), default="local")
    parser.add_argument("--generate", nargs=3, metavar=("PATH", "ROWS", "SEED"),
                        help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.generate:
        path, rows, seed = options.generate
        print(generate(Path(path), int(rows), int(seed)).dirty)
        return 0
    sizes = [int(size) for size in options.rows.split(",")]
    print(f"{'rows':>12} {'file MB':>8} {'seconds':>8} {'rows/s':>11} {'cpu s':>7} "
          f"{'peak MB':>8}  (python -m runtime.score --engine {options.engine})")
    with tempfile.TemporaryDirectory(prefix="score-bulk-") as directory:
        for rows in sizes:
            export = _generate_apart(Path(directory) / f"customers-{rows}.csv", rows, options.seed)
            size_mb = export.path.stat().st_size / 1e6
            run = score(export, Path(directory) / "scored.csv", "--engine", options.engine)
            print(f"{rows:>12,} {size_mb:>8.0f} {run.seconds:>8.2f} {rows / run.seconds:>11,.0f} "
                  f"{run.cpu_seconds:>7.2f} {run.peak_mb:>8.0f}", flush=True)
            export.path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
