"""One app and client for the runtime tests: the shipped bundle, loaded through the lifespan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from runtime.app import create_app
from runtime.config import Settings
from tests.conftest import DEFAULT_BUNDLE

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
