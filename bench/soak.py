"""Soak: run the service under steady mixed load and watch its resident memory.

    .venv/bin/python bench/soak.py [--seconds 60] [--connections 16] [--workers 1]

Starts ``python -m runtime`` on a free loopback port, warms it up, then sends
single and batch predictions over keep-alive connections for ``--seconds``.
Prints VmRSS (from /proc/PID/status, summed over the server's processes) after
the warm-up and at the end, the growth, and the request counts. Exits 1 if any
request failed or the growth passed ``--max-growth-mb`` (the goal: under 5 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
MB = 1024 * 1024

_GENDERS = ("F", "M", "Female", "male")
_CITIES = ("Mumbai", "Delhi", "Bangalore", "Chennai", "Pune", "Kolkata", "Jaipur")
_DISCOUNTS = ("Low", "Medium", "High")
_TIMES = ("Day", "Night")


def _customer(rng: random.Random, index: int) -> dict[str, object]:
    income = rng.uniform(150_000, 1_400_000)
    spent = income * rng.uniform(0.1, 0.7)
    purchases = rng.randint(1, 20)
    return {
        "CustomerID": f"SOAK{index:07d}", "Age": rng.randint(18, 70),
        "Gender": rng.choice(_GENDERS), "City": rng.choice(_CITIES),
        "AnnualIncome": round(income, 2), "TotalSpent": round(spent, 2),
        "MonthlyPurchases": purchases, "AvgOrderValue": round(spent / purchases / 12, 2),
        "AppTimeMinutes": round(rng.uniform(5, 150), 1),
        "DiscountUsage": rng.choice(_DISCOUNTS), "PreferredShoppingTime": rng.choice(_TIMES),
    }


def _request(path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


@dataclass
class Stats:
    single: int = 0
    batch: int = 0
    customers: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def fail(self, reason: str) -> None:
        self.failed += 1
        if len(self.failures) < 10:
            self.failures.append(reason)


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed by the server")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _connection(port: int, requests: list[tuple[bytes, int]], deadline: float,
                      stats: Stats | None, offset: int) -> None:
    """One keep-alive connection sending ``requests`` in turn until ``deadline``."""
    index = offset
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.monotonic() < deadline:
            raw, customers = requests[index % len(requests)]
            index += 1
            began = time.perf_counter()
            try:
                writer.write(raw)
                await writer.drain()
                status, body = await _answer(reader)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                if stats is not None:
                    stats.fail(f"{type(exc).__name__}: {exc}")
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
                continue
            if stats is None:
                continue
            stats.latencies.append(time.perf_counter() - began)
            if status != 200:
                stats.fail(f"status {status}: {body[:200]!r}")
            elif customers:
                answer = json.loads(body)
                if len(answer["predictions"]) != customers:
                    stats.fail(f"{len(answer['predictions'])} predictions for {customers} customers")
                stats.batch += 1
                stats.customers += customers
            else:
                if "cluster" not in json.loads(body):
                    stats.fail(f"no cluster in {body[:200]!r}")
                stats.single += 1
                stats.customers += 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _load(port: int, requests: list[tuple[bytes, int]], seconds: float, connections: int,
                stats: Stats | None) -> None:
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(_connection(port, requests, deadline, stats, offset * 7)
                           for offset in range(connections)))


def _workload(seed: int, batch_size: int, batch_every: int) -> list[tuple[bytes, int]]:
    """Requests cycled by every connection: one batch after every ``batch_every - 1`` singles."""
    rng = random.Random(seed)
    requests = []
    for index in range(200):
        if batch_every and index % batch_every == batch_every - 1:
            batch = [_customer(rng, index * 1000 + i) for i in range(batch_size)]
            requests.append((_request("/predict/batch", json.dumps(batch).encode()), batch_size))
        else:
            requests.append((_request("/predict", json.dumps(_customer(rng, index)).encode()), 0))
    return requests


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def rss_bytes(pid: int) -> int:
    """VmRSS of ``pid`` and its descendants, from /proc/PID/status."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        pending.extend(_children(current))
    return total


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _start(port: int, options: argparse.Namespace, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "runtime", "--host", HOST, "--port", str(port),
               "--workers", str(options.workers)]
    if options.bundle:
        command += ["--bundle", options.bundle]
    env = {**os.environ, "SEGMENTATION_LOG_LEVEL": options.log_level}
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(f"GET /health/ready HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
                         .encode())
            if sock.recv(64).startswith(b"HTTP/1.1 200"):
                return process
        time.sleep(0.1)
    _stop(process, 5)
    raise SystemExit("server not ready after 30 s")


def _stop(process: subprocess.Popen[bytes], timeout: float) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    return process.returncode


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured load (default 60)")
    parser.add_argument("--warmup", type=float, default=5.0, help="load before the first reading")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--batch-every", type=int, default=5, help="every Nth request is a batch")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bundle", help="bundle directory (default: the shipped one)")
    parser.add_argument("--log-level", default="warning", help="the server's SEGMENTATION_LOG_LEVEL")
    parser.add_argument("--max-growth-mb", type=float, default=5.0, help="goal for RSS growth")
    parser.add_argument("--seed", type=int, default=20261125)
    options = parser.parse_args(argv)

    requests = _workload(options.seed, options.batch_size, options.batch_every)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        log = Path(scratch) / "server.log"
        process = _start(port, options, log)
        try:
            asyncio.run(_load(port, requests, options.warmup, options.connections, None))
            start_rss = rss_bytes(process.pid)
            stats = Stats()
            began = time.monotonic()
            asyncio.run(_load(port, requests, options.seconds, options.connections, stats))
            elapsed = time.monotonic() - began
            end_rss = rss_bytes(process.pid)
        finally:
            code = _stop(process, 30)
        errors = [line for line in log.read_text(errors="replace").splitlines() if '"error"' in line]

    growth = (end_rss - start_rss) / MB
    total = stats.single + stats.batch
    print(f"soak: {elapsed:.1f} s after a {options.warmup:g} s warm-up, {options.connections} "
          f"connections, {options.workers} worker(s), every {options.batch_every}th request "
          f"a batch of {options.batch_size}")
    print(f"rss at start: {start_rss / MB:.1f} MB")
    print(f"rss at end: {end_rss / MB:.1f} MB")
    print(f"rss growth: {growth:+.2f} MB (goal < {options.max_growth_mb:g} MB)")
    print(f"requests: {total} ({stats.single} single, {stats.batch} batch; {stats.customers} "
          f"customers), {total / elapsed:.0f} req/s, p50 {_percentile(stats.latencies, 0.5) * 1e3:.1f}"
          f" ms, p99 {_percentile(stats.latencies, 0.99) * 1e3:.1f} ms")
    print(f"failed: {stats.failed}")
    for reason in stats.failures:
        print(f"  {reason}")
    print(f"server: exit code {code}, {len(errors)} error log lines")
    ok = stats.failed == 0 and growth < options.max_growth_mb and code == 0 and not errors
    print(f"result: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
