"""Bulk scoring benchmark: rows/s and peak memory of ``python -m runtime.score`` against R-bulk.

Generates exports in the delivered format (a byte-order mark, every line wrapped
in quotes, a few dirty rows, a last row cut short) and the same customers as
Parquet in a temporary directory, and scores each in a child process: R-bulk (a
plain pandas + scikit-learn script with the seed's design, :mod:`bench.perf.rbulk`,
its model trained on the shared data first), our CSV to CSV, our Parquet to
Parquet; then a file holding one very long line. It prints, per run, rows per
second (wall clock, child start to exit) and the child's peak resident memory,
and the ratios against their goals (CSV >= 5x R-bulk, Parquet >= 2x our CSV,
peak < 300 MB); exits 1 when one is missed. Nothing generated is kept.

    python -m bench.score_bulk                      # 1,000,000 and 10,000,000 rows
    python -m bench.score_bulk --rows 50000 --long-line-mb 20

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
SHARED_DATA = ROOT.parent / "shared" / "data" / "CustomerData.csv"
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


def to_parquet(source: Path, target: Path) -> int:
    """The complete rows of the CSV export ``source`` as a typed Parquet file; their count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from runtime.scoring.checks import customer_rules
    from runtime.scoring.export import iter_checked

    whole = {rule.field for rule in customer_rules() if rule.whole}
    rows = 0
    writer = None
    for batch in iter_checked(source):
        columns = {name: pa.array(values.astype(np.int64) if name in whole else values)
                   for name, values in batch.numbers.items()}
        table = pa.table({**{name: batch.text[name] for name in ("CustomerID",)}, **columns,
                          **{name: array for name, array in batch.text.items()
                             if name != "CustomerID"}})
        writer = writer or pq.ParquetWriter(target, table.schema)
        writer.write_table(table)
        rows += table.num_rows
    if writer is not None:
        writer.close()
    return rows


