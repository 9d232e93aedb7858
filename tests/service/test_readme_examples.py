"""The README's examples, run for real against a live service so they cannot rot."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.service.settings import ENVIRONMENT
from tests.conftest import ROOT
from tests.ship.service import free_port, running

README = (ROOT / "README.md").read_text()
DOCUMENTED_PORT = "127.0.0.1:8000"


def examples(prefix: str) -> list[tuple[str, str]]:
    """(command, documented output) of every ```console example whose command starts so."""
    found = []
    for block in re.findall(r"^```console\n(.*?)^```", README, re.M | re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            if command.startswith(prefix):
                found.append((command, output.strip()))
    return found


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("readme") / "service.log"
    command = [sys.executable, "-m", "runtime", "--port", str(port)]
    with running(command, port, cwd=ROOT, log=log) as base:
        yield base


def run_shell(command: str, base_url: str) -> subprocess.CompletedProcess[str]:
    command = command.replace(DOCUMENTED_PORT, base_url.removeprefix("http://"))
    command = command.replace(".venv/bin/python", shlex.quote(sys.executable))
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


CURL = examples("curl ")


def test_the_readme_has_curl_examples() -> None:
    assert len(CURL) >= 4


@pytest.mark.parametrize(("command", "documented"), CURL, ids=[f"curl-{i}" for i in range(len(CURL))])
def test_curl_example_answers_as_documented(base_url: str, command: str, documented: str) -> None:
    result = run_shell(command, base_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == documented


def test_smoke_client_example_passes(base_url: str) -> None:
    (command, _), = examples(".venv/bin/python -m runtime.smoke")
    result = run_shell(command, base_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all endpoints answered as expected" in result.stdout


def test_smoke_client_fails_on_a_dead_service() -> None:
    result = subprocess.run([sys.executable, "-m", "runtime.smoke", f"http://127.0.0.1:{free_port()}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "cannot reach the service" in result.stderr


def test_training_example_trains_a_bundle(customer_data: Path, tmp_path: Path) -> None:
    (command, _), = examples(".venv/bin/python -m training")
    words = shlex.split(command)
    words[words.index("--out") + 1] = str(tmp_path / "1.0.1")
    words[words.index("--data") + 1] = str(customer_data)
    result = subprocess.run([sys.executable, *words[1:]], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "1.0.1" / "manifest.json").is_file()


def test_every_setting_is_documented_with_its_meaning() -> None:
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2].strip()
            for line in README.splitlines() if line.startswith("| `SEGMENTATION_")}
    assert rows == {variable: meaning for variable, meaning in ENVIRONMENT.values()}
