"""A server process under test: free loopback port, health wait, memory, clean stop."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["HOST", "Server", "free_port", "http_call"]

HOST = "127.0.0.1"


def free_port() -> int:
    """A port that was free on the loopback interface a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def http_call(
    port: int, method: str, path: str, body: bytes | None = None, timeout: float = 30.0
) -> tuple[int, bytes]:
    """One request on a fresh connection: the status and the body."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Server:
    """Runs ``command(port)`` in its own process group; stops it, and all it spawned, on exit.

    ``log`` receives the server's output, so a failed start can be explained.
    """

    def __init__(
        self,
        name: str,
        command: Callable[[int], Sequence[str]],
        cwd: Path,
        log: Path,
        *,
        env: dict[str, str] | None = None,
        health: str = "/health",
    ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.health = health
        self.log = log
        self.served = 0
        self._command = list(command(self.port))
        self._cwd = cwd
        self._env = {**os.environ, **(env or {})}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait for a 200 on the health path; returns seconds from spawn to healthy."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            began = time.perf_counter()
            self._process = subprocess.Popen(
                self._command,
                cwd=self._cwd,
                env=self._env,
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        while time.perf_counter() - began < timeout:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self._process.returncode} before it was "
                    f"healthy; see {self.log}"
                )
            if self._healthy():
                return time.perf_counter() - began
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"{self.name} not healthy after {timeout:.0f} s; see {self.log}")

    def _healthy(self) -> bool:
        try:
            status, _ = http_call(self.port, "GET", self.health, timeout=1.0)
        except OSError:
            return False
        return status == 200

    def rss(self) -> int:
        """Resident memory in bytes of the server process and its descendants."""
        pending, total = [self.pid], 0
        while pending:
            pid = pending.pop()
            try:
                total += _rss_bytes(pid)
            except OSError:
                continue
            pending.extend(_children(pid))
        return total

    def stop(self) -> None:
        """SIGTERM to the whole process group, SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(5.0)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
