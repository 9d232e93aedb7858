"""A new user's first hour: the README's commands, run as written in a fresh clone.

The repository (its committed state) is cloned into a temporary folder with the shared data
beside it, as in a checkout; each script then builds the clone's own ``.venv`` from the pinned
requirements files: ``scripts/serve`` until healthy, ``scripts/train``, ``pip install .``
with the console script served from another folder, and ``scripts/test`` on a narrow
selection (the whole suite would take as long as CI).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CUSTOMER_DATA, ROOT, SHARED_DATA
from tests.ship.service import free_port, get, running
from tests.ship.test_readme import _console_commands

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _readme(prefix: str) -> list[str]:
    """The README's first command starting with ``prefix``, as words."""
    return shlex.split(next(c for c in _console_commands() if c.startswith(prefix)))


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("first-hour")
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(work / "clone")], check=True, timeout=120)
    if SHARED_DATA.is_dir():  # where the README's commands (and the tests) look for it
        (work / "shared").symlink_to(SHARED_DATA.parent, target_is_directory=True)
    yield work / "clone"


def _run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=900, check=False)


def test_serve_in_a_fresh_clone_answers_and_says_what_it_serves(clone: Path, tmp_path: Path) -> None:
    assert _readme("scripts/serve") == ["scripts/serve"]
    port, log = free_port(), tmp_path / "serve.log"
    with running([str(clone / "scripts" / "serve"), "--port", str(port)], port, cwd=clone, log=log,
                 timeout=600) as base:
        live = json.loads(get(f"{base}/health/live")[1])
    assert live == {"status": "alive", "model_loaded": True, "models_loaded": True,
                    "model_version": "1.0.0"}
    serving = [json.loads(line) for line in log.read_text().splitlines()
               if line.startswith("{") and '"message":"serving"' in line]
    assert len(serving) == 1, log.read_text()[-2000:]
    assert serving[0]["bundle"] == str(clone / "artifacts" / "customer-segmentation" / "1.0.0")
    assert serving[0]["model_version"] == "1.0.0" and len(serving[0]["checksum"]) == 64


def test_train_in_a_fresh_clone_writes_a_new_version(clone: Path) -> None:
    if not CUSTOMER_DATA.is_file():
        pytest.skip(f"shared data absent: {CUSTOMER_DATA}")
    command = _readme("scripts/train")
    done = _run([str(clone / command[0]), *command[1:]], clone)
    assert done.returncode == 0, done.stdout + done.stderr
    out = clone / command[command.index("--out") + 1]
    assert (out / "manifest.json").is_file() and (out / "report" / "report.md").is_file()


def test_pip_install_gives_console_scripts_that_serve_from_any_folder(clone: Path, tmp_path: Path) -> None:
    assert _readme("pip install .") == ["pip", "install", "."]
    if not (clone / ".venv" / "bin" / "pip").exists():
        assert _run([str(clone / "scripts" / "serve"), "--help"], clone).returncode == 0
    done = _run([str(clone / ".venv" / "bin" / "pip"), "install", "--quiet", "."], clone)
    assert done.returncode == 0, done.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    serve = str(clone / ".venv" / "bin" / _readme("segmentation-serve")[0])
    assert _run([serve, "--help"], elsewhere).returncode == 0
    port = free_port()
    with running([serve, "--port", str(port)], port, cwd=elsewhere, timeout=60) as base:
        assert json.loads(get(f"{base}/health")[1])["model_version"] == "1.0.0"


def test_the_test_command_in_a_fresh_clone_passes_a_narrow_selection(clone: Path) -> None:
    assert _readme("scripts/test") == ["scripts/test"]
    done = _run([str(clone / "scripts" / "test"), "-q", "-k", "test_readme_has_the_two_commands"],
                clone, SKIP_SYSTEM_PACKAGES="1")
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "==> all steps passed" in done.stdout
