"""``python -m bench.perf.readme``: the README's benchmark table, made from a results file.

The table between the README's ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` lines is
generated from ``bench/results/results.json`` (the committed full run), with its date and
machine; ``tests/ship/test_readme.py`` checks the README holds exactly what this makes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.perf.figures import Figure, table
from bench.perf.settings import ROOT

__all__ = ["BEGIN", "END", "block", "main"]

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
RESULTS = ROOT / "bench" / "results" / "results.json"
README = ROOT / "README.md"


def block(results: dict[str, Any]) -> str:
    """The README's benchmark block (markers included) for a results file's content."""
    meta = results["meta"]
    figures = [Figure(**{k: v for k, v in figure.items() if k not in ("ratio", "met")})
               for figure in results["figures"]]
    lines = [BEGIN, f"`bench/run` ({meta['mode']} run), {meta['date']}, on {meta['machine']}:", ""]
    if meta["mode"] != "full":
        lines += ["**A quick run: short measurements, not comparable with a full run.**", ""]
    lines += ["```", table(figures), "```", END]
    return "\n".join(lines)


def _replaced(text: str, new_block: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + new_block + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.perf.readme", description=__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS, help="results file (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's table differs")
    options = parser.parse_args(argv)
    wanted = block(json.loads(options.results.read_text()))
    text = README.read_text()
    if BEGIN not in text or END not in text:
        print(f"error: {README} has no {BEGIN} ... {END} block", file=sys.stderr)
        return 1
    if options.check:
        return 0 if _replaced(text, wanted) == text else 1
    README.write_text(_replaced(text, wanted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
