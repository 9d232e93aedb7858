"""``python -m runtime.score`` end to end: answers, the side file, the summary, errors, atomicity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runtime import score
from runtime.scoring import output as output_module
from tests.conftest import ROOT
from tests.scoring.conftest import read_csv, row, run_cli, write_export

COLUMNS = ["CustomerID", "cluster", "segment_name", "confidence_score"]


def test_shared_export_scores_96_customers_and_sets_4_aside(
        customer_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "segments.csv"
    code, err = run_cli(capsys, customer_data, "-o", out)
    assert code == 0, err
    answers = read_csv(out)
    assert list(answers[0]) == COLUMNS
    assert len(answers) == 96
    assert {a["segment_name"] for a in answers} == {
        "Price-Sensitive Occasional", "High-Value Loyal", "Value-Seeking Regular"}
    assert all(0.0 <= float(a["confidence_score"]) <= 1.0 for a in answers)
    assert (tmp_path / "segments.rejected.csv").read_text() == (
        "line,CustomerID,reason\n"
        "5,C004,missing value: AnnualIncome\n"
        "9,C008,missing value: AppTimeMinutes\n"
        "16,C015,missing value: DiscountUsage\n"
        "101,C100,truncated: 8 of 11 fields\n"
    )
    assert "scored 96 of 100 rows" in err
    assert "rejected 4 rows" in err and "missing value 3, truncated 1" in err
    assert "segment 1 High-Value Loyal" in err


def test_explain_adds_one_distance_per_segment(
        customer_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "explained.csv"
    assert run_cli(capsys, customer_data, "-o", out, "--explain")[0] == 0
    answers = read_csv(out)
    assert list(answers[0]) == [*COLUMNS, "distance_0", "distance_1", "distance_2"]
    for answer in answers:  # the assigned segment is the nearest one
        distances = [float(answer[f"distance_{i}"]) for i in range(3)]
        assert distances.index(min(distances)) == int(answer["cluster"])


def test_dirty_rows_are_set_aside_with_reasons_never_stopping_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        row(CustomerID="OK1"),
        row(CustomerID="UNKNOWN", DiscountUsage="Sometimes"),
        row(CustomerID="OLD", Age="150"),
        row(CustomerID="HALF", MonthlyPurchases="2.5"),
        row(CustomerID="WORD", TotalSpent="lots"),
        row(CustomerID="CITY", City="Springfield"),  # an unknown city pulls towards no segment
        row(CustomerID="CASE", Gender="female", DiscountUsage=" HIGH "),
    ]
    path = write_export(tmp_path / "dirty.csv", rows)
    quoted = '"say ""hi"", again",' + ",".join(row(Gender="Male")[1:])  # the csv module's reading
    with open(path, "a", encoding="utf-8") as file:
        file.write(f"{quoted}\nC9,1,2\n")
    out = tmp_path / "dirty-out.csv"
    code, err = run_cli(capsys, path, "-o", out, "--batch-rows", "2")
    assert code == 0, err
    assert [a["CustomerID"] for a in read_csv(out)] == ["OK1", "CITY", "CASE", 'say "hi", again']
    rejected = {r["CustomerID"]: r for r in read_csv(tmp_path / "dirty-out.rejected.csv")}
    assert rejected["UNKNOWN"]["reason"] == (
        "invalid value: Unknown value 'Sometimes', expected one of Low, Medium, High "
        "- at `$.DiscountUsage`")
    assert rejected["OLD"]["reason"] == "invalid value: Expected `int` <= 120 - at `$.Age`"
    assert rejected["HALF"]["reason"] == (
        "invalid value: Expected `int`, got `float` - at `$.MonthlyPurchases`")
    assert rejected["WORD"]["reason"] == "not a number: TotalSpent = 'lots'"
    assert rejected["C9"]["reason"] == "truncated: 3 of 11 fields"
    assert [int(r["line"]) for r in rejected.values()] == [3, 4, 5, 6, 10]


def test_an_interrupted_run_leaves_no_output_and_keeps_the_earlier_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_export(tmp_path / "in.csv", [row(CustomerID=f"C{i}") for i in range(50)])
    out = tmp_path / "out.csv"
    out.write_text("an earlier run's answers\n")
    calls = []
    original = output_module.ScoreFormat.table

    def interrupted(self: output_module.ScoreFormat, scored: object) -> object:
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return original(self, scored)  # type: ignore[arg-type]

    monkeypatch.setattr(output_module.ScoreFormat, "table", interrupted)
    code, err = run_cli(capsys, path, "-o", out, "--batch-rows", "10")
    assert code == 130
    assert err.strip() == "error: interrupted; no output written"
    assert out.read_text() == "an earlier run's answers\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


@pytest.mark.parametrize(("setup", "message"), [
    ("missing", "no such export file"),
    ("column", "missing required column"),
    ("bundle", "manifest"),
    ("directory", "output directory not found"),
    ("same", "would overwrite the input"),
])
def test_bad_input_exits_1_with_one_error_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, message: str) -> None:
    source = write_export(tmp_path / "in.csv", [row()])
    out = tmp_path / "out.csv"
    extra: list[str | Path] = []
    if setup == "missing":
        source = tmp_path / "absent.csv"
    elif setup == "column":
        source.write_text("CustomerID,Age\nC1,3\n")
    elif setup == "bundle":
        (tmp_path / "bundle").mkdir()
        (tmp_path / "bundle" / "manifest.json").write_text("{not json")
        extra = ["--bundle", tmp_path / "bundle"]
    elif setup == "directory":
        out = tmp_path / "nowhere" / "out.csv"
    elif setup == "same":
        out = source
    code, err = run_cli(capsys, source, "-o", out, *extra)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["in.csv"]


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        run_cli(capsys, tmp_path / "in.csv", "-o", tmp_path / "o.csv", "--scheduler", "tcp://x:1")
    assert stopped.value.code == 2
    assert "--scheduler needs --engine dask" in capsys.readouterr().err


def test_runs_as_a_module_with_help() -> None:
    done = subprocess.run([sys.executable, "-m", "runtime.score", "--help"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    for flag in ("--bundle", "--explain", "--batch-rows", "--engine", "--scheduler"):
        assert flag in done.stdout


def test_the_dask_engine_without_dask_says_how_to_install_it(
        customer_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = score.importlib.import_module

    def without_dask(name: str) -> object:
        if name.split(".", maxsplit=1)[0] in ("dask", "distributed"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name)

    monkeypatch.setattr(score.importlib, "import_module", without_dask)
    code, err = run_cli(capsys, customer_data, "-o", tmp_path / "o.csv", "--engine", "dask")
    assert code == 1
    assert err.count("\n") == 1 and "pip install -r requirements-scale.txt" in err