def long_line(path: Path, line_mb: int, rows: int = 1000) -> Export:
    """An export holding one line of ``line_mb`` MB among ``rows`` ordinary ones."""
    weights, profiles = _profiles(DEFAULT_BUNDLE)
    lines = _lines(np.random.default_rng(1), 0, rows, weights, profiles)
    with open(path, "w", encoding="utf-8-sig", newline="") as file:
        file.write(f'"{HEADER}"\n')
        file.writelines('"' + ",".join(fields) + '"\n' for fields in lines[:rows // 2])
        file.write('"C-LONG,')
        for _ in range(line_mb):
            file.write("9" * (1 << 20))
        file.write('"\n')
        file.writelines('"' + ",".join(fields) + '"\n' for fields in lines[rows // 2:])
    return Export(path, rows + 1, 1)


@dataclass(frozen=True)
class Run:
    rows: int
    seconds: float
    cpu_seconds: float
    peak_mb: float
    stderr: str

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def measure(command: list[str], rows: int) -> Run:
    """Run ``command`` in a child process: wall time, CPU time and the child's own peak memory."""
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    stderr = child.stderr.read() if child.stderr else ""
    # wait4 gives this child's own rusage: its peak memory, not the largest of all children.
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} exited {code}:\n{stderr}")
    return Run(rows, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stderr)


def score(export: Export, output: Path, *extra: str) -> Run:
    """Score ``export`` with ``python -m runtime.score`` in a child process."""
    return measure([sys.executable, "-m", "runtime.score", str(export.path), "-o", str(output),
                    "--no-progress", *extra], export.rows)


def r_bulk(model: Path, export: Export, output: Path) -> Run:
    """Score ``export`` with R-bulk (:mod:`bench.perf.rbulk`) in a child process."""
    return measure([sys.executable, "-m", "bench.perf.rbulk", str(model), str(export.path),
                    str(output)], export.rows)


def _apart(*arguments: str) -> str:
    """This script run with hidden ``arguments`` in a child process, so that this one stays small.

    The kernel's peak-memory figure for a child counts its parent's pages until
    the child starts its own program: a parent grown by generating would show up
    in the scorer's figure.
    """
    done = subprocess.run([sys.executable, "-m", "bench.score_bulk", *arguments], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def _line(label: str, run: Run, size_mb: float) -> str:
    return (f"{run.rows:>12,} {label:<16} {size_mb:>8.0f} {run.seconds:>8.2f} {run.rate:>11,.0f} "
            f"{run.cpu_seconds:>7.2f} {run.peak_mb:>8.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1000000,10000000",
                        help="comma-separated file sizes in rows (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--long-line-mb", type=int, default=200,
                        help="MB of the one long line of the last file (0: none)")
    parser.add_argument("--engine", choices=("local", "dask"), default="local")
    parser.add_argument("--generate", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--to-parquet", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--long-line", nargs=2, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.generate:
        path, rows, seed = options.generate
        print(generate(Path(path), int(rows), int(seed)).dirty)
        return 0
    if options.to_parquet:
        print(to_parquet(Path(options.to_parquet[0]), Path(options.to_parquet[1])))
        return 0
    if options.long_line:
        long_line(Path(options.long_line[0]), int(options.long_line[1]))
        return 0
    sizes = [int(size) for size in options.rows.split(",")]
    engine = ["--engine", options.engine]
    print(f"bulk scoring, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
          f"python -m runtime.score --engine {options.engine} against R-bulk (pandas + "
          "scikit-learn, the seed's design, trained on the shared data at bench time)")
    print(f"{'rows':>12} {'run':<16} {'file MB':>8} {'seconds':>8} {'rows/s':>11} {'cpu s':>7} "
          f"{'peak MB':>8}")
    met = True
    with tempfile.TemporaryDirectory(prefix="score-bulk-") as directory:
        folder = Path(directory)
        model = folder / "seed-model"
        subprocess.run([sys.executable, "-m", "bench.perf.seed_train", str(SHARED_DATA),
                        str(model)], cwd=ROOT, check=True, capture_output=True)
        for rows in sizes:
            path = folder / f"customers-{rows}.csv"
            export = Export(path, rows, int(_apart("--generate", str(path), str(rows),
                                                    str(options.seed))))
            table = folder / f"customers-{rows}.parquet"
            clean = int(_apart("--to-parquet", str(path), str(table)))
            size_mb = path.stat().st_size / 1e6
            reference = r_bulk(model, export, folder / "r-bulk.csv")
            print(_line("R-bulk csv", reference, size_mb), flush=True)
            ours = score(export, folder / "scored.csv", *engine)
            print(_line("ours csv", ours, size_mb), flush=True)
            path.unlink()
            parquet = score(Export(table, clean, 0), folder / "scored.parquet", *engine)
            print(_line("ours parquet", parquet, table.stat().st_size / 1e6), flush=True)
            table.unlink()
            csv_ratio, parquet_ratio = ours.rate / reference.rate, parquet.rate / ours.rate
            peak = max(ours.peak_mb, parquet.peak_mb)
            met &= csv_ratio >= 5 and parquet_ratio >= 2 and peak < 300
            print(f"{'':>12} ours CSV / R-bulk {csv_ratio:.2f}x (goal >= 5x), Parquet / our CSV "
                  f"{parquet_ratio:.2f}x (goal >= 2x), peak {peak:.0f} MB (goal < 300)", flush=True)
        if options.long_line_mb:
            path = folder / "long-line.csv"
            _apart("--long-line", str(path), str(options.long_line_mb))
            run = score(Export(path, 1001, 1), folder / "scored.csv", *engine)
            met &= run.peak_mb < 300
            print(_line(f"{options.long_line_mb} MB line", run, path.stat().st_size / 1e6)
                  + "  (the line: a rejected row; goal: peak < 300 MB)", flush=True)
    print("all goals met" if met else "a goal was missed")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
