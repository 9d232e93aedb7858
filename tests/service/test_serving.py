"""Serving as a process: start-up, serve-time purity, the OpenAPI document and the docs pages."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import ROOT

TRAINING_ONLY = ("sklearn", "pandas", "scipy", "matplotlib", "training", "joblib",
                 # requirements-scale.txt: Arrow files and the Dask engines, never served
                 "pyarrow", "dask", "distributed", "dask_ml", "fsspec")

SERVE_AND_LIST_MODULES = textwrap.dedent("""
    import json, sys
    from starlette.testclient import TestClient
    from runtime.service.app import create_app
    from runtime.core.customer import EXAMPLE_CUSTOMER
    with TestClient(create_app()) as client:
        for path in ("/", "/health", "/segments", "/openapi.json", "/docs", "/metrics", "/drift"):
            assert client.get(path).status_code == 200, path
        assert client.post("/predict?explain=true", json=EXAMPLE_CUSTOMER).status_code == 200
        assert client.post("/predict/batch", json=[EXAMPLE_CUSTOMER] * 3).status_code == 200
    print(json.dumps(sorted(sys.modules)))
""")


def run_python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=env, check=False)


def test_serving_never_loads_training_packages() -> None:
    result = run_python("-c", SERVE_AND_LIST_MODULES)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    offenders = [m for m in loaded if m.split(".")[0] in TRAINING_ONLY]
    assert offenders == []
    assert "numpy" in loaded and "msgspec" in loaded


def test_runtime_requirements_are_pinned_and_serving_only() -> None:
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements-runtime.txt").read_text()
             .splitlines()]
    requirements = [line for line in lines if line]
    assert requirements, "requirements-runtime.txt is empty"
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        assert version, f"{requirement} is not pinned with =="
        assert name.lower().split("[")[0] not in (
            "scikit-learn", "pandas", "scipy", "matplotlib", "dask", "distributed", "dask-ml",
            "pyarrow", "fsspec")


def test_help_lists_flags_and_environment() -> None:
    result = run_python("-m", "runtime", "--help")
    assert result.returncode == 0
    for text in ("--host", "--port", "--bundle", "--workers", "SEGMENTATION_BUNDLE",
                 "SEGMENTATION_MAX_BATCH"):
        assert text in result.stdout


def test_bad_bundle_stops_start_up_with_the_loaders_message(tmp_path: object) -> None:
    result = run_python("-m", "runtime", "--bundle", str(tmp_path), "--port", "1")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert "manifest not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_environment_value_is_refused_clearly() -> None:
    env = {"PATH": "/usr/bin:/bin", "SEGMENTATION_MAX_BATCH": "many"}
    result = run_python("-m", "runtime", "--port", "1", env=env)
    assert result.returncode == 1
    assert "SEGMENTATION_MAX_BATCH" in result.stderr
    assert "Traceback" not in result.stderr


def test_openapi_document_comes_from_the_structs(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    schemas = document["components"]["schemas"]
    assert {"Customer", "Prediction", "BatchPrediction", "ErrorBody", "Explanation"} <= set(schemas)
    assert set(schemas["Customer"]["required"]) == {
        "CustomerID", "Age", "Gender", "City", "AnnualIncome", "TotalSpent", "MonthlyPurchases",
        "AvgOrderValue", "AppTimeMinutes", "DiscountUsage", "PreferredShoppingTime"}
    assert schemas["Customer"]["properties"]["Age"]["maximum"] == 120
    predict = document["paths"]["/predict"]["post"]
    assert predict["requestBody"]["content"]["application/json"]["example"]["CustomerID"] == "C001"
    example = predict["responses"]["200"]["content"]["application/json"]["example"]
    assert example["segment_name"] == "Value-Seeking Regular"
    assert {"400", "413", "415", "422"} <= set(predict["responses"])
    assert [p["name"] for p in predict["parameters"]] == ["explain"]


def test_docs_pages_and_assets_are_served_locally(client: TestClient) -> None:
    for page, asset in (("/docs", "/docs/assets/swagger-ui-dist/swagger-ui-bundle.js"),
                        ("/redoc", "/docs/assets/redoc/bundles/redoc.standalone.js")):
        html = client.get(page)
        assert html.status_code == 200
        assert "text/html" in html.headers["content-type"]
        assert asset in html.text
        assert "http://" not in html.text and "https://" not in html.text
        assert "default-src 'self'" in html.headers["content-security-policy"]
        assert client.get(asset).status_code == 200
    assert client.get("/docs/swagger-init.js").text.count("/openapi.json") == 1


def test_unknown_log_level_is_refused_clearly() -> None:
    env = {"PATH": "/usr/bin:/bin", "SEGMENTATION_LOG_LEVEL": "verbose"}
    result = run_python("-m", "runtime", "--port", "1", env=env)
    assert result.returncode == 1
    assert ("SEGMENTATION_LOG_LEVEL='verbose': Invalid enum value 'verbose', "
            "expected one of debug, error, info, warning") in result.stderr


def test_a_bad_catalogue_override_at_start_up_is_one_line_and_exit_1_before_binding(
    tmp_path: Path,
) -> None:
    override = tmp_path / "catalogue.json"
    override.write_text('{"segments": [{"id": 7, "name": "Nobody", "description": "-", "offers": ["-"]}]}')
    with socket.socket() as taken:  # were the port bound, the service would fail differently
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        env = {"PATH": "/usr/bin:/bin", "SEGMENTATION_CATALOGUE": str(override)}
        result = run_python("-m", "runtime", "--port", str(port), env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: {override}: segments[0].id 7 is not a segment of the model (ids [0, 1, 2])"]


REFUSED_SETTINGS = {
    "port-too-high": (["--port", "99999"], {}, "--port '99999': Expected `int` <= 65535"),
    "port-negative": (["--port", "-1"], {}, "--port '-1': Expected `int` >= 1"),
    "no-workers": (["--workers", "0"], {}, "--workers '0': Expected `int` >= 1"),
    "no-concurrency": ([], {"SEGMENTATION_MAX_CONCURRENCY": "0"},
                       "SEGMENTATION_MAX_CONCURRENCY='0': Expected `int` >= 1"),
    "grace-nan": ([], {"SEGMENTATION_GRACE_SECONDS": "nan"},
                  "SEGMENTATION_GRACE_SECONDS='nan': Expected `float` >= 0.0"),
    "grace-inf": ([], {"SEGMENTATION_GRACE_SECONDS": "inf"},
                  "SEGMENTATION_GRACE_SECONDS='inf': Expected `float` <= 3600.0"),
    "not-a-bool": ([], {"SEGMENTATION_ACCESS_LOG": "maybe"},
                   "SEGMENTATION_ACCESS_LOG='maybe': Expected `bool`, got `str`"),
    "unknown-parser": (["--http", "h2"], {},
                       "--http 'h2': Invalid enum value 'h2', expected one of h11, httptools"),
    "parser-case": ([], {"SEGMENTATION_HTTP": "H11"},
                    "SEGMENTATION_HTTP='H11': Invalid enum value 'H11', expected one of h11, httptools"),
    "header-limit-too-small": (["--max-header-bytes", "100"], {},
                               "--max-header-bytes '100': Expected `int` >= 1024"),
    "header-limit-too-large": ([], {"SEGMENTATION_MAX_HEADER_BYTES": "2000000"},
                               "SEGMENTATION_MAX_HEADER_BYTES='2000000': Expected `int` <= 1048576"),
    "header-limit-not-a-number": ([], {"SEGMENTATION_MAX_HEADER_BYTES": "64k"},
                                  "SEGMENTATION_MAX_HEADER_BYTES='64k': Expected `int | null`, got `str`"),
}


@pytest.mark.parametrize(("arguments", "env", "message"), REFUSED_SETTINGS.values(), ids=REFUSED_SETTINGS)
def test_every_flag_and_setting_is_checked_with_one_line_naming_it(
    arguments: list[str], env: dict[str, str], message: str
) -> None:
    result = run_python("-m", "runtime", *arguments, env={"PATH": "/usr/bin:/bin", **env})
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: {message}"]


FROZEN_AFTER_START = """
import gc, json, sys
from starlette.testclient import TestClient
from runtime.service.app import create_app
from runtime.service.settings import Settings
with TestClient(create_app(Settings(gc_freeze=sys.argv[1] == "true", watch_seconds=0))):
    print(json.dumps(gc.get_freeze_count()))
"""


@pytest.mark.parametrize("freeze", [True, False])
def test_start_up_objects_leave_the_collectors_sight_unless_told_not_to(freeze: bool) -> None:
    result = run_python("-c", FROZEN_AFTER_START, str(freeze).lower())
    assert result.returncode == 0, result.stderr
    frozen = json.loads(result.stdout.strip().splitlines()[-1])
    assert (frozen > 10_000) if freeze else (frozen == 0)
