"""Fixtures for the training tests: the shared export cleaned, and one retrain of the default."""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.core.bundle import Bundle, load_bundle
from runtime.scoring.export import ExportChunk, read_export
from tests.conftest import CUSTOMER_DATA, DEFAULT_BUNDLE, ROOT
from training.pipeline import clean


def _require_shared_data() -> None:
    if not CUSTOMER_DATA.is_file():
        pytest.skip(f"shared data absent: {CUSTOMER_DATA} (tests read it from ../shared/data/)")


@pytest.fixture(scope="session")
def customers() -> ExportChunk:
    """The 86 customers the default model is fitted on."""
    _require_shared_data()
    return clean(read_export(CUSTOMER_DATA))[0]


@dataclass(frozen=True)
class Retrain:
    arguments: list[str]  # as passed to python -m training
    out: Path
    bundle: Bundle
    stderr: str


@pytest.fixture(scope="session")
def retrain(tmp_path_factory: pytest.TempPathFactory) -> Retrain:
    """The shipped bundle retrained with the command its manifest records, into a temporary
    directory of the same name (so the model version matches)."""
    _require_shared_data()
    command = shlex.split(load_bundle(DEFAULT_BUNDLE).manifest.model.command)
    assert command[:3] == ["python", "-m", "training"], command
    arguments = command[3:]
    out = tmp_path_factory.mktemp("retrain") / Path(arguments[arguments.index("--out") + 1]).name
    arguments[arguments.index("--out") + 1] = str(out)
    done = subprocess.run([sys.executable, "-m", "training", *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return Retrain(arguments, out, load_bundle(out), done.stderr)
