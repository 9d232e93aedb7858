"""Training on Dask agrees with the local engine on the shared data: same segments, same ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from runtime.core.bundle import load_bundle
from runtime.core.model import Model
from runtime.scoring.export import read_export
from training.pipeline import clean, train

distributed = pytest.importorskip("distributed", reason="dask is not installed "
                                  "(pip install -r requirements-scale.txt)")
pytest.importorskip("dask_ml", reason="dask-ml is not installed (pip install -r "
                    "requirements-scale.txt)")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _segments(bundle: Path, customers: dict[str, np.ndarray]) -> np.ndarray:
    return Model(load_bundle(bundle)).predictor.predict(customers).segments


def test_dask_training_agrees_with_the_local_engine_on_the_shared_data(
        scheduler: str, customer_data: Path, tmp_path: Path) -> None:
    from training.dask_pipeline import train_dask

    local = train(customer_data, tmp_path / "local")
    spread = train_dask(str(customer_data), tmp_path / "dask", scheduler=scheduler,
                        part_bytes=2048)  # several partitions: the quantiles are Dask's own
    customers, _ = clean(read_export(customer_data))
    ours = _segments(tmp_path / "dask", customers.columns)
    theirs = _segments(tmp_path / "local", customers.columns)
    assert adjusted_rand_score(theirs, ours) >= 0.99
    assert (ours == theirs).mean() >= 0.99  # the same segment ids, not only the same partition
    assert [s.name for s in spread.segments] == [s.name for s in local.segments]
    assert spread.training.cleaning[0] == local.training.cleaning[0]
    assert "approximate quantiles" in spread.training.cleaning[1].step
    assert spread.training.cleaning[1].rows_out == local.training.cleaning[1].rows_out == 86
    assert spread.metrics.sizes == local.metrics.sizes
    assert set(spread.training.library_versions) >= {"dask", "dask-ml", "pyarrow"}


@pytest.mark.parametrize("engine", [[], ["--engine", "local"]])
def test_a_scheduler_without_the_dask_engine_is_a_usage_error(
        engine: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from training.__main__ import main

    assert main(["--data", "x.csv", "--out", "y", "--scheduler", "tcp://127.0.0.1:1", *engine]) == 2
    err = capsys.readouterr().err
    assert err == "error: --scheduler needs --engine dask\n"
