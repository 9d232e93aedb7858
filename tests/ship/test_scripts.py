"""The scripts: serve reuses the environment it made, train passes its arguments on, system
packages come without recommends, and the benchmark's help builds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / "scripts" / "serve"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)


def test_serve_reuses_its_environment_on_a_second_run() -> None:
    first = serve("--help")
    assert first.returncode == 0, first.stderr
    second = serve("--help")
    assert second.returncode == 0, second.stderr
    assert "==> installing" not in second.stdout + second.stderr
    assert "==> creating" not in second.stdout + second.stderr
    assert "--bundle" in second.stdout  # the arguments reached python -m runtime


@pytest.mark.slow
def test_train_script_runs_python_m_training_with_its_arguments() -> None:
    done = subprocess.run([str(ROOT / "scripts" / "train"), "--help"], cwd="/", capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "usage: python -m training" in done.stdout and "--replace" in done.stdout


def test_apt_installs_skip_recommended_packages_and_use_sudo_when_not_root() -> None:
    for script in ("scripts/test", "bench/run"):
        text = (ROOT / script).read_text()
        installs = [line for line in text.splitlines() if "apt-get install" in line]
        assert installs, script
        assert all("--no-install-recommends" in line for line in installs), (script, installs)
        assert 'sudo=(sudo)' in text and '"${sudo[@]}" apt-get update' in text, script


@pytest.mark.slow
def test_bench_help_answers_without_building_anything(tmp_path: Path) -> None:
    venvs = ROOT / "bench" / ".venvs"
    before = sorted(venvs.rglob("*")) if venvs.exists() else None
    # No wrk on PATH either: help must not try to install it.
    done = subprocess.run([str(ROOT / "bench" / "run"), "--help"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False, env={"PATH": f"{tmp_path}:/usr/bin:/bin",
                                                                   "BENCH_BASE_PYTHON": sys.executable})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: bench/run") and "results-quick" in done.stdout
    assert (sorted(venvs.rglob("*")) if venvs.exists() else None) == before


def test_documented_results_file_names_are_the_ones_written() -> None:
    from bench.perf.settings import Settings

    assert (Settings().stem, Settings.quick().stem) == ("results", "results-quick")
    method = (ROOT / "docs" / "benchmarks.md").read_text()
    assert "`bench/results/results.json`" in method and "`results-quick.*` with `--quick`" in method
