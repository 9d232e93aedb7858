"""Hostile output paths, a full disk and SIGTERM: refused or stopped, nothing left behind."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scoring.conftest import row, run_cli, write_export

ROOT = Path(__file__).resolve().parents[2]
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod and mount need root")


def _leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name.endswith(".tmp"))


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_export(tmp_path / "in.csv", [row(CustomerID=f"C{i}") for i in range(20)])


@as_root
@pytest.mark.parametrize("side", [False, True], ids=["output", "side-file"])
def test_a_device_as_output_is_refused_and_stays_a_device(
        export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], side: bool) -> None:
    out = tmp_path / "out.csv"
    device = tmp_path / ("out.rejected.csv" if side else "out.csv")
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    code, err = run_cli(capsys, export, "-o", out)
    assert code == 1
    assert err.count("\n") == 1 and f"{device}: exists and is a character device" in err
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert _leftovers(tmp_path) == []


def test_a_fifo_a_socket_or_a_directory_as_output_is_refused(
        export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    directory = tmp_path / "dir.csv"
    directory.mkdir()
    for target, kind in ((fifo, "a FIFO"), (directory, "a directory")):
        code, err = run_cli(capsys, export, "-o", target)
        assert code == 1 and f"exists and is {kind}" in err, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and directory.is_dir()
    assert list(directory.iterdir()) == [] and _leftovers(tmp_path) == []


@as_root
def test_a_symlink_is_judged_by_what_it_points_to(
        export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    device = tmp_path / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    link = tmp_path / "link.csv"
    link.symlink_to(device)
    code, err = run_cli(capsys, export, "-o", link)
    assert code == 1 and "is a character device (through the link to" in err, err
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    # A link to a regular file: the file it points to gets the answers, the link stays.
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link.unlink()
    link.symlink_to(real)
    code, err = run_cli(capsys, export, "-o", link)
    assert code == 0, err
    assert link.is_symlink() and real.read_text().startswith('"CustomerID"')


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
                             capture_output=True, check=False)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@as_root
def test_a_full_disk_names_the_file_and_leaves_nothing(
        small_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_export(tmp_path / "big.csv", [row(CustomerID=f"C{i:06d}") for i in range(20_000)])
    out = small_disk / "out.csv"
    code, err = run_cli(capsys, source, "-o", out)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith(f"error: {out}: No space left on device"), err
    assert list(small_disk.iterdir()) == []


@pytest.mark.slow
def test_sigterm_stops_a_run_like_ctrl_c_and_leaves_nothing(tmp_path: Path) -> None:
    source = write_export(tmp_path / "in.csv", [row()])
    with open(source, "ab") as file:
        file.write(('"' + ",".join(row()) + '"\n').encode() * 2_000_000)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    child = subprocess.Popen([sys.executable, "-m", "runtime.score", str(source), "-o",
                              str(out_dir / "out.csv")], cwd=ROOT, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.monotonic() + 60
    while not _leftovers(out_dir) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert child.poll() is None, "the run ended before it could be stopped"
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 143
    assert err == "error: terminated; no output written\n"
    assert list(out_dir.iterdir()) == []


def test_a_line_over_the_limit_is_a_rejected_row_and_the_rest_is_scored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_export(tmp_path / "in.csv", [row(CustomerID="C1")])
    with open(source, "ab") as file:
        file.write(b'"C2,' + b"9" * 3_000_000 + b'"\n')
        file.write(('"' + ",".join(row(CustomerID="C3")) + '"').encode())
    out = tmp_path / "out.csv"
    code, err = run_cli(capsys, source, "-o", out, "--max-line-bytes", "100000")
    assert code == 0, err
    assert [line.split(",")[0] for line in out.read_text().splitlines()[1:]] == ['"C1"', '"C3"']
    assert (tmp_path / "out.rejected.csv").read_text().splitlines()[1:] == [
        '3,,"line too long: 3,000,005 bytes, the limit is 100,000"']
