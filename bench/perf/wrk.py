"""Load generation with ``wrk --latency`` and a POST script, and parsing of its report."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["WrkResult", "parse", "run", "seconds"]

SCRIPT = Path(__file__).with_name("post.lua")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_TIME = r"([\d.]+)(us|ms|s|m|h)"


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: totals, rate, latency percentiles (seconds) and the errors seen."""

    requests: int
    elapsed: float
    rate: float
    p50: float
    p99: float
    non_2xx: int
    socket_errors: int

    @property
    def clean(self) -> bool:
        """No non-2xx answer and no socket error: only then may the figures be trusted."""
        return self.non_2xx == 0 and self.socket_errors == 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "clean": self.clean}


def seconds(value: str, unit: str) -> float:
    """A wrk duration such as ``('594.40', 'us')`` in seconds."""
    return float(value) * _UNITS[unit]


def _search(pattern: str, text: str) -> re.Match[str]:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise ValueError(f"wrk output lacks {pattern!r}:\n{text}")
    return match


def parse(text: str) -> WrkResult:
    """Parse the report of ``wrk --latency``; error lines are optional and count 0 if absent."""
    total = _search(r"^\s*(\d+) requests in " + _TIME, text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return WrkResult(
        requests=int(total[1]),
        elapsed=seconds(total[2], total[3]),
        rate=float(_search(r"^Requests/sec:\s+([\d.]+)", text)[1]),
        p50=seconds(*_search(r"^\s*50%\s+" + _TIME, text).groups()),
        p99=seconds(*_search(r"^\s*99%\s+" + _TIME, text).groups()),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def run(
    url: str,
    body: Path,
    duration: float,
    *,
    connections: int = 16,
    threads: int = 1,
    limit: int | None = None,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """POST ``body`` to ``url`` for ``duration`` seconds (or until ``limit`` responses)."""
    env = {**os.environ, "BENCH_BODY": str(body)}
    if headers:
        env["BENCH_HEADERS"] = "\n".join(f"{name}: {value}" for name, value in headers.items())
    if limit is not None:
        env["BENCH_LIMIT"] = str(limit)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={max(1, round(timeout))}s",
        "--latency",
        "-s",
        str(SCRIPT),
        url,
    ]
    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=duration + timeout + 30,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse(done.stdout)
