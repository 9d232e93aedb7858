"""Fixtures shared by every test: the shared data, the default bundle, a seeded generator, the app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from runtime.service.app import create_app
from runtime.service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CUSTOMER_DATA = SHARED_DATA / "CustomerData.csv"
SEED_SEGMENTS = SHARED_DATA / "seed_segments.json"
DEFAULT_BUNDLE = ROOT / "artifacts" / "customer-segmentation" / "1.0.0"
SEED = int(os.environ.get("TEST_SEED", "20261125"))

SEGMENT_NAMES = {0: "Price-Sensitive Occasional", 1: "High-Value Loyal", 2: "Value-Seeking Regular"}
# The seed's three test customers (DESIGN.md) and the README example, with their segments.
SAMPLES: dict[str, tuple[dict[str, Any], int]] = {
    "high-value": ({"Age": 45, "Gender": "M", "City": "Mumbai", "AnnualIncome": 1_200_000,
                    "TotalSpent": 750_000, "MonthlyPurchases": 18, "AvgOrderValue": 10_000,
                    "AppTimeMinutes": 120, "DiscountUsage": "High",
                    "PreferredShoppingTime": "Night"}, 1),
    "value-seeking": ({"Age": 35, "Gender": "F", "City": "Delhi", "AnnualIncome": 600_000,
                       "TotalSpent": 250_000, "MonthlyPurchases": 9, "AvgOrderValue": 3500,
                       "AppTimeMinutes": 70, "DiscountUsage": "Medium",
                       "PreferredShoppingTime": "Day"}, 2),
    "price-sensitive": ({"Age": 30, "Gender": "F", "City": "Bangalore", "AnnualIncome": 250_000,
                         "TotalSpent": 50_000, "MonthlyPurchases": 2, "AvgOrderValue": 1500,
                         "AppTimeMinutes": 20, "DiscountUsage": "Low",
                         "PreferredShoppingTime": "Day"}, 0),
    "readme": ({"Age": 28, "Gender": "Female", "City": "Mumbai", "AnnualIncome": 450_000,
                "TotalSpent": 120_000, "MonthlyPurchases": 6, "AvgOrderValue": 2000,
                "AppTimeMinutes": 45, "DiscountUsage": "Medium",
                "PreferredShoppingTime": "Night"}, 2),
}


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


README_CUSTOMER: dict[str, Any] = {
    "CustomerID": "C001", "Age": 28, "Gender": "Female", "City": "Mumbai",
    "AnnualIncome": 450000.0, "TotalSpent": 120000.0, "MonthlyPurchases": 6,
    "AvgOrderValue": 2000.0, "AppTimeMinutes": 45.0, "DiscountUsage": "Medium",
    "PreferredShoppingTime": "Night",
}


def make_client(**settings: Any) -> TestClient:
    """A client for an app with ``settings``; use it as a context manager to run the lifespan."""
    app = create_app(Settings(bundle=DEFAULT_BUNDLE, **settings))
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with make_client() as test_client:
        yield test_client
