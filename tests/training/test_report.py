"""The training report: a Markdown page and its PNG figures beside the bundle."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_BUNDLE
from tests.training.conftest import Retrain
from training.report import K_RANGE

FIGURES = ("k_sweep.png", "profiles.png", "projection.png", "stability.png")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(params=["retrained", "shipped"])
def report(request: pytest.FixtureRequest) -> Path:
    if request.param == "shipped":
        return DEFAULT_BUNDLE / "report"
    retrain: Retrain = request.getfixturevalue("retrain")
    return retrain.out / "report"


def test_the_report_has_its_page_and_figures(report: Path) -> None:
    assert sorted(p.name for p in report.iterdir()) == sorted(["report.md", *FIGURES])


@pytest.mark.parametrize("figure", FIGURES)
def test_each_figure_is_a_png_of_a_sensible_size(report: Path, figure: str) -> None:
    data = (report / figure).read_bytes()
    width, height = png_size(data)
    assert 400 <= width <= 2000 and 300 <= height <= 1200, (width, height)
    assert 10_000 <= len(data) <= 1_000_000
    assert data.endswith(b"IEND\xaeB`\x82")  # complete, not cut short


def test_the_page_shows_the_figures_the_k_sweep_and_the_cleaning(report: Path) -> None:
    page = (report / "report.md").read_text()
    for figure in FIGURES:
        assert f"]({figure})" in page, figure
    swept = [int(k) for k in re.findall(r"^\| (\d+) \| 0\.\d{4} \| [\d.]+ \|$", page, re.M)]
    assert swept == list(K_RANGE) == [2, 3, 4, 5, 6, 7, 8]
    assert "| drop incomplete rows | 100 | 96 | missing value: 3, truncated: 1 |" in page
    assert "| drop 1.5 x IQR outliers | 96 | 86 | outlier: AnnualIncome: 8, outlier: TotalSpent: 2 |" in page
    assert "| 1 | High-Value Loyal | 15 |" in page
