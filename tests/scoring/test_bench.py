"""The bulk-scoring benchmark still runs end to end (at a small size; no timing is checked)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_bench_scores_csv_parquet_and_a_long_line_against_r_bulk(customer_data: object) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.score_bulk", "--rows", "20000", "--long-line-mb", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: a goal missed, as at this small size
    lines = done.stdout.splitlines()
    assert "rows/s" in lines[1] and "peak MB" in lines[1]
    runs = {line.split()[1] + " " + line.split()[2]: line.split() for line in lines[2:5]}
    assert set(runs) == {"R-bulk csv", "ours csv", "ours parquet"}
    assert all(float(fields[-1]) > 0 for fields in runs.values())
    assert "ours CSV / R-bulk" in lines[5] and "Parquet / our CSV" in lines[5]
    assert "3 MB line" in lines[6] and "rejected row" in lines[6]
    assert lines[-1] in ("all goals met", "a goal was missed")
