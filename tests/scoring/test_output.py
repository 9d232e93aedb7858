"""Answer lines as the csv module would read them back, and the progress line's pace."""

from __future__ import annotations

import csv
import io

import numpy as np

from runtime.core.bundle import load_bundle
from runtime.scoring.model import Scored
from runtime.scoring.output import ScoreFormat
from runtime.scoring.progress import Progress
from tests.conftest import DEFAULT_BUNDLE


def test_lines_quote_what_needs_quoting_and_spell_scores_as_the_api(
        rng: np.random.Generator) -> None:
    catalogue = load_bundle(DEFAULT_BUNDLE).manifest.segments
    ids = ["C1", 'say "hi"', "a,b", "x\ny", "plain"]
    confidence = np.round(rng.random(len(ids)), 4)
    confidence[-1] = 0.123456789  # not rounded: spelled out in full
    scored = Scored(np.array(ids), np.array([0, 1, 2, 1, 0]), confidence)
    text = ScoreFormat(catalogue).lines(scored).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows] == ids
    assert [r[2] for r in rows] == [catalogue[s].name for s in (0, 1, 2, 1, 0)]
    assert [r[3] for r in rows] == [repr(float(c)) for c in confidence]


def test_explained_lines_carry_one_distance_per_segment() -> None:
    catalogue = load_bundle(DEFAULT_BUNDLE).manifest.segments
    scored = Scored(np.array(["C1"]), np.array([2]), np.array([0.5]), np.array([[3.0, 2.5, 1.25]]))
    text = ScoreFormat(catalogue, explain=True).lines(scored).decode()
    assert text == "C1,2,Value-Seeking Regular,0.5,3.0,2.5,1.25\n"


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
