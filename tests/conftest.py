"""Fixtures shared by every test: the shared data, the default bundle, a seeded generator."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CUSTOMER_DATA = SHARED_DATA / "CustomerData.csv"
SEED_SEGMENTS = SHARED_DATA / "seed_segments.json"
DEFAULT_BUNDLE = ROOT / "artifacts" / "customer-segmentation" / "1.0.0"
SEED = int(os.environ.get("TEST_SEED", "20261125"))


def pytest_report_header() -> str:
    return f"random seed: {SEED} (set TEST_SEED to change it)"


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator seeded with TEST_SEED; the seed is printed in the report header."""
    return np.random.default_rng(SEED)


@pytest.fixture
def customer_data() -> Path:
    """The raw export, read where it is delivered; never copied into the repository."""
    if not CUSTOMER_DATA.is_file():
        pytest.skip(f"shared data absent: {CUSTOMER_DATA} (tests read it from ../shared/data/)")
    return CUSTOMER_DATA


@pytest.fixture
def seed_segments() -> Path:
    if not SEED_SEGMENTS.is_file():
        pytest.skip(f"shared data absent: {SEED_SEGMENTS} (tests read it from ../shared/data/)")
    return SEED_SEGMENTS
