"""The Dask engine on a LocalCluster of processes writes what the local engine writes, row for row."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.score_bulk import generate
from runtime.scoring.export import NUMERIC_COLUMNS, read_export
from tests.scoring.conftest import run_cli

distributed = pytest.importorskip("distributed", reason="dask is not installed "
                                  "(pip install -r requirements-scale.txt)")
pytestmark = pytest.mark.slow
WHOLE = ("Age", "MonthlyPurchases")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """Two worker processes on loopback: the bundle must really travel to them."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _rows(path: Path) -> list[list[str]]:
    if path.suffix == ".parquet":
        return [[str(value) for value in row.values()] for row in pq.read_table(path).to_pylist()]
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))[1:]


def _parts(directory: Path) -> list[list[str]]:
    return [row for part in sorted(directory.iterdir()) for row in _rows(part)]


def _both(capsys: pytest.CaptureFixture[str], source: Path, tmp_path: Path, scheduler: str,
          suffix: str, *extra: str) -> tuple[Path, Path]:
    local, spread = tmp_path / f"local{suffix}", tmp_path / f"dask{suffix}"
    code, err = run_cli(capsys, source, "-o", local, *extra)
    assert code == 0, err
    code, err = run_cli(capsys, source, "-o", spread, "--engine", "dask", "--scheduler",
                        scheduler, "--partition-mb", "0.05", *extra)
    assert code == 0, err
    return local, spread


@pytest.mark.parametrize(("suffix", "extra"), [(".csv", ()), (".parquet", ("--explain",))])
def test_a_csv_export_scores_row_for_row_as_on_the_local_engine(
        scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str,
        extra: tuple[str, ...]) -> None:
    export = generate(tmp_path / "generated.csv", 3000, seed=11)
    local, spread = _both(capsys, export.path, tmp_path, scheduler, suffix, *extra)
    parts = sorted(spread.iterdir())
    assert len(parts) > 2  # the file really was cut into parts
    assert _parts(spread) == _rows(local)
    assert len(_rows(local)) == 3000 - export.dirty
    # Rejected rows: the same customers and reasons, each identified by part and line.
    rejected = _rows(local.with_name("local.rejected.csv"))
    spread_rejected = _parts(tmp_path / "dask.rejected.csv")
    assert [row[2:] for row in spread_rejected] == [row[1:] for row in rejected]
    # Part 0 starts at the file's first byte: its lines are the file's own numbers.
    first_part = [row[1:] for row in spread_rejected if row[0] == "0"]
    assert first_part and first_part == rejected[:len(first_part)]


def test_a_parquet_export_scores_row_for_row_as_on_the_local_engine(
        scheduler: str, customer_data: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    export = read_export(customer_data)
    columns = {name: pa.array(values.astype("int64") if name in WHOLE else values.tolist())
               for name, values in export.columns.items()}
    source = tmp_path / "customers.parquet"
    pq.write_table(pa.table(columns), source, row_group_size=20)
    local, spread = _both(capsys, source, tmp_path, scheduler, ".csv")
    assert _parts(spread) == _rows(local)
    assert len(_rows(local)) == 96
    assert all(name in columns for name in NUMERIC_COLUMNS)
