"""docs/v2.md's examples, run for real against a live service so they cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

DOC = (ROOT / "docs" / "v2.md").read_text()
DOCUMENTED = "127.0.0.1:8000"
CURL = [(command, output.strip())
        for block in re.findall(r"^```console\n(.*?)^```", DOC, re.M | re.S)
        for command, output in re.findall(r"^\$ (curl [^\n]*)\n(.*?)(?=^\$ |\Z)", block, re.M | re.S)]
PYTHON = re.findall(r"^```python\n(.*?)^```\n\n```text\n(.*?)^```", DOC, re.M | re.S)


@pytest.fixture(scope="module")
def address(live_url: str) -> str:
    return live_url.removeprefix("http://")


def test_the_doc_has_curl_and_tritonclient_examples() -> None:
    assert len(CURL) >= 2
    assert len(PYTHON) == 1 and "tritonclient" in PYTHON[0][0]


@pytest.mark.parametrize(("command", "documented"), CURL, ids=[f"curl-{i}" for i in range(len(CURL))])
def test_curl_example_answers_as_documented(address: str, command: str, documented: str) -> None:
    result = subprocess.run(["bash", "-c", command.replace(DOCUMENTED, address)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == documented


def test_tritonclient_example_prints_as_documented(address: str) -> None:
    source, documented = PYTHON[0]
    result = subprocess.run([sys.executable, "-c", source.replace(DOCUMENTED, address)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == documented.strip()
