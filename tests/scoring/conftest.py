"""Helpers for the bulk-scoring tests: exports written as delivered, and the CLI run in-process."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pytest

from runtime import score
from runtime.scoring.export import COLUMNS

HEADER = ",".join(COLUMNS)
GOOD = ["C001", "28", "F", "Bangalore", "450000", "120000", "6", "2000", "45", "Medium", "Night"]


def write_export(path: Path, rows: Sequence[str | Sequence[str]], wrap: bool = True,
                 newline: str = "\n", bom: bool = True) -> Path:
    """An export as delivered: a BOM, and each line (given as text or fields) wrapped in quotes."""
    lines = [HEADER] + [row if isinstance(row, str) else ",".join(row) for row in rows]
    text = "".join((f'"{line}"' if wrap else line) + newline for line in lines)
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path


def row(**changes: str) -> list[str]:
    """A complete customer row with ``changes`` made to its fields."""
    fields = dict(zip(COLUMNS, GOOD, strict=True)) | changes
    return [fields[name] for name in COLUMNS]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    """``python -m runtime.score ARGS`` in this process: the exit code and what went to stderr."""
    code = score.main([str(arg) for arg in args])
    return code, capsys.readouterr().err
