"""Rollout: ``python -m runtime.rollout`` moves the ``current`` pointer of a bundles directory
only to a bundle that verifies, and a live server follows it under load without a failed request."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.core.bundle import ARRAYS_FILE, BundleRef, load_bundle
from runtime.core.migration import MIGRATION_FILE, Migration, encode_migration
from runtime.rollout import CURRENT, PREVIOUS, main, point
from tests.conftest import DEFAULT_BUNDLE, ROOT
from tests.hardening.load import Load
from tests.ship.service import free_port, get, running
from training.__main__ import main as train_main


@pytest.fixture
def bundles(tmp_path: Path) -> Path:
    """A bundles directory: the shipped 1.0.0, a copy of it as 1.0.1, ``current`` at 1.0.0."""
    directory = tmp_path / "bundles"
    shutil.copytree(DEFAULT_BUNDLE, directory / "1.0.0")
    shutil.copytree(DEFAULT_BUNDLE, directory / "1.0.1")
    point(directory, CURRENT, "1.0.0")
    return directory


def _links(bundles: Path) -> list[str | None]:
    """Where ``current`` and ``previous`` point (relative links), None for a missing one."""
    return [os.readlink(bundles / name) if (bundles / name).is_symlink() else None
            for name in (CURRENT, PREVIOUS)]


def test_promote_moves_current_and_records_previous_and_rollback_returns(
    bundles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["promote", "1.0.1", "--bundles", str(bundles)]) == 0
    assert _links(bundles) == ["1.0.1", "1.0.0"]
    out = capsys.readouterr().out
    assert "verified customer-segmentation 1.0.0" in out  # the copy's manifest says 1.0.0
    assert "no migration verdict" in out and "no server signalled" in out
    assert main(["rollback", "--bundles", str(bundles)]) == 0
    assert _links(bundles) == ["1.0.0", "1.0.1"]


def test_promote_refuses_a_tampered_bundle_and_changes_nothing(
    bundles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arrays = bundles / "1.0.1" / ARRAYS_FILE
    arrays.write_bytes(arrays.read_bytes()[:-8] + b"tampered")
    assert main(["promote", "1.0.1", "--bundles", str(bundles)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 1.0.1: refused, the bundle does not verify") and err.count("\n") == 1
    assert _links(bundles) == ["1.0.0", None]


def _write_verdict(bundles: Path, moved: int, arrays_sha256: str | None = None) -> None:
    """A verdict as ``python -m training compare`` writes it: ``moved`` of 100 customers."""
    old, new = (load_bundle(bundles / version) for version in ("1.0.0", "1.0.1"))
    verdict = Migration(
        old=BundleRef(old.manifest.model.name, old.manifest.model.version, old.checksum),
        new=BundleRef(new.manifest.model.name, new.manifest.model.version,
                      arrays_sha256 or new.checksum),
        export_file="CustomerData.csv", export_sha256="0" * 64, compared_at="2026-12-01T00:00:00+00:00",
        customers=100, moved=moved, moved_share=moved / 100, limit=0.05, passed=moved <= 5,
        movement=[[50 - moved, moved], [0, 50]])
    (bundles / "1.0.1" / MIGRATION_FILE).write_bytes(encode_migration(verdict))


def test_promote_refuses_a_failed_migration_verdict_unless_forced(
    bundles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_verdict(bundles, moved=40)
    assert main(["promote", "1.0.1", "--bundles", str(bundles)]) == 1
    assert "migration verdict: FAILED: 40 of 100 customers (40.00%) change segment" in capsys.readouterr().err
    assert _links(bundles) == ["1.0.0", None]
    assert main(["promote", "1.0.1", "--bundles", str(bundles), "--force"]) == 0
    assert _links(bundles) == ["1.0.1", "1.0.0"]


def test_promote_shows_a_passed_migration_verdict(bundles: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_verdict(bundles, moved=1)
    assert main(["promote", "1.0.1", "--bundles", str(bundles)]) == 0
    assert "migration verdict: passed: 1 of 100 customers (1.00%) change segment" in capsys.readouterr().out


def test_promote_refuses_a_verdict_about_other_arrays(
    bundles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_verdict(bundles, moved=1, arrays_sha256="f" * 64)  # compared before a retrain
    assert main(["promote", "1.0.1", "--bundles", str(bundles)]) == 1
    assert "the verdict is about arrays ffff" in capsys.readouterr().err
    assert _links(bundles) == ["1.0.0", None]


@pytest.mark.parametrize("arguments", [
    ["promote", "9.9.9"], ["promote", "../1.0.0"], ["promote", "current"], ["rollback"],
    ["promote", "1.0.1", "--pid", "999999999"], ["promote", "1.0.1", "--pid-file", "/nonexistent/server.pid"],
])
def test_promote_refuses_bad_arguments_with_one_line(
    bundles: Path, capsys: pytest.CaptureFixture[str], arguments: list[str]
) -> None:
    assert main([*arguments, "--bundles", str(bundles)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert _links(bundles) == ["1.0.0", None]


def test_training_refuses_to_replace_an_existing_version(
    bundles: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    before = (bundles / "1.0.0" / ARRAYS_FILE).read_bytes()
    assert train_main(["--data", str(tmp_path / "any.csv"), "--out", str(bundles / "1.0.0")]) == 2
    err = capsys.readouterr().err
    assert "a bundle exists there already" in err and "--replace" in err and err.count("\n") == 1
    assert train_main(["--data", str(tmp_path / "any.csv"), "--out", str(bundles / CURRENT)]) == 2
    assert "is a pointer" in capsys.readouterr().err
    assert (bundles / "1.0.0" / ARRAYS_FILE).read_bytes() == before


def _wait_for_version(base: str, version: str) -> None:
    deadline = time.monotonic() + 30
    while json.loads(get(f"{base}/health")[1]).get("model_version") != version:
        assert time.monotonic() < deadline, f"{base} never served {version}"
        time.sleep(0.1)


def _rollout(*arguments: str) -> str:
    done = subprocess.run([sys.executable, "-m", "runtime.rollout", *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def trained(customer_data: Path, tmp_path: Path) -> Iterator[Path]:
    """A bundles directory holding the shipped 1.0.0 (current) and 1.0.1 freshly trained."""
    directory = tmp_path / "bundles"
    shutil.copytree(DEFAULT_BUNDLE, directory / "1.0.0")
    point(directory, CURRENT, "1.0.0")
    done = subprocess.run([sys.executable, "-m", "training", "--data", str(customer_data),
                           "--out", str(directory / "1.0.1")], cwd=ROOT, capture_output=True,
                          text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    yield directory


@pytest.mark.slow
@pytest.mark.parametrize(("workers", "signal"), [(1, True), (2, False)],
                         ids=["1-worker-sighup", "2-workers-watch"])
def test_train_promote_under_load_and_roll_back_without_a_failed_request(
    trained: Path, tmp_path: Path, workers: int, signal: bool
) -> None:
    """One worker is signalled (SIGHUP reloads at once); several reload in place as the link
    moves (a signal would have uvicorn replace them instead)."""
    port, pid_file = free_port(), tmp_path / "server.pid"
    command = [sys.executable, "-m", "runtime", "--port", str(port), "--workers", str(workers),
               "--bundle", str(trained / CURRENT), "--pid-file", str(pid_file)]
    target = ["--pid-file", str(pid_file)] if signal else []
    with (running(command, port, cwd=ROOT, log=tmp_path / "server.log") as base,
          Load(base, threads=4, seconds=120.0, max_requests=1_000_000) as load):
        assert pid_file.read_text().strip().isdigit()
        time.sleep(0.5)
        out = _rollout("promote", "1.0.1", "--bundles", str(trained), *target)
        assert ("sent SIGHUP to process" in out) == signal, out
        _wait_for_version(base, "1.0.1")
        time.sleep(0.5)
        _rollout("rollback", "--bundles", str(trained), *target)
        _wait_for_version(base, "1.0.0")
        time.sleep(0.5)
    print(f"\nrollout under load ({workers} workers): {load.requests} requests, "
          f"{len(load.failures)} failed; answers by version {dict(load.versions)}")
    assert load.failures == [], load.failures[:5]
    assert set(load.versions) == {"1.0.0", "1.0.1"} and load.requests > 50, load.versions
    assert not pid_file.exists()  # removed as the server stopped


@pytest.mark.slow
def test_server_refuses_a_pid_file_it_cannot_write(tmp_path: Path) -> None:
    pid_file = tmp_path / "missing" / "server.pid"
    done = subprocess.run([sys.executable, "-m", "runtime", "--pid-file", str(pid_file)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr == f"error: --pid-file {pid_file}: No such file or directory\n"
