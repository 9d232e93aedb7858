"""Starting the service as a real process on a free loopback port, and always stopping it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

__all__ = ["free_port", "get", "running"]

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def get(url: str, body: bytes | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of a GET (or a JSON POST when ``body`` is given); no exception on 4xx/5xx."""
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


@contextlib.contextmanager
def running(
    command: Sequence[str],
    port: int,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    timeout: float = 30.0,
) -> Iterator[str]:
    """Run ``command`` (which must listen on ``port``), wait for /health/ready, yield its base URL.

    The process is terminated when the block exits, and killed if it does not stop.
    """
    base = f"http://{HOST}:{port}"
    environ = dict(os.environ if env is None else env)
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(open(log, "wb")) if log else subprocess.DEVNULL
        process = subprocess.Popen(list(command), cwd=cwd, env=environ,
                                   stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    text = log.read_text(errors="replace") if log else ""
                    raise RuntimeError(f"{command} exited with {process.returncode}:\n{text}")
                try:
                    if get(f"{base}/health/ready", timeout=1.0)[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{base}/health/ready not 200 after {timeout} s")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
