"""Trust: no pickle anywhere it could run, arrays loaded without it, the bundle path fixed by config;
outputs that are not directories refused by training, bad files refused at start-up in one line.

This file names the patterns it looks for and builds a pickle payload on purpose,
so the repository scan leaves it out.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runtime.core.bundle import ARRAYS_FILE, BundleError, load_bundle, write_bundle
from tests.conftest import DEFAULT_BUNDLE
from tests.hardening.live import ROOT, LiveServer, customer, free_port, metric
from tests.hardening.test_reload import versioned

PICKLE_USE = re.compile(
    r"import\s+pickle|from\s+pickle\s+import|pickle\.loads?\b|allow_pickle\s*=\s*True"
    r"|joblib\.load|cloudpickle"
)
# The seed's own code, kept under bench/ to measure against, is the one place that unpickles.
REFERENCE = ("bench/",)
# What the serving image installs: nothing that exists to unpickle.
SERVING_REQUIREMENTS = ("requirements-runtime.txt", "requirements-docs.txt")
PICKLING_PACKAGES = ("joblib", "cloudpickle", "dill", "scikit-learn", "sklearn", "pandas", "scipy")
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()


def _repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=30,
    ).stdout.splitlines()
    return [name for name in listed if (ROOT / name).is_file()]


def test_no_pickle_outside_the_reference_code() -> None:
    files = _repository_files()
    assert "runtime/core/bundle.py" in files
    found = []
    for name in files:
        # Requirements name packages, they do not use them: the serving ones are checked below.
        if name.startswith(REFERENCE) or name == THIS_FILE or Path(name).name.startswith("requirements"):
            continue
        try:
            text = (ROOT / name).read_text()
        except (UnicodeDecodeError, OSError):
            continue  # binary files: arrays, images
        for number, line in enumerate(text.splitlines(), 1):
            if PICKLE_USE.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert found == []


def test_the_serving_requirements_hold_no_pickling_package() -> None:
    for name in SERVING_REQUIREMENTS:
        path = ROOT / name
        if not path.is_file():
            continue
        packages = {re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0].lower()
                    for line in path.read_text().splitlines()
                    if line.strip() and not line.lstrip().startswith(("#", "-"))}
        assert not packages & set(PICKLING_PACKAGES), f"{name}: {sorted(packages)}"


class _Payload:
    """Unpickling this creates ``marker``: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.mkdir, (str(self.marker),)


def _object_arrays_bundle(directory: Path, marker: Path) -> Path:
    """A bundle whose 'mean' is an object array holding a pickle, with a valid checksum."""
    bundle = load_bundle(DEFAULT_BUNDLE)
    write_bundle(directory, bundle.manifest, mean=bundle.mean, scale=bundle.scale,
                 centroids=bundle.centroids)
    buffer = io.BytesIO()
    payload = np.empty(bundle.mean.shape, dtype=object)
    payload[:] = [_Payload(marker)] * payload.size
    np.savez(buffer, mean=payload, scale=bundle.scale, centroids=bundle.centroids)
    data = buffer.getvalue()
    (directory / ARRAYS_FILE).write_bytes(data)
    manifest = (directory / "manifest.json").read_text()
    old = re.search(r'"sha256":\s*"([0-9a-f]{64})"', manifest)
    assert old is not None
    new = hashlib.sha256(data).hexdigest()
    (directory / "manifest.json").write_text(manifest.replace(old.group(1), new))
    return directory


def test_the_payload_is_live(tmp_path: Path) -> None:
    """The crafted arrays really run code when pickle is allowed: the next test means something."""
    marker = tmp_path / "ran"
    directory = _object_arrays_bundle(tmp_path / "bundle", marker)
    with np.load(directory / ARRAYS_FILE, allow_pickle=True) as arrays:
        arrays["mean"]
    assert marker.exists()


