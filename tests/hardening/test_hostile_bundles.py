"""Hostile bundles against a live service: each reload is refused at once, the old model serves on,
and later reloads and the shutdown are never held up.

The served path is a ``current`` symlink flipped to a bundle whose arrays file
is a FIFO or ``/dev/zero``, or whose manifest used to load and then fail every
request (a field the customer lacks, ``Gender`` as a number, ``\\r\\n`` in the version).
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runtime.core.bundle import ARRAYS_FILE
from tests.conftest import DEFAULT_BUNDLE
from tests.core.test_bundle import edit_manifest
from tests.hardening.conftest import Serve
from tests.hardening.live import wait_for
from tests.hardening.test_reload import SIGHUP_ONLY, point, reloads, version_of, versioned


def copied(directory: Path, change: Callable[[Path], Any]) -> Path:
    shutil.copytree(DEFAULT_BUNDLE, directory)
    change(directory)
    return directory


def arrays_replaced(make: Callable[[Path], Any]) -> Callable[[Path], Any]:
    def change(directory: Path) -> None:
        (directory / ARRAYS_FILE).unlink()
        make(directory / ARRAYS_FILE)
    return change


def feature_edit(name: str, **values: Any) -> Callable[[Path], Any]:
    def edit(manifest: dict[str, Any]) -> None:
        next(spec for spec in manifest["features"] if spec["field"] == name).update(values)
    return lambda directory: edit_manifest(directory, edit)


HOSTILE: dict[str, tuple[Callable[[Path], Any], str]] = {
    "fifo-arrays": (arrays_replaced(os.mkfifo), "arrays file is a FIFO"),
    "dev-zero-arrays": (arrays_replaced(lambda path: path.symlink_to("/dev/zero")),
                        "resolves to /dev/zero, outside the bundle directory"),
    "unknown-field": (feature_edit("Age", field="ShoeSize"), "field is 'ShoeSize', expected one of"),
    "gender-numeric": (feature_edit("Gender", kind="numeric"), "kind is 'numeric', but Gender holds texts"),
    "crlf-version": (lambda d: edit_manifest(d, lambda m: m["model"].update(version="1.0\r\nX: y")),
                     "$.model.version"),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_bundle_is_refused_and_blocks_no_later_reload_or_shutdown(
    serve: Serve, tmp_path: Path, kind: str
) -> None:
    make, reason = HOSTILE[kind]
    link = tmp_path / "current"
    point(link, versioned(tmp_path / "good", "1.0.0-good"))
    live = serve(bundle=link, env=SIGHUP_ONLY)
    point(link, copied(tmp_path / kind, make))
    live.signal(signal.SIGHUP)
    wait_for(lambda: reloads(live) == (0, 1), timeout=10.0, what="a refused reload")
    refused = [line for line in live.log_lines() if line["message"].startswith("reload refused")]
    assert len(refused) == 1 and reason in refused[0]["reason"]
    assert version_of(live) == "1.0.0-good"
    point(link, versioned(tmp_path / "next", "1.0.1-next"))
    live.signal(signal.SIGHUP)
    wait_for(lambda: version_of(live) == "1.0.1-next", timeout=10.0, what="the next reload")
    assert live.stop() == 0
