"""Several workers under uvicorn's supervisor: a worker that cannot start stops the service,
and workers do not outlive a supervisor that was killed outright."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import DEFAULT_BUNDLE, ROOT
from tests.hardening.conftest import Serve
from tests.hardening.live import HOST, free_port, wait_for

# Runs first in every interpreter on this path: in a worker (the supervisor has set the
# metrics folder by then), it points the bundle link at a folder that holds no bundle.
_BREAK_WORKERS = """
import os
if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
    link = os.environ["SEGMENTATION_BUNDLE"]
    os.remove(link)
    os.symlink(os.path.dirname(link), link)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_worker_that_cannot_start_stops_the_service_with_exit_1(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(_BREAK_WORKERS)
    link = tmp_path / "current"
    link.symlink_to(DEFAULT_BUNDLE)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}:{ROOT}", "SEGMENTATION_BUNDLE": str(link)}
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "runtime", "--host", HOST, "--port", str(free_port()), "--workers", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: worker process ") and "could not start" in last
    assert "bundle" in result.stderr and "manifest.json" in result.stderr  # the cause, logged
    assert time.monotonic() - began < 60


def test_killing_the_supervisor_leaves_no_worker_serving_the_port(serve: Serve) -> None:
    live = serve(workers=2)
    workers = [int(pid) for pid in live.worker_pids()]
    assert len(workers) == 2
    metrics_dirs = glob.glob(os.path.join(tempfile.gettempdir(), f"segmentation-metrics-{live.port}-*"))
    assert len(metrics_dirs) == 1
    os.kill(live.pid, signal.SIGKILL)
    wait_for(lambda: all(_gone(pid) for pid in workers), timeout=15.0, what="the workers to exit")
    assert not os.path.exists(metrics_dirs[0])
    try:
        live.get("/health/live", timeout=1.0)
    except Exception as exc:  # nothing accepts on the port any more
        assert "onnect" in type(exc).__name__ or "onnect" in str(exc)
    else:
        raise AssertionError("something still answers on the port")
