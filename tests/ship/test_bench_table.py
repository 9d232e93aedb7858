"""The README's benchmark table is the committed full run's, as ``bench.perf.readme`` renders it."""

from __future__ import annotations

import json

from bench.perf.readme import BEGIN, END, RESULTS, block
from tests.conftest import ROOT


def test_the_readme_table_is_generated_from_the_committed_full_run() -> None:
    results = json.loads(RESULTS.read_text())
    assert results["meta"]["mode"] == "full", "the README shows a full run, never a quick one"
    readme = (ROOT / "README.md").read_text()
    shown = readme[readme.index(BEGIN):readme.index(END) + len(END)]
    assert shown == block(results)


def test_a_quick_run_says_it_is_not_comparable() -> None:
    results = json.loads(RESULTS.read_text())
    quick = {**results, "meta": {**results["meta"], "mode": "quick"}}
    assert "not comparable" in block(quick)
    assert "not comparable" not in block(results)
