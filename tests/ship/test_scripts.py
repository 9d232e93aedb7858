"""The README's serve command is idempotent: a second run reuses the environment it made."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / "scripts" / "serve"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)


def test_serve_reuses_its_environment_on_a_second_run() -> None:
    first = serve("--help")
    assert first.returncode == 0, first.stderr
    second = serve("--help")
    assert second.returncode == 0, second.stderr
    assert "==> installing" not in second.stdout + second.stderr
    assert "==> creating" not in second.stdout + second.stderr
    assert "--bundle" in second.stdout  # the arguments reached python -m runtime
