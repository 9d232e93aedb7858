"""A live service process for the hardening tests, and what they need to talk to it.

:class:`LiveServer` is one ``python -m runtime`` process on a free loopback port,
its stderr captured to a file. :func:`start` waits for ``/health/ready``;
:meth:`LiveServer.stop` sends SIGTERM, then kills the process group if it lingers.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

__all__ = [
    "HOST",
    "ROOT",
    "SAMPLES",
    "LiveServer",
    "RawUpload",
    "customer",
    "free_port",
    "metric",
    "start",
    "wait_for",
]

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]

# The seed's three samples (DESIGN.md) and the segment each belongs to.
SAMPLES: dict[int, dict[str, Any]] = {
    1: {"CustomerID": "S-HV", "Age": 45, "Gender": "M", "City": "Mumbai", "AnnualIncome": 1200000.0,
        "TotalSpent": 750000.0, "MonthlyPurchases": 18, "AvgOrderValue": 10000.0,
        "AppTimeMinutes": 120.0, "DiscountUsage": "High", "PreferredShoppingTime": "Night"},
    2: {"CustomerID": "S-VS", "Age": 35, "Gender": "F", "City": "Delhi", "AnnualIncome": 600000.0,
        "TotalSpent": 250000.0, "MonthlyPurchases": 9, "AvgOrderValue": 3500.0,
        "AppTimeMinutes": 70.0, "DiscountUsage": "Medium", "PreferredShoppingTime": "Day"},
    0: {"CustomerID": "S-PS", "Age": 30, "Gender": "F", "City": "Bangalore", "AnnualIncome": 250000.0,
        "TotalSpent": 50000.0, "MonthlyPurchases": 2, "AvgOrderValue": 1500.0,
        "AppTimeMinutes": 20.0, "DiscountUsage": "Low", "PreferredShoppingTime": "Day"},
}


def customer(index: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid customer body, varied by ``index`` so batches are not all alike."""
    body = dict(SAMPLES[index % 3], CustomerID=f"C{index:06d}")
    body["Age"] = 20 + index % 50
    body.update(overrides)
    return body


def free_port() -> int:
    """A port that was free on the loopback interface a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_for(predicate: Any, timeout: float, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


def metric(samples: Iterable[Sample], name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        sample.value for sample in samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def _environment(env: Mapping[str, str] | None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("SEGMENTATION_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    base["PYTHONUNBUFFERED"] = "1"
    base.update(env or {})
    return base


class LiveServer:
    """One service process; ``url`` is its base address, ``log`` its captured stderr."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log
        self.url = f"http://{HOST}:{port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=options.pop("timeout", 10.0), **options)

    def get(self, path: str, **options: Any) -> httpx.Response:
        """A GET on a fresh connection."""
        with self.client() as client:
            return client.get(path, **options)

    def post(self, path: str, body: Any, **options: Any) -> httpx.Response:
        """A JSON POST on a fresh connection."""
        with self.client() as client:
            return client.post(path, json=body, **options)

    def metrics(self) -> list[Sample]:
        """Every sample of ``/metrics``, parsed by prometheus_client's own parser."""
        answer = self.get("/metrics")
        assert answer.status_code == 200, answer.text
        return [sample for family in text_string_to_metric_families(answer.text)
                for sample in family.samples]

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON lines of stderr so far; any other line fails the test."""
        lines = []
        for text in self.log.read_text(errors="replace").splitlines():
            if text.strip():
                try:
                    lines.append(json.loads(text))
                except ValueError as exc:
                    raise AssertionError(f"stderr line is not JSON: {text[:300]!r}") from exc
        return lines

    def access_lines(self) -> list[dict[str, Any]]:
        return [line for line in self.log_lines() if line.get("logger") == "runtime.access"]

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if the process still runs after ``timeout`` seconds."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL to the whole process group if it has not exited in time."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            if self.wait(timeout) is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        # Workers forked by a supervisor share its process group: none may outlive a test.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode

    def ready(self) -> bool:
        try:
            return self.get("/health/ready", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def worker_pids(self) -> set[str]:
        """Workers that report a served model: ``segmentation_model_info`` is per process."""
        return {sample.labels["pid"] for sample in self.metrics()
                if sample.name == "segmentation_model_info" and sample.value == 1
                and "pid" in sample.labels}


def start(
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    bundle: Path | None = None,
    workers: int = 1,
    args: Sequence[str] = (),
    timeout: float = 30.0,
) -> LiveServer:
    """Start ``python -m runtime`` on a free port and wait until ``/health/ready`` answers 200.

    With several workers, also wait until every worker has its model loaded.
    """
    port = free_port()
    command = [sys.executable, "-m", "runtime", "--host", HOST, "--port", str(port), *args]
    if bundle is not None:
        command += ["--bundle", str(bundle)]
    if workers > 1:
        command += ["--workers", str(workers)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=_environment(env), stdout=output,
                                   stderr=output, stdin=subprocess.DEVNULL, start_new_session=True)
    server = LiveServer(process, port, log)
    deadline = time.monotonic() + timeout
    try:
        while not server.ready():
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n"
                                   f"{log.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.url}/health/ready not 200 after {timeout} s")
            time.sleep(0.05)
        if workers > 1:
            wait_for(lambda: len(server.worker_pids()) >= workers,
                     max(1.0, deadline - time.monotonic()), what=f"{workers} workers serving")
    except BaseException:
        server.stop(5.0)
        raise
    return server


class RawUpload:
    """A POST sent by hand over a socket: headers now, the body in pieces, the answer later."""

    def __init__(self, port: int, path: str, body: bytes, *, declared: int | None = None,
                 chunked: bool = False, timeout: float = 20.0) -> None:
        self.body = body
        self.sent = 0
        self.chunked = chunked
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        framing = ("Transfer-Encoding: chunked" if chunked
                   else f"Content-Length: {len(body) if declared is None else declared}")
        head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                f"Content-Type: application/json\r\n{framing}\r\n\r\n")
        self.sock.sendall(head.encode())

    def send(self, size: int) -> None:
        """Send the next ``size`` bytes of the body (one chunk when chunked)."""
        part = self.body[self.sent:self.sent + size]
        self.sent += len(part)
        self.sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n" if self.chunked else part)

    def finish(self) -> None:
        """Send the rest of the body (and the last chunk when chunked)."""
        self.send(len(self.body) - self.sent)
        if self.chunked:
            self.sock.sendall(b"0\r\n\r\n")

    def answered(self) -> bool:
        """Whether the server has already started answering, without waiting."""
        self.sock.setblocking(False)
        try:
            return bool(self.sock.recv(1, socket.MSG_PEEK))
        except BlockingIOError:
            return False
        finally:
            self.sock.setblocking(True)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body of the answer."""
        answer = http.client.HTTPResponse(self.sock)
        answer.begin()
        body = answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, body

    def close(self) -> None:
        self.sock.close()
