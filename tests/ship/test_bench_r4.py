"""The benchmark's R4 figures: ratios held to their targets, and a skip that says why."""

from __future__ import annotations

from typing import Any

import pytest

from bench.perf.figures import table
from bench.perf.peer_mlserver import figures


def point(rate: float, clean: bool = True) -> dict[str, Any]:
    return {"rate": rate, "clean": clean, "rounds": []}


def test_each_figure_is_ours_against_its_reference() -> None:
    data = {"errors": {}, "r4": {
        "ours_v2_1": point(1_500), "mlserver_v2_1": point(100),
        "ours_v2_batch": point(300), "mlserver_v2_batch": point(70),
        "ours_v2_binary": point(50), "ours_json_batch": point(20),
    }}
    single, batch, binary = figures(data)
    assert (single.ratio, single.met) == (pytest.approx(15.0), True)
    assert (batch.ratio, batch.met) == (pytest.approx(300 / 70), False)  # short of 5x
    assert (binary.ours, binary.ratio, binary.met) == (500_000, pytest.approx(2.5), True)


def test_errors_under_load_flag_the_figure() -> None:
    data = {"errors": {}, "r4": {
        "ours_v2_1": point(1_500), "mlserver_v2_1": point(100, clean=False),
        "ours_v2_batch": point(300), "mlserver_v2_batch": point(10),
        "ours_v2_binary": point(50), "ours_json_batch": point(20),
    }}
    single = figures(data)[0]
    assert single.flags == ["errors under load (mlserver_v2_1)"] and single.met is False


def test_a_skipped_peer_says_why_and_the_binary_figure_stays() -> None:
    data = {"errors": {}, "r4": {"skipped": "MLServer could not be installed or started: no wheel",
                                 "ours_v2_binary": point(50), "ours_json_batch": point(20)}}
    skipped, binary = figures(data)
    assert "no wheel" in skipped.name and skipped.met is None
    assert binary.met is True
    assert "R4 skipped: MLServer could not be installed" in table([skipped, binary])
