"""Catalogue overrides: offers change without retraining, and bad files are refused clearly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from runtime.core.bundle import BundleFormatError, BundleMissingError
from runtime.service.reload import reload_model
from runtime.service.served import load_served
from runtime.service.settings import Settings
from tests.conftest import DEFAULT_BUNDLE, README_CUSTOMER, make_client

NEW_REGULAR = {"id": 2, "name": "Everyday Value Shopper", "description": "Steady mid-tier buyers",
               "offers": ["Weekend bundle", "Refer a friend"]}


def write(path: Path, content: Any) -> Path:
    path.write_text(json.dumps(content))
    return path


def test_override_replaces_texts_and_keeps_the_model(tmp_path: Path) -> None:
    override = write(tmp_path / "catalogue.json", {"segments": [NEW_REGULAR]})
    with make_client(catalogue=override) as client:
        answer = client.post("/predict", json=README_CUSTOMER).json()
        segments = client.get("/segments").json()
    assert answer["cluster"] == 2
    assert answer["segment_name"] == "Everyday Value Shopper"
    assert answer["segment_description"] == "Steady mid-tier buyers"
    assert answer["recommended_offers"] == ["Weekend bundle", "Refer a friend"]
    assert answer["characteristics"][0].startswith("Mid-range annual income")
    assert [s["name"] for s in segments["segments"].values()] == [
        "Price-Sensitive Occasional", "High-Value Loyal", "Everyday Value Shopper"]


@pytest.mark.parametrize(("content", "message"), [
    ({"segments": [{**NEW_REGULAR, "id": 7}]}, "segments[0].id 7 is not a segment of the model"),
    ({"segments": [NEW_REGULAR, NEW_REGULAR]}, "segments[1].id 2 is repeated"),
    ({"segments": [{k: v for k, v in NEW_REGULAR.items() if k != "offers"}]},
     "missing required field `offers`"),
    ({"segments": [{**NEW_REGULAR, "offers": []}]}, "`$.segments[0].offers`"),
    ({"segments": [{**NEW_REGULAR, "colour": "red"}]}, "unknown field `colour`"),
    ({"segments": []}, "`$.segments`"),
    ("not an object", "Expected `object`"),
])
def test_bad_overrides_are_refused_naming_the_field(
    tmp_path: Path, content: Any, message: str
) -> None:
    override = write(tmp_path / "catalogue.json", content)
    with pytest.raises(BundleFormatError) as raised:
        load_served(Settings(bundle=DEFAULT_BUNDLE, catalogue=override))
    assert str(override) in str(raised.value)
    assert message in str(raised.value)


def test_reload_applies_a_new_override_and_refuses_a_bad_one(tmp_path: Path) -> None:
    override = write(tmp_path / "catalogue.json", {"segments": [NEW_REGULAR]})
    with make_client(catalogue=override) as client:
        app = client.app
        renamed = {**NEW_REGULAR, "name": "Renamed Regulars"}
        write(override, {"segments": [renamed]})
        assert reload_model(app)  # type: ignore[arg-type]
        assert client.post("/predict", json=README_CUSTOMER).json()["segment_name"] == (
            "Renamed Regulars")
        write(override, {"segments": [{**renamed, "id": 9}]})
        assert not reload_model(app)  # type: ignore[arg-type]
        assert client.post("/predict", json=README_CUSTOMER).json()["segment_name"] == (
            "Renamed Regulars")


def test_missing_override_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleMissingError, match=r"absent\.json: catalogue override not found"):
        load_served(Settings(bundle=DEFAULT_BUNDLE, catalogue=tmp_path / "absent.json"))


def test_client_fixture_is_untouched_by_overrides(client: TestClient) -> None:
    assert client.post("/predict", json=README_CUSTOMER).json()["segment_name"] == (
        "Value-Seeking Regular")
