"""The Dask engine writes what the local engine writes, byte for byte."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.score_bulk import generate
from tests.scoring.conftest import run_cli

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None or importlib.util.find_spec("pandas") is None,
    reason="dask is not installed (optional: pip install -r requirements-dask.txt)",
)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A two-worker cluster on loopback, for the whole module."""
    distributed: Any = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  host="127.0.0.1", protocol="tcp",
                                  dashboard_address="127.0.0.1:0") as cluster:
        yield cluster.scheduler_address


def _both(capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path, *dask: str,
          explain: bool = False) -> tuple[Path, Path]:
    """Score ``source`` with each engine (``dask`` holds the Dask engine's own options)."""
    local, spread = tmp_path / "local.csv", tmp_path / "dask.csv"
    common = ["--explain"] if explain else []
    code, err = run_cli(capsys, source, "-o", local, *common)
    assert code == 0, err
    code, err = run_cli(capsys, source, "-o", spread, "--engine", "dask", *dask, *common)
    assert code == 0, err
    return local, spread


def _same_files(local: Path, spread: Path) -> None:
    assert spread.read_bytes() == local.read_bytes()
    rejected = local.with_name(f"{local.stem}.rejected.csv")
    assert spread.with_name(f"{spread.stem}.rejected.csv").read_bytes() == rejected.read_bytes()


@pytest.mark.parametrize("explain", [False, True])
def test_generated_export_scores_identically_on_a_cluster(
        scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], explain: bool) -> None:
    export = generate(tmp_path / "generated.csv", 3000, seed=11)
    local, spread = _both(capsys, export.path, tmp_path, "--scheduler", scheduler,
                          "--partition-mb", "0.03", explain=explain)
    _same_files(local, spread)
    assert len(local.read_text().splitlines()) == 1 + 3000 - export.dirty


def test_shared_export_scores_identically_on_a_cluster(
        scheduler: str, customer_data: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    local, spread = _both(capsys, customer_data, tmp_path, "--scheduler", scheduler,
                          "--partition-mb", "0.001")
    _same_files(local, spread)


def test_without_a_scheduler_a_local_cluster_is_started(
        customer_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local, spread = _both(capsys, customer_data, tmp_path)
    _same_files(local, spread)
