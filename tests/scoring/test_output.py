"""Answers as the csv module and Parquet read them back, and the progress line's pace."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from runtime.core.bundle import load_bundle
from runtime.scoring.model import Scored
from runtime.scoring.output import ScoreFormat, ScoreOutput
from runtime.scoring.progress import Progress
from tests.conftest import DEFAULT_BUNDLE


def test_answers_are_written_as_csv_the_csv_module_reads_back(
        rng: np.random.Generator, tmp_path: Path) -> None:
    catalogue = load_bundle(DEFAULT_BUNDLE).manifest.segments
    ids = ["C1", 'say "hi"', "a,b", "x\ny", "nul\0id", "plain"]
    confidence = np.round(rng.random(len(ids)), 4)
    confidence[-1] = 0.123456789  # not rounded: written in full
    scored = Scored(pa.array(ids), np.array([0, 1, 2, 1, 0, 2]), confidence)
    out = tmp_path / "out.csv"
    with ScoreOutput(out, ScoreFormat(catalogue)) as output:
        output.write(scored)
    with open(out, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["CustomerID", "cluster", "segment_name", "confidence_score"]
    assert [r[0] for r in rows[1:]] == ids
    assert [r[2] for r in rows[1:]] == [catalogue[s].name for s in (0, 1, 2, 1, 0, 2)]
    assert [float(r[3]) for r in rows[1:]] == confidence.tolist()


def test_parquet_answers_carry_the_same_values_typed(tmp_path: Path) -> None:
    catalogue = load_bundle(DEFAULT_BUNDLE).manifest.segments
    scored = Scored(pa.array(["C1", "C2"]), np.array([2, 0]), np.array([0.5, 0.25]),
                    np.array([[3.0, 2.5, 1.25], [1.0, 2.0, 3.0]]))
    out = tmp_path / "out.parquet"
    with ScoreOutput(out, ScoreFormat(catalogue, explain=True), "parquet") as output:
        output.write(scored)
    table = pq.read_table(out).to_pylist()
    assert table[0] == {"CustomerID": "C1", "cluster": catalogue[2].id,
                        "segment_name": catalogue[2].name, "confidence_score": 0.5,
                        **{f"distance_{s.id}": d for s, d in zip(catalogue, [3.0, 2.5, 1.25],
                                                                 strict=True)}}
    assert (tmp_path / "out.rejected.csv").read_text() == "line,CustomerID,reason\n"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_at_most_every_interval() -> None:
    now = [0.0]
    stream = _Terminal()
    progress = Progress(1000, stream, interval=0.25, clock=lambda: now[0])
    for step in range(100):  # 100 updates over one second
        now[0] = step / 100
        progress.update(step * 10, step * 10)
    assert 3 <= stream.getvalue().count("\r") <= 5
    assert "rows/s" in stream.getvalue()
    progress.close()
    assert stream.getvalue().endswith("\r")


def test_progress_stays_silent_off_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(10, stream)
    progress.update(5, 5, force=True)
    progress.close()
    assert stream.getvalue() == ""
