"""The README's commands: each one is run by a named test, and every path it names exists.

The examples against a live service run in ``tests/service/test_readme_examples.py``, the
first-hour commands (serve, train, test, install) in a fresh clone in
``tests/ship/test_fresh_clone.py``, bulk scoring and the rollout walkthrough here.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ship.service import free_port, get, running

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# Options whose value is a path to be written, not one that must exist already.
OUTPUT_OPTIONS = re.compile(r"^-(o|-out|-output)(-.*)?$")
# Paths that the README's own commands create before naming them (the rollout's first promote).
CREATED = {"artifacts/customer-segmentation/current"}


def _console_commands() -> list[str]:
    commands = []
    for block in re.findall(r"^```console\n(.*?)^```", README.read_text(), re.M | re.S):
        commands += [line[2:].strip() for line in block.splitlines() if line.startswith("$ ")]
    return commands


def _is_repository_path(word: str) -> bool:
    return ("/" in word and "://" not in word and not word.startswith(("-", "..", "/", "~"))
            and ":" not in word)


def test_readme_has_the_two_commands() -> None:
    commands = _console_commands()
    assert "scripts/serve" in commands
    assert "scripts/test" in commands


def test_ci_runs_the_readme_test_command() -> None:
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert any(line.startswith("exec scripts/test") for line in lines)


def test_readme_commands_name_existing_paths() -> None:
    for command in _console_commands():
        words = shlex.split(command)
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            words.pop(0)  # VAR=value before the program
        program, *arguments = words
        if _is_repository_path(program):
            path = ROOT / program
            assert path.is_file(), f"{command!r}: {program} does not exist"
            assert os.access(path, os.X_OK), f"{command!r}: {program} is not executable"
        previous = ""
        for argument in arguments:
            word = argument.removeprefix("@")  # curl's -d @file
            if _is_repository_path(word) and not OUTPUT_OPTIONS.match(previous) and word not in CREATED:
                assert (ROOT / word).exists(), f"{command!r}: {word} does not exist"
            previous = argument


# Which test file runs each README command, by the command's first words.
RUNNERS = {
    "scripts/serve": "tests/ship/test_fresh_clone.py",
    "scripts/test": "tests/ship/test_fresh_clone.py",
    "scripts/train": "tests/ship/test_fresh_clone.py",
    "pip install .": "tests/ship/test_fresh_clone.py",
    "segmentation-serve": "tests/ship/test_fresh_clone.py",
    "curl ": "tests/service/test_readme_examples.py",
    ".venv/bin/python -m runtime.smoke": "tests/service/test_readme_examples.py",
    ".venv/bin/python -m runtime.score": "tests/ship/test_readme.py",
    ".venv/bin/python -m runtime.rollout": "tests/ship/test_readme.py",
}


def test_every_readme_command_is_run_by_a_test() -> None:
    for command in _console_commands():
        prefix = next((p for p in RUNNERS if command.startswith(p)), None)
        assert prefix is not None, f"{command!r}: no test runs it; add one and list it in RUNNERS"
        assert prefix.strip() in (ROOT / RUNNERS[prefix]).read_text(), (prefix, RUNNERS[prefix])


def _block_with(text: str) -> list[str]:
    """The commands of the one ```console block holding ``text``."""
    blocks = [block for block in re.findall(r"^```console\n(.*?)^```", README.read_text(), re.M | re.S)
              if text in block]
    assert len(blocks) == 1, f"{len(blocks)} console blocks hold {text!r}"
    return [line[2:].strip() for line in blocks[0].splitlines() if line.startswith("$ ")]


@pytest.mark.slow
def test_readme_score_example_writes_the_documented_columns(customer_data: Path, tmp_path: Path) -> None:
    (command,) = [c for c in _console_commands() if c.startswith(".venv/bin/python -m runtime.score")]
    words = shlex.split(command.replace("../shared/data/CustomerData.csv", str(customer_data))
                        .replace("/tmp/segments.csv", str(tmp_path / "segments.csv")))
    done = subprocess.run([sys.executable, *words[1:]], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "segments.csv", newline="") as file:
        header = next(csv.reader(file))
    assert header == ["CustomerID", "cluster", "segment_name", "confidence_score"]


@pytest.mark.slow
def test_readme_rollout_walkthrough_promotes_and_rolls_back(customer_data: Path, tmp_path: Path) -> None:
    """The README's rollout block, run in order on a copy of the shipped bundles."""
    bundles = tmp_path / "bundles"
    shutil.copytree(ROOT / "artifacts" / "customer-segmentation" / "1.0.0", bundles / "1.0.0")
    port = free_port()
    substitutions = {"artifacts/customer-segmentation": str(bundles),
                     "/tmp/segmentation.pid": str(tmp_path / "server.pid"),
                     "../shared/data/CustomerData.csv": str(customer_data)}
    commands = []
    training = [c for c in _console_commands() if c.startswith("scripts/train")][:1]  # "as above"
    for documented_command in training + _block_with("runtime.rollout promote 1.0.0"):
        command = documented_command
        for documented, actual in substitutions.items():
            command = command.replace(documented, actual)
        commands.append(shlex.split(command))
    program = {"scripts/serve": [sys.executable, "-m", "runtime"],
               "scripts/train": [sys.executable, "-m", "training"],
               ".venv/bin/python": [sys.executable]}
    server = next(i for i, words in enumerate(commands) if words[0] == "scripts/serve")
    for words in commands[:server]:
        _run([*program[words[0]], *words[1:]])
    serve = [*program["scripts/serve"], *commands[server][1:], "--port", str(port)]
    with running(serve, port, cwd=ROOT, log=tmp_path / "server.log") as base:
        expected = iter(["1.0.1", "1.0.0"])  # after the promotion, then after the rollback
        for words in commands[server + 1:]:
            _run([*program[words[0]], *words[1:]])
            if "runtime.rollout" in words:
                _wait_for_version(base, next(expected))


def _run(command: list[str]) -> None:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, f"{command}: {done.stderr}"


def _wait_for_version(base: str, version: str) -> None:
    for _ in range(300):
        if json.loads(get(f"{base}/health")[1]).get("model_version") == version:
            return
        time.sleep(0.1)
    raise AssertionError(f"{base} never served {version}")


def test_links_between_the_readme_and_docs_resolve() -> None:
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    assert (ROOT / "docs" / "index.md") in pages
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to {target}"