def test_load_bundle_refuses_object_arrays_instead_of_unpickling(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    directory = _object_arrays_bundle(tmp_path / "bundle", marker)
    with pytest.raises(BundleError, match=r"arrays\.npz"):
        load_bundle(directory)
    assert not marker.exists()
    # Arrays are read from their .npy headers as float64 bytes: no np.load to misconfigure.
    for module in ("bundle.py", "bundle_files.py"):
        source = (ROOT / "runtime" / "core" / module).read_text()
        assert "np.load(" not in source, module


def test_the_service_refuses_to_start_on_object_arrays(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    directory = _object_arrays_bundle(tmp_path / "bundle", marker)
    started = subprocess.run(
        [sys.executable, "-m", "runtime", "--port", "1", "--bundle", str(directory)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert started.returncode == 1
    assert "arrays.npz" in started.stderr
    assert not marker.exists()


def test_no_request_can_choose_the_bundle(server: LiveServer, tmp_path: Path) -> None:
    elsewhere = versioned(tmp_path / "elsewhere", "9.9.9-elsewhere")
    path = str(elsewhere)
    with server.client() as client:
        answers = [
            client.post("/predict", params={"bundle": path}, json=customer()),
            client.post("/predict/batch", params={"bundle": path, "model": path}, json=[customer()]),
            client.post("/predict", json=customer(bundle=path)),
            client.post("/predict", json=customer(),
                        headers={"X-Bundle": path, "X-Segmentation-Bundle": path,
                                 "SEGMENTATION_BUNDLE": path}),
        ]
        info = client.get("/", params={"bundle": path}).json()
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-model-version"] == "1.0.0"
    assert info["model_version"] == "1.0.0"
    samples = server.metrics()
    assert metric(samples, "segmentation_reloads_total") == 0
    assert {s.labels["version"] for s in samples if s.name == "segmentation_model_info"} == {"1.0.0"}


def test_the_serving_image_runs_as_a_non_root_user() -> None:
    dockerfile = ROOT / "Dockerfile"
    if not dockerfile.is_file():
        pytest.skip("no Dockerfile yet")
    lines = [line.strip() for line in dockerfile.read_text().splitlines()]
    last_stage = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    users = [line.split(None, 1)[1] for line in lines[last_stage:] if line.upper().startswith("USER ")]
    assert users, "the final stage sets no USER: the service would run as root"
    user = users[-1].split(":", 1)[0]
    assert user not in ("root", "0")



@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fifo", "file", "symlink-to-fifo"])
def test_training_refuses_an_output_that_is_not_a_directory(tmp_path: Path, kind: str) -> None:
    real = tmp_path / "real"
    if kind == "file":
        real.write_text("keep me")
    else:
        os.mkfifo(real)
    out = real if kind != "symlink-to-fifo" else tmp_path / "link"
    if kind == "symlink-to-fifo":
        out.symlink_to(real)
    before = real.lstat()
    result = subprocess.run(
        [sys.executable, "-m", "training", "--data", str(tmp_path / "absent.csv"), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    if kind == "symlink-to-fifo":  # the command refuses any link as --out, a usage error
        assert result.returncode == 2
        assert result.stderr.startswith(f"error: --out {out}: is a pointer (symlink)")
    else:
        assert result.returncode == 1
        assert result.stderr.startswith(f"error: {out}")
        assert "not a directory; not replacing it" in result.stderr
    assert result.stderr.count("\n") == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert (real.lstat().st_ino, real.lstat().st_mode) == (before.st_ino, before.st_mode)


def _not_utf8(path: Path) -> None:
    path.write_bytes(path.read_bytes().replace(b'"1.0.0"', b'"1.0.\xff"', 1))


def _nested(path: Path) -> None:
    text = path.read_text().rstrip()
    path.write_text(text[:-1] + ', "x": ' + "[" * 5_000 + "]" * 5_000 + "}")


def _catalogue_not_utf8(path: Path) -> None:
    path.write_bytes(b'{"segments": [{"id": 0, "name": "\xff"}]}')


@pytest.mark.slow
@pytest.mark.parametrize(("what", "spoil", "reason"), [
    ("manifest", _not_utf8, "not UTF-8"),
    ("manifest", _nested, "nested too deeply"),
    ("catalogue", _catalogue_not_utf8, "not UTF-8"),
    ("catalogue", os.mkfifo, "catalogue override is a FIFO"),
], ids=["manifest-not-utf8", "manifest-nested", "catalogue-not-utf8", "catalogue-fifo"])
def test_the_service_refuses_a_bad_file_at_start_up_in_one_line(
    tmp_path: Path, what: str, spoil: Any, reason: str
) -> None:
    bundle = Path(shutil.copytree(DEFAULT_BUNDLE, tmp_path / "bundle"))
    path = bundle / "manifest.json" if what == "manifest" else tmp_path / "catalogue.json"
    spoil(path)
    environment = {**os.environ, "SEGMENTATION_CATALOGUE": str(path)} if what == "catalogue" else None
    result = subprocess.run(
        [sys.executable, "-m", "runtime", "--port", str(free_port()), "--bundle", str(bundle)],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {path}: ")
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
