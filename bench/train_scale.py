"""Training at scale: a million synthetic customers, trained as a data person would.

    python -m bench.train_scale [--rows 1000000] [--source CSV] [--seed N] [--keep]
    python -m bench.train_scale --engine dask --rows 10000000     # see bench/dask_scale.py

Writes a synthetic export (see :mod:`bench.synthetic`) into a temporary
directory, never the repository, runs ``python -m training`` on it in a child
process, and prints the phases, the wall time and the child's peak memory
against the goal: under 60 s and under 2 GB. Exits 1 when a goal is missed or
the bundle does not account for every planted dirty row.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.synthetic import SyntheticExport, write_synthetic_export
from runtime.core.bundle import Manifest, load_bundle

__all__ = ["GOAL_BYTES", "GOAL_SECONDS", "ScaleRun", "format_report", "main", "run"]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "CustomerData.csv"
GOAL_SECONDS = 60.0
GOAL_BYTES = 2_000_000_000  # 2 GB


@dataclass
class ScaleRun:
    export: SyntheticExport
    export_bytes: int
    generate_seconds: float
    returncode: int = 0
    seconds: float = 0.0
    peak_bytes: int = 0
    phases: list[tuple[float, str]] = field(default_factory=list)  # (seconds since start, line)
    manifest: Manifest | None = None

    @property
    def met(self) -> bool:
        return (
            self.returncode == 0
            and self.seconds < GOAL_SECONDS
            and self.peak_bytes < GOAL_BYTES
            and self.rejections_match
        )

    @property
    def rejections_match(self) -> bool:
        """The bundle's first cleaning step accounts for exactly the planted dirty rows."""
        if self.manifest is None:
            return False
        step = self.manifest.training.cleaning[0]
        return (
            step.rows_in == self.export.rows
            and step.rows_out == self.export.complete
            and step.reasons == dict(self.export.rejected)
        )


def run(source: Path, rows: int, workdir: Path, seed: int = 0) -> ScaleRun:
    """Generate ``rows`` customers in ``workdir`` and train on them in a child process."""
    started = time.perf_counter()
    export = write_synthetic_export(source, workdir / "export.csv", rows, seed=seed)
    result = ScaleRun(export, export.path.stat().st_size, time.perf_counter() - started)
    out = workdir / "bundle"
    command = [sys.executable, "-m", "training", "--data", str(export.path), "--out", str(out)]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    for line in child.stderr:
        result.phases.append((time.perf_counter() - started, line.rstrip()))
    # wait4 gives this child's own peak memory (RUSAGE_CHILDREN would mix in earlier children).
    _, status, usage = os.wait4(child.pid, 0)
    result.seconds = time.perf_counter() - started
    child.returncode = result.returncode = os.waitstatus_to_exitcode(status)
    child.stderr.close()
    result.peak_bytes = usage.ru_maxrss * 1024  # Linux reports kilobytes
    if result.returncode == 0:
        result.manifest = load_bundle(out).manifest
    return result


def _phase_rows(result: ScaleRun) -> list[tuple[str, float]]:
    # Each progress line marks the end of the phase before it.
    rows, previous = [], 0.0
    names = {
        "reading": "start-up (imports)",
        "drop incomplete": "reading and cleaning the export",
        "silhouette": "K-Means and silhouette",
        "writing the report": "drift references, data checksum",
        "bundle written": "report figures, writing the bundle",
    }
    for seconds, line in result.phases:
        name = next((label for key, label in names.items() if line.startswith(key)), None)
        if name is None:
            continue
        rows.append((name, seconds - previous))
        previous = seconds
    return rows


def format_report(result: ScaleRun) -> str:
    """The run as Markdown tables: what was trained, the phases, the goals."""
    export = result.export
    lines = [
        f"## Training on {export.rows:,} synthetic customers",
        "",
        f"Export: {result.export_bytes / 1e6:.1f} MB, BOM, every line quoted, "
        f"{sum(export.rejected.values())} dirty rows planted "
        f"({', '.join(f'{n} {reason}' for reason, n in sorted(export.rejected.items()))}); "
        f"generated in {result.generate_seconds:.1f} s.",
        "",
    ]
    if result.manifest is not None:
        manifest = result.manifest
        steps = manifest.training.cleaning
        lines += [
            f"Cleaning: {' -> '.join([f'{steps[0].rows_in:,}', *(f'{s.rows_out:,}' for s in steps)])}"
            f" customers; the reader's rejections "
            f"{'match' if result.rejections_match else 'DO NOT match'} the planted rows. "
            f"Segments {manifest.metrics.sizes}, silhouette {manifest.metrics.silhouette:.4f}.",
            "",
            "| phase | seconds |",
            "|---|---:|",
            *(f"| {name} | {seconds:.1f} |" for name, seconds in _phase_rows(result)),
            "",
        ]
    else:
        lines += ["Training failed:", "", *(f"    {line}" for _, line in result.phases[-5:]), ""]
    verdict = {True: "met", False: "MISSED"}
    lines += [
        "| measure | measured | goal | verdict |",
        "|---|---:|---:|---|",
        f"| training wall time | {result.seconds:.1f} s | < {GOAL_SECONDS:.0f} s "
        f"| {verdict[result.seconds < GOAL_SECONDS]} |",
        f"| peak memory (child RSS) | {result.peak_bytes / 1e6:,.0f} MB "
        f"| < {GOAL_BYTES / 1e9:.0f} GB | {verdict[result.peak_bytes < GOAL_BYTES]} |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.train_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="customers (default: 1,000,000)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help=f"export the customers are drawn from (default: {DEFAULT_SOURCE})")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    parser.add_argument("--engine", choices=("local", "dask"), default="local",
                        help="local: python -m training in a child process (goal: 1M rows in "
                             "60 s, 2 GB); dask: on a LocalCluster whose workers' memory limits "
                             "add up to less than the data in memory (use --rows 10000000)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (export and bundle) and print its path")
    options = parser.parse_args(argv)
    if not options.source.is_file():
        print(f"error: {options.source}: not found (the shared data lives in ../shared/data/)",
              file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="train-scale-"))
    try:
        if options.engine == "dask":
            from bench.dask_scale import format_dask, run_dask

            spread = run_dask(options.source, options.rows, workdir, seed=options.seed)
            print(format_dask(spread))
            return 0 if spread.met else 1
        result = run(options.source, options.rows, workdir, seed=options.seed)
        print(format_report(result))
    finally:
        if options.keep:
            print(f"\nexport and bundle kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if result.met else 1


if __name__ == "__main__":
    sys.exit(main())
