"""Fixtures of the bundle tests: the shipped bundle, and a copy of it free to corrupt."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runtime.core.bundle import Bundle, load_bundle
from tests.conftest import DEFAULT_BUNDLE


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the shipped bundle, free to corrupt."""
    return Path(shutil.copytree(DEFAULT_BUNDLE, tmp_path / "bundle"))


@pytest.fixture
def shipped() -> Bundle:
    return load_bundle(DEFAULT_BUNDLE)
