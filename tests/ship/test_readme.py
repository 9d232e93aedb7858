"""The README's commands: every script or repository path a ```console line names exists.

Running them is left to the tests that exercise them (the image test serves, CI runs the
test command itself).
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# Options whose value is a path to be written, not one that must exist already.
OUTPUT_OPTIONS = re.compile(r"^-(o|-out|-output)(-.*)?$")


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
            if _is_repository_path(word) and not OUTPUT_OPTIONS.match(previous):
                assert (ROOT / word).exists(), f"{command!r}: {word} does not exist"
            previous = argument
