"""A bundle that loads, serves: manifest edits that used to load and then fail every request.

Each test edits a copy of the shipped manifest as an attacker (or a careless
hand) would, and checks the one-line refusal naming the file and the field.
Files that are not UTF-8 or are nested too deeply are refused the same way.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest

from runtime.core.bundle import (
    MANIFEST_FILE,
    BundleFormatError,
    BundleMissingError,
    load_bundle,
    write_bundle,
)
from runtime.core.catalogue import load_override
from runtime.core.model import BundleCheckError, Model
from tests.conftest import DEFAULT_BUNDLE
from tests.core.test_bundle import edit_manifest, refusal

DEEP = 5_000



def feature(manifest: dict[str, Any], field: str) -> dict[str, Any]:
    return next(spec for spec in manifest["features"] if spec["field"] == field)


def drift(manifest: dict[str, Any], field: str) -> dict[str, Any]:
    return next(reference for reference in manifest["drift"] if reference["field"] == field)


# Features against the Customer schema


def test_a_feature_field_that_is_not_a_customer_field_is_refused(copy: Path) -> None:
    edit_manifest(copy, lambda m: feature(m, "Age").update(field="Shoe size"))
    message = refusal(copy, BundleFormatError)
    assert str(copy / MANIFEST_FILE) in message
    assert "features[6].field is 'Shoe size', expected one of Age, Gender" in message


def test_the_identifier_is_not_a_feature(copy: Path) -> None:
    edit_manifest(copy, lambda m: feature(m, "Age").update(field="CustomerID"))
    assert "features[6].field is 'CustomerID'" in refusal(copy, BundleFormatError)


def test_a_text_field_declared_numeric_is_refused(copy: Path) -> None:
    edit_manifest(copy, lambda m: feature(m, "Gender").update(kind="numeric"))
    message = refusal(copy, BundleFormatError)
    assert "features[7].kind is 'numeric', but Gender holds texts" in message
    assert "expected ordinal, binary or one-hot" in message


def test_a_number_field_declared_categorical_is_refused(copy: Path) -> None:
    edit_manifest(copy, lambda m: feature(m, "Age").update(kind="ordinal", categories=["1", "2"]))
    assert "features[6].kind is 'ordinal', but Age holds numbers" in refusal(copy, BundleFormatError)


def test_a_field_used_twice_is_refused(copy: Path) -> None:
    edit_manifest(copy, lambda m: feature(m, "TotalSpent").update(field="AnnualIncome"))
    assert "features[1] repeats the field 'AnnualIncome'" in refusal(copy, BundleFormatError)


# Names that go into headers and file names


@pytest.mark.parametrize("version", ["1.0.0\r\nX-Injected: yes", "1.0.0\n", "../1.0.0", "", "v" * 65])
def test_an_unsafe_model_version_is_refused(copy: Path, version: str) -> None:
    edit_manifest(copy, lambda m: m["model"].update(version=version))
    message = refusal(copy, BundleFormatError)
    assert "matching regex" in message
    assert "$.model.version" in message


def test_training_cannot_write_an_unsafe_version(tmp_path: Path) -> None:
    bundle = load_bundle(DEFAULT_BUNDLE)
    unsafe = msgspec.structs.replace(
        bundle.manifest, model=msgspec.structs.replace(bundle.manifest.model, version="1\r\n2"))
    target = tmp_path / "out"
    with pytest.raises(BundleFormatError, match=r"out/manifest.json \(not written\).*model.version"):
        write_bundle(target, unsafe, mean=bundle.mean, scale=bundle.scale, centroids=bundle.centroids)
    assert list(tmp_path.iterdir()) == []


# Drift references against their features


def test_a_short_shares_list_is_refused(copy: Path) -> None:
    edit_manifest(copy, lambda m: drift(m, "AnnualIncome")["shares"].pop())
    message = refusal(copy, BundleFormatError)
    assert "drift[0] (AnnualIncome): has 9 shares, expected 10 (len(edges) + 1)" in message


def test_categorical_shares_need_one_per_category_and_one_for_unknowns(copy: Path) -> None:
    edit_manifest(copy, lambda m: drift(m, "City")["shares"].append(0.0))
    message = refusal(copy, BundleFormatError)
    assert "drift[8] (City): has 9 shares, expected 8 (one per category" in message


def test_a_reference_for_no_feature_is_refused(copy: Path) -> None:
    edit_manifest(copy, lambda m: drift(m, "Age").update(field="Height"))
    assert "drift[6] (Height): field is not one of the features" in refusal(copy, BundleFormatError)


# The model's self-check


def test_categories_that_normalize_alike_fail_the_self_check(copy: Path) -> None:
    edit_manifest(copy, lambda m: feature(m, "City").update(
        categories=[*feature(m, "City")["categories"][:-1], feature(m, "City")["categories"][0].upper()]))
    with pytest.raises(BundleCheckError, match=r"features\[8\] \(City\): '.*' does not encode"):
        Model(load_bundle(copy)).check()


# Files that are not UTF-8 or are nested too deeply


def test_a_manifest_that_is_not_utf8_is_refused_in_one_line(copy: Path) -> None:
    path = copy / MANIFEST_FILE
    path.write_bytes(path.read_bytes().replace(b'"1.0.0"', b'"1.0.\xff"', 1))
    message = refusal(copy, BundleFormatError)
    assert f"{path}: not UTF-8" in message
    assert "\n" not in message


def test_a_deeply_nested_manifest_is_refused_in_one_line(copy: Path) -> None:
    path = copy / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(manifest)[:-1] + ', "x": ' + "[" * DEEP + "]" * DEEP + "}")
    assert f"{path}: not a valid JSON manifest (nested too deeply)" in refusal(copy, BundleFormatError)


@pytest.mark.parametrize(("content", "reason"), [
    (b'{"segments": [{"id": 0, "name": "\xff"}]}', "not UTF-8"),
    (b'{"segments": [' + b"[" * DEEP + b"]" * DEEP + b"]}", "Expected `object`, got `array`"),
])
def test_a_bad_catalogue_override_is_refused_naming_the_file(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "catalogue.json"
    path.write_bytes(content)
    with pytest.raises(BundleFormatError) as error:
        load_override(path)
    assert str(error.value).startswith(f"{path}: invalid catalogue override: {reason}")
    assert "\n" not in str(error.value)


def test_a_fifo_catalogue_override_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    os.mkfifo(path)
    with pytest.raises(BundleMissingError, match="catalogue override is a FIFO"):
        load_override(path)


def test_a_catalogue_override_behind_symlinks_is_read(tmp_path: Path) -> None:
    """As Kubernetes mounts a ConfigMap: the file is a symlink into a hidden, versioned folder."""
    data = tmp_path / "..2026_12_01"
    data.mkdir()
    (data / "catalogue.json").write_text(
        '{"segments": [{"id": 0, "name": "A", "description": "B", "offers": ["C"]}]}')
    (tmp_path / "..data").symlink_to(data.name)
    (tmp_path / "catalogue.json").symlink_to("..data/catalogue.json")
    assert load_override(tmp_path / "catalogue.json").segments[0].name == "A"
