"""Regressions: inputs that once broke the service, kept so they cannot break it again.

Found while hardening (the schemathesis run itself found no failing case):

- a client that leaves mid-upload was counted as a 500, with two error tracebacks logged;
- a bundle whose arrays file holds a non-array member under an array's name (valid
  checksum) made the reload raise past its handler: no failure counted, no log line;
- the supervisor of several workers kept the listening socket open after the drain,
  so new connections hung instead of being refused (see test_shutdown.py);
- a grace period under one second became "wait for ever" (see test_shutdown.py).

And hostile bodies checked against the live stack, every one a JSON 4xx naming the problem.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import signal
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from runtime.core.bundle import ARRAYS_FILE, MANIFEST_FILE, load_bundle
from tests.conftest import DEFAULT_BUNDLE
from tests.hardening.conftest import Serve
from tests.hardening.live import LiveServer, RawUpload, customer, metric, wait_for
from tests.hardening.test_reload import point, reloads, version_of, versioned


def test_a_client_leaving_mid_upload_is_not_a_server_error(serve: Serve) -> None:
    live = serve()
    body = json.dumps([customer(i) for i in range(50)]).encode()
    for _ in range(3):
        upload = RawUpload(live.port, "/predict/batch", body)
        upload.send(len(body) // 3)
        time.sleep(0.1)
        upload.close()
    wait_for(lambda: metric(live.metrics(), "segmentation_requests_total", status="499") == 3,
             timeout=5.0, what="three requests recorded as closed by the client")
    samples = live.metrics()
    assert metric(samples, "segmentation_requests_total", status="500") == 0
    errors = [line for line in live.log_lines() if line["level"] == "error"]
    assert errors == []
    assert [line["status"] for line in live.access_lines() if line["path"] == "/predict/batch"] == [499] * 3
    assert live.post("/predict", customer()).status_code == 200


def _raw_member_bundle(directory: Path) -> Path:
    """Arrays whose 'mean' is a raw zip member, not an .npy array; the checksum matches."""
    shutil.copytree(DEFAULT_BUNDLE, directory)
    bundle = load_bundle(DEFAULT_BUNDLE)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mean", bundle.mean.tobytes())
        for name in ("scale", "centroids"):
            array = io.BytesIO()
            np.save(array, getattr(bundle, name))
            archive.writestr(f"{name}.npy", array.getvalue())
    data = buffer.getvalue()
    (directory / ARRAYS_FILE).write_bytes(data)
    manifest = json.loads((directory / MANIFEST_FILE).read_bytes())
    manifest["arrays"]["sha256"] = hashlib.sha256(data).hexdigest()
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest))
    return directory


def test_any_failure_while_reloading_is_a_refused_reload(serve: Serve, tmp_path: Path) -> None:
    link = tmp_path / "current"
    point(link, versioned(tmp_path / "good", "1.0.0-good"))
    live = serve(bundle=link, env={"SEGMENTATION_WATCH_SECONDS": "0"})
    point(link, _raw_member_bundle(tmp_path / "raw-member"))
    live.signal(signal.SIGHUP)
    wait_for(lambda: reloads(live) == (0, 1), timeout=5.0, what="a failed reload counted")
    refused = [line for line in live.log_lines() if line["message"].startswith("reload refused")]
    assert len(refused) == 1
    assert refused[0]["reason"]
    assert version_of(live) == "1.0.0-good"
    # And the service still reloads a good bundle afterwards.
    point(link, versioned(tmp_path / "next", "1.0.1-next"))
    live.signal(signal.SIGHUP)
    wait_for(lambda: version_of(live) == "1.0.1-next", timeout=5.0, what="the next good bundle")



def _with_income(raw: str) -> bytes:
    """A customer whose AnnualIncome is the literal JSON text ``raw``."""
    return json.dumps(customer(AnnualIncome="@")).replace('"@"', raw).encode()


HOSTILE = {
    "lone surrogate in an id": (b'{"CustomerID": "\\ud800"}', 400),
    "number beyond float": (_with_income("1e400"), 422),
    "NaN": (_with_income("NaN"), 400),
    "deep nesting": (b"[" * 100_000, 422),
    "not UTF-8": (b'{"CustomerID": "\xff\xfe"}', 400),
    "null": (b"null", 422),
    "empty": (b"", 400),
    "array of numbers": (b"[1, 2, 3]", 422),
    "negative age": (json.dumps(customer(Age=-1)).encode(), 422),
    "boolean income": (json.dumps(customer(AnnualIncome=True)).encode(), 422),
}


@pytest.fixture(scope="module")
def hostile_server(server: LiveServer) -> LiveServer:
    return server


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_hostile_bodies_answer_json_4xx(hostile_server: LiveServer, name: str, path: str) -> None:
    body, status = HOSTILE[name]
    if path == "/predict/batch" and body[:1] == b"{":
        body = b"[" + body + b"]"
    with hostile_server.client() as client:
        answer = client.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= answer.status_code < 500, answer.text
    if path == "/predict":
        assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()
    assert error["error"] and error["message"]
    assert "Traceback" not in answer.text
