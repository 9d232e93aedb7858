"""The soak script still runs: a 5-second pass, no verdict on memory at that length."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.hardening.live import ROOT


def test_soak_runs_and_reports_memory() -> None:
    finished = subprocess.run(
        [sys.executable, "bench/soak.py", "--seconds", "5", "--warmup", "1", "--connections", "8",
         "--max-growth-mb", "1000000"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    print(finished.stdout)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    for label in ("rss at start", "rss at end"):
        assert re.search(rf"^{label}: \d+\.\d MB$", finished.stdout, re.MULTILINE), label
    assert re.search(r"^rss growth: [+-]\d+\.\d+ MB", finished.stdout, re.MULTILINE)
    requests = re.search(r"^requests: (\d+) \((\d+) single, (\d+) batch", finished.stdout, re.MULTILINE)
    assert requests and int(requests[2]) > 0 and int(requests[3]) > 0
    assert "failed: 0" in finished.stdout
