"""Virtual environments that the benchmark builds for itself, and their installed size."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["ensure_venv", "installed_bytes", "site_packages"]

_STAMP = ".bench-requirements"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path, requirements: str, log: Path) -> Path:
    """The python of ``venv``, (re)built from ``requirements`` when they changed."""
    digest = hashlib.sha256(f"{sys.version}\n{requirements}".encode()).hexdigest()
    stamp = venv / _STAMP
    if stamp.is_file() and stamp.read_text() == digest and _python(venv).exists():
        return _python(venv)
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    listing = venv.with_name(f"{venv.name}.requirements.txt")
    listing.write_text(requirements)
    print(f"building {venv} (log: {log})", flush=True)
    with log.open("w") as out:
        for command in (
            [sys.executable, "-m", "venv", str(venv)],
            [str(_python(venv)), "-m", "pip", "install", "--no-input", "-r", str(listing)],
        ):
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"building {venv} failed; see {log}")
    stamp.write_text(digest)
    return _python(venv)


def site_packages(venv: Path) -> Path:
    """The site-packages folder of ``venv``."""
    found = sorted(venv.glob("lib/python*/site-packages"))
    if not found:
        raise FileNotFoundError(f"no site-packages under {venv}")
    return found[0]


def installed_bytes(folder: Path) -> int:
    """Disk usage of ``folder`` as ``du`` counts it: allocated blocks, hard links once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            info = os.lstat(os.path.join(parent, name))
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
    return total
