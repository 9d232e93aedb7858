"""Where a server spends its time under load: py-spy samples, summarised by function."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

__all__ = ["record", "summarise"]

_LINE = re.compile(r":\d+\)$")


def _py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise FileNotFoundError("py-spy is not installed in the benchmark's venv")
    return found


def record(pid: int, seconds: float, out: Path, kind: str = "raw") -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` for ``seconds`` into ``out`` (``raw`` stacks or ``flamegraph``)."""
    command = [
        _py_spy(),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--format",
        kind,
        "--output",
        str(out),
        "--subprocesses",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _area(frame: str) -> str:
    """``runtime/app.py`` for our files, else the package or module a frame comes from."""
    location = frame.rpartition("(")[2].rstrip(")")
    if location.startswith("runtime/"):
        return location
    return location.split("/")[0].removesuffix(".py") or frame


def summarise(raw: Path, top: int = 12) -> str:
    """Where the samples are: on the CPU by area and by function, and inside our code."""
    own: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_LINE.sub(")", frame.strip()) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        areas[_area(frames[-1])] += count
        for frame in {f for f in frames if "(runtime/" in f}:
            ours[frame] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples of the CPU-busy server"]
    for title, counter in (
        ("self time by area", areas),
        ("self time by function", own),
        ("time inside our functions (with callees)", ours),
    ):
        lines.append(f"{title}:")
        shown = [(frame, n) for frame, n in counter.most_common() if n < total][:top]
        lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in shown]
    return "\n".join(lines)
