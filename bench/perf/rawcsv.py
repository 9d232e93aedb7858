"""Reading the raw customer export as delivered: a BOM, and every line wrapped in quotes."""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["read_rows", "read_text"]


def read_text(path: Path) -> str:
    """The export as plain CSV text: BOM dropped, each line's wrapping quotes stripped."""
    text = path.read_text(encoding="utf-8-sig")
    lines = (line.strip().strip('"') for line in text.splitlines())
    return "\n".join(line for line in lines if line) + "\n"


def read_rows(path: Path) -> list[dict[str, str]]:
    """Complete rows only (no missing or cut-short field), as field name to text."""
    reader = csv.DictReader(read_text(path).splitlines())
    fields = reader.fieldnames or []
    return [row for row in reader if all((row.get(name) or "").strip() for name in fields)]
