"""The smoke client against live services: with the standard library alone, and with a
catalogue override that renames every segment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.hardening.conftest import Serve


def _smoke(url: str, *isolation: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *isolation, "-m", "runtime.smoke", url], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def test_smoke_runs_on_the_standard_library_alone(serve: Serve) -> None:
    live = serve()
    # -S: no site-packages at all, so msgspec and the rest cannot load.
    result = _smoke(live.url, "-S")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert "all endpoints answered as expected" in result.stdout


def test_smoke_passes_with_a_catalogue_override_and_fails_where_no_service_answers(
    serve: Serve, tmp_path: Path
) -> None:
    renamed = {"segments": [
        {"id": i, "name": f"Renamed {i}", "description": "Renamed", "offers": ["Renamed offer"]}
        for i in range(3)]}
    override = tmp_path / "catalogue.json"
    override.write_text(json.dumps(renamed))
    live = serve(env={"SEGMENTATION_CATALOGUE": str(override)})
    passed = _smoke(live.url)
    assert passed.returncode == 0, passed.stdout[-2000:] + passed.stderr
    assert '"segment_name":"Renamed 1"' in passed.stdout
    wrong = _smoke(f"{live.url}/not-a-service")
    assert wrong.returncode == 1 and "FAILED: GET /health" in wrong.stderr
