"""``python -m training``: a bad export ends in one ``error:`` line, never a traceback or a bundle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runtime.scoring.export import COLUMNS
from tests.conftest import CUSTOMER_DATA, ROOT
from training.__main__ import main

HEADER = ",".join(COLUMNS)
ROW = "C{n:03d},{age},F,Delhi,{income},{spent},{purchases},2000,{minutes},{discount},Day"


def export(rows: int, **fixed: object) -> str:
    """An export of ``rows`` varied, complete customers."""
    lines = [HEADER]
    for n in range(rows):
        values = {"n": n, "age": 20 + n % 30, "income": 200_000 + 9_000 * n,
                  "spent": 40_000 + 7_000 * n, "purchases": 1 + n % 17, "minutes": 10 + 3 * n,
                  "discount": ("Low", "Medium", "High")[n % 3], **fixed}
        lines.append(ROW.format(**values))
    return "\n".join(lines) + "\n"


def assert_one_error_line(stderr: str, *fragments: str) -> str:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def run_cli(data: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "training", "--data", str(data), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (None, ["cannot open (No such file or directory)"]),
        (HEADER.replace("TotalSpent,", "") + "\nC001\n", ["missing required column TotalSpent"]),
        ("", ["the file is empty"]),
    ],
    ids=["missing file", "missing column", "empty file"],
)
def test_a_bad_export_ends_in_one_error_line_and_no_bundle(
    tmp_path: Path, content: str | None, fragments: list[str]
) -> None:
    data = tmp_path / "export.csv"
    if content is not None:
        data.write_text(content)
    out = tmp_path / "models" / "1.0.0"
    done = run_cli(data, out)
    assert done.returncode == 1
    assert_one_error_line(done.stderr, str(data), *fragments)
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


# The same front door, called in-process for the rarer cases


def train(tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    data = tmp_path / "export.csv"
    data.write_text(content)
    code = main(["--data", str(data), "--out", str(tmp_path / "out" / "1.0.0")])
    stderr = capsys.readouterr().err
    assert not (tmp_path / "out" / "1.0.0").exists()
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    return code, stderr


def test_a_header_without_customers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stderr = train(tmp_path, f"\n{HEADER}\n\n", capsys)
    assert code == 1
    assert_one_error_line(stderr, "no complete customer row (0 read, 0 rejected")


def test_only_rejected_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stderr = train(tmp_path, f"{HEADER}\nC001,28,F\nC002,,F,Pune,1,2,3,4,5,Low,Day\n", capsys)
    assert code == 1
    assert_one_error_line(stderr, "(2 read, 2 rejected: {'truncated': 1, 'missing value': 1})")


def test_too_few_customers_for_k(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stderr = train(tmp_path, export(3), capsys)
    assert code == 1
    assert_one_error_line(stderr, "3 customers left after cleaning, K-Means needs more than k=3")


def test_identical_customers_cannot_form_segments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = export(12, age=30, income=400_000, spent=100_000, purchases=5, minutes=40,
                     discount="Low")
    code, stderr = train(tmp_path, content, capsys)
    assert code == 1
    assert_one_error_line(stderr, "K-Means cannot form 3 segments", "distinct clusters (1)")


def test_an_unknown_category_names_its_line_and_customer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = export(20).replace("C007,27,F,", "C007,27,X,")
    code, stderr = train(tmp_path, content, capsys)
    assert code == 1
    assert_one_error_line(stderr, "line 9 (C007): Gender: Unknown value 'X', expected one of F, M")


def test_a_directory_that_is_not_a_bundle_is_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not CUSTOMER_DATA.is_file():
        pytest.skip(f"shared data absent: {CUSTOMER_DATA} (tests read it from ../shared/data/)")
    (tmp_path / "notes.txt").write_text("keep me")
    code = main(["--data", str(CUSTOMER_DATA), "--out", str(tmp_path)])
    assert code == 1
    assert_one_error_line(capsys.readouterr().err, "exists and is not a bundle")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_k_below_two_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", "x.csv", "--out", "y", "--k", "1"]) == 2
    assert_one_error_line(capsys.readouterr().err, "--k must be at least 2")
