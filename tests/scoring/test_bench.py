"""The bulk-scoring benchmark still runs end to end (at a small size; no timing is checked)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_bench_generates_and_scores_50000_rows() -> None:
    done = subprocess.run(
        [sys.executable, "bench/score_bulk.py", "--rows", "50000"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )
    header, figures = done.stdout.strip().splitlines()
    assert "rows/s" in header and "peak MB" in header
    rows, _size, seconds, _rate, _cpu, peak = figures.split()
    assert rows == "50,000"
    assert float(seconds) > 0 and float(peak) > 0
