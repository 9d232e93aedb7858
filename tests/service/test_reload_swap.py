"""A reload swaps one thing: a request codes, predicts, answers and counts drift with one
bundle's model, even when a reload to a bundle with other categories lands meanwhile."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from runtime.service.app import create_app
from runtime.service.reload import reload_model
from runtime.service.settings import Settings
from tests.conftest import DEFAULT_BUNDLE, SAMPLES

CITIES_B = ["Agra", "Jaipur", "Mumbai", "Pune", "Surat"]


def _other_cities(directory: Path) -> Path:
    """The default bundle with another list of cities (a feature of weight 0) and version."""
    shutil.copytree(DEFAULT_BUNDLE, directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["model"]["version"] = "1.0.0-b"
    city = next(feature for feature in manifest["features"] if feature["field"] == "City")
    city["categories"] = CITIES_B
    reference = next(drift for drift in manifest["drift"] if drift["field"] == "City")
    reference["shares"] = [1 / (len(CITIES_B) + 1)] * (len(CITIES_B) + 1)
    for segment in manifest["segments"]:
        for key in [k for k in segment["profile"] if k.startswith("City=")]:
            del segment["profile"][key]
        segment["profile"].update({f"City={c}": 1 / len(CITIES_B) for c in CITIES_B})
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def test_drift_counts_each_request_with_the_bundle_that_answered_it(tmp_path: Path) -> None:
    link = tmp_path / "current"
    link.symlink_to(DEFAULT_BUNDLE)
    other = _other_cities(tmp_path / "b")
    app = create_app(Settings(bundle=link, max_concurrency=1000))
    sample = SAMPLES["value-seeking"][0]
    customers = [{**sample, "CustomerID": f"C{i}", "City": ["Agra", "Mumbai", "Delhi"][i % 3]}
                 for i in range(600)]

    async def main() -> tuple[list[httpx.Response], dict[str, Any]]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                def swap() -> None:
                    link.unlink()
                    link.symlink_to(other)
                    assert reload_model(app)

                reloading = threading.Timer(0.01, swap)
                reloading.start()
                answers = await asyncio.gather(*(client.post("/predict", json=c) for c in customers))
                reloading.join()
                drift = (await client.get("/drift")).json()
        return list(answers), drift

    answers, drift = asyncio.run(main())
    assert all(answer.status_code == 200 for answer in answers)
    versions = Counter(answer.headers["x-model-version"] for answer in answers)
    assert set(versions) == {"1.0.0", "1.0.0-b"}, versions  # the reload landed mid-way
    # The drift window belongs to the model now served: every field counts exactly the
    # customers that model answered, and each city went to the bin of that model's list.
    counts = {field["field"]: field["counts"] for field in drift["fields"]}
    assert {field: sum(c) for field, c in counts.items()} == dict.fromkeys(counts, versions["1.0.0-b"])
    served_b = [c["City"] for c, a in zip(customers, answers, strict=True)
                if a.headers["x-model-version"] == "1.0.0-b"]
    expected = [served_b.count(city) for city in CITIES_B] + [served_b.count("Delhi")]
    assert counts["City"] == expected
