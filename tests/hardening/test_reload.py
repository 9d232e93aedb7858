"""Safe reload: SIGHUP swaps in a verified bundle; a bad one is refused and the old model serves on."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from runtime.core.bundle import ARRAYS_FILE, MANIFEST_FILE, load_bundle, write_bundle
from tests.conftest import DEFAULT_BUNDLE
from tests.hardening.conftest import Serve
from tests.hardening.live import LiveServer, customer, metric, wait_for
from tests.hardening.load import Load

RELOADS = "segmentation_reloads_total"
SIGHUP_ONLY = {"SEGMENTATION_WATCH_SECONDS": "0"}  # the bundle is not watched: only signals reload


def versioned(directory: Path, version: str) -> Path:
    """The default bundle's arrays under another model version, written by ``write_bundle``."""
    bundle = load_bundle(DEFAULT_BUNDLE)
    manifest = msgspec.structs.replace(
        bundle.manifest, model=msgspec.structs.replace(bundle.manifest.model, version=version))
    write_bundle(directory, manifest, mean=bundle.mean, scale=bundle.scale, centroids=bundle.centroids)
    return directory


def _edit_manifest(directory: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    path = directory / MANIFEST_FILE
    manifest = json.loads(path.read_bytes())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def corrupt(directory: Path) -> Path:
    """One byte of the arrays changed: the checksum no longer matches."""
    shutil.copytree(DEFAULT_BUNDLE, directory)
    data = bytearray((directory / ARRAYS_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (directory / ARRAYS_FILE).write_bytes(bytes(data))
    return directory


def truncated(directory: Path) -> Path:
    """The arrays cut in half, the manifest's checksum updated to match: the cut itself is found."""
    shutil.copytree(DEFAULT_BUNDLE, directory)
    data = (directory / ARRAYS_FILE).read_bytes()[: -200]
    (directory / ARRAYS_FILE).write_bytes(data)
    _edit_manifest(directory, lambda m: m["arrays"].update(sha256=hashlib.sha256(data).hexdigest()))
    return directory


def manifest_cut(directory: Path) -> Path:
    """A manifest cut short, as by a copy interrupted half-way."""
    shutil.copytree(DEFAULT_BUNDLE, directory)
    text = (directory / MANIFEST_FILE).read_bytes()
    (directory / MANIFEST_FILE).write_bytes(text[: len(text) // 2])
    return directory


def future_format(directory: Path) -> Path:
    """A bundle of a format this runtime does not know."""
    shutil.copytree(DEFAULT_BUNDLE, directory)
    _edit_manifest(directory, lambda m: m.update(format_version=99))
    return directory


BAD_BUNDLES = {
    "corrupt": (corrupt, "SHA-256"),
    "truncated": (truncated, "truncated"),
    "manifest-cut": (manifest_cut, "not a valid JSON manifest"),
    "future-format": (future_format, "format_version 99 is not supported"),
}


def point(link: Path, target: Path) -> None:
    """Make ``link`` name ``target`` in one atomic rename: a reader sees the old or the new."""
    staging = link.with_name(f".{link.name}.{time.monotonic_ns()}")
    staging.symlink_to(target)
    os.replace(staging, link)


def version_of(server: LiveServer) -> str:
    answer = server.post("/predict", customer())
    assert answer.status_code == 200, answer.text
    return answer.headers["x-model-version"]


def reloads(server: LiveServer) -> tuple[float, float]:
    samples = server.metrics()
    return metric(samples, RELOADS, result="success"), metric(samples, RELOADS, result="failure")


def test_sighup_reloads_the_bundle_from_its_path(serve: Serve, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    live = serve(bundle=bundle, env=SIGHUP_ONLY)
    assert version_of(live) == "1.0.0"
    versioned(bundle, "1.1.0-retrained")  # write_bundle replaces the directory atomically
    assert version_of(live) == "1.0.0"  # nothing changes before the signal
    live.signal(signal.SIGHUP)
    wait_for(lambda: version_of(live) == "1.1.0-retrained", timeout=5.0, what="the new version")
    batch = live.post("/predict/batch", [customer(1), customer(2)]).json()
    assert batch["model_version"] == "1.1.0-retrained"
    assert {p["model_version"] for p in batch["predictions"]} == {"1.1.0-retrained"}
    assert reloads(live) == (1, 0)
    info = {s.labels["version"]: s.value for s in live.metrics() if s.name == "segmentation_model_info"}
    assert info == {"1.0.0": 0, "1.1.0-retrained": 1}
    reloaded = [line for line in live.log_lines() if line["message"] == "model reloaded"]
    assert [line["model_version"] for line in reloaded] == ["1.1.0-retrained"]


@pytest.mark.parametrize("kind", sorted(BAD_BUNDLES))
def test_a_bad_bundle_is_refused_and_the_old_model_serves_on(
    serve: Serve, tmp_path: Path, kind: str
) -> None:
    make, reason = BAD_BUNDLES[kind]
    link = tmp_path / "current"
    point(link, versioned(tmp_path / "good", "1.0.0-good"))
    live = serve(bundle=link, env=SIGHUP_ONLY)
    point(link, make(tmp_path / kind))
    live.signal(signal.SIGHUP)
    wait_for(lambda: reloads(live) == (0, 1), timeout=5.0, what="a failed reload")
    refused = [line for line in live.log_lines() if line["message"].startswith("reload refused")]
    assert len(refused) == 1
    assert refused[0]["level"] == "error"
    assert reason in refused[0]["reason"], refused[0]
    assert version_of(live) == "1.0.0-good"
    assert live.get("/health/ready").status_code == 200


def test_a_vanished_bundle_is_refused(serve: Serve, tmp_path: Path) -> None:
    link = tmp_path / "current"
    point(link, versioned(tmp_path / "good", "1.0.0-good"))
    live = serve(bundle=link, env=SIGHUP_ONLY)
    point(link, tmp_path / "nowhere")
    live.signal(signal.SIGHUP)
    wait_for(lambda: reloads(live) == (0, 1), timeout=5.0, what="a failed reload")
    assert version_of(live) == "1.0.0-good"


def test_reloads_under_load_drop_nothing_and_never_mix_models(
    serve: Serve, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    good = [versioned(tmp_path / "a", "2.0.0-a"), versioned(tmp_path / "b", "2.0.0-b")]
    bad = [make(tmp_path / kind) for kind, (make, _) in sorted(BAD_BUNDLES.items())]
    link = tmp_path / "current"
    point(link, good[0])
    live = serve(bundle=link, env=SIGHUP_ONLY)
    serving, expected = "2.0.0-a", [0, 0]
    signals = 0
    with Load(live.url, threads=4, seconds=20.0, max_requests=200_000) as load:
        for step in range(24):
            is_good = step % 2 == 0
            target = good[(step // 2 + 1) % 2] if is_good else bad[(step // 2) % len(bad)]
            point(link, target)
            live.signal(signal.SIGHUP)
            signals += 1
            expected[0 if is_good else 1] += 1
            if is_good:
                serving = "2.0.0-b" if serving == "2.0.0-a" else "2.0.0-a"
            wait_for(lambda: reloads(live) == tuple(expected), timeout=5.0,
                     what=f"reload {signals} to be counted")
            assert version_of(live) == serving
            time.sleep(0.25)  # let the load run on this model for a while
        # A burst: swaps and signals faster than reloads finish; the last bundle wins.
        for step in range(6):
            point(link, good[step % 2])
            live.signal(signal.SIGHUP)
            signals += 1
            time.sleep(0.01)
        wait_for(lambda: version_of(live) == "2.0.0-b", timeout=10.0, what="the last bundle served")
        time.sleep(0.5)
        assert version_of(live) == "2.0.0-b"
    for name, value in (("sighups", signals), ("requests", load.requests),
                        ("failed", len(load.failures))):
        record_property(name, value)
    print(f"\nreloads under load: {signals} SIGHUPs ({reloads(live)[0]:.0f} succeeded, "
          f"{reloads(live)[1]:.0f} refused), {load.requests} requests, "
          f"{len(load.failures)} failed; answers by version {dict(load.versions)}")
    assert signals >= 20
    assert load.failures == []
    assert load.requests > 500
    assert set(load.versions) == {"2.0.0-a", "2.0.0-b"}


def _exited(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_sighup_to_the_master_reloads_every_worker(serve: Serve, tmp_path: Path) -> None:
    link = tmp_path / "current"
    point(link, versioned(tmp_path / "a", "3.0.0-a"))
    live = serve(bundle=link, workers=2, env=SIGHUP_ONLY)
    before = live.worker_pids()
    point(link, versioned(tmp_path / "b", "3.0.0-b"))
    live.signal(signal.SIGHUP)
    # uvicorn's supervisor starts a new worker for each, and retires the old one once it is ready;
    # a retiring worker closes the connections it had accepted (hence fresh ones, and patience).
    def replaced() -> bool:
        try:
            after = live.worker_pids()
        except httpx.HTTPError:
            return False
        return len(after) == 2 and not after & before and all(_exited(int(pid)) for pid in before)

    wait_for(replaced, timeout=30.0, what="two new workers, the old ones gone")

    def versions() -> set[str]:
        found = set()
        for index in range(40):  # fresh connections, so both workers answer some
            answer = httpx.post(f"{live.url}/predict", json=customer(index), timeout=10.0)
            found.add(answer.headers["x-model-version"])
        return found

    assert versions() == {"3.0.0-b"}
    serving = [s.labels for s in live.metrics() if s.name == "segmentation_model_info" and s.value == 1]
    assert len(serving) == 2
    assert {labels["version"] for labels in serving} == {"3.0.0-b"}


def test_every_worker_reloads_in_place_under_load_and_drops_nothing(serve: Serve, tmp_path: Path) -> None:
    good = [versioned(tmp_path / "a", "4.0.0-a"), versioned(tmp_path / "b", "4.0.0-b")]
    link = tmp_path / "current"
    point(link, good[0])
    live = serve(bundle=link, workers=2, env={"SEGMENTATION_WATCH_SECONDS": "0.2"})
    workers = live.worker_pids()
    with Load(live.url, threads=4, seconds=60.0, max_requests=100_000) as load:
        # Each change is seen by both workers: reloads counted (succeeded, refused) over both.
        changes = [(good[1], "4.0.0-b", (2, 0)), (corrupt(tmp_path / "bad"), "4.0.0-b", (2, 2)),
                   (good[0], "4.0.0-a", (4, 2))]
        for step, (target, version, counted) in enumerate(changes):
            point(link, target)  # a rollout: the link moves, no signal is sent
            wait_for(lambda want=counted: reloads(live) == want, timeout=15.0,
                     what=f"change {step + 1} seen by both workers")
            assert {version_of(live) for _ in range(10)} == {version}
            time.sleep(0.5)
    assert live.worker_pids() == workers  # the same processes, reloaded in place
    print(f"\nworkers reloaded under load: {load.requests} requests, {len(load.failures)} failed; "
          f"answers by version {dict(load.versions)}")
    assert load.failures == []
    assert set(load.versions) == {"4.0.0-a", "4.0.0-b"}
