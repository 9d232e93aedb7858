"""Writing bundles: outputs that are not directories are refused, and no staging folder outlives a run.

The output is made a regular file, a FIFO, a socket, a device or a symlink to
one of them; a writer is killed with SIGTERM and with SIGKILL in the middle of
a write, in a real subprocess, and the next write is watched clearing up.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runtime.core.bundle import MANIFEST_FILE, Bundle, check_replaceable, load_bundle, write_bundle
from runtime.core.staging import clear_stale
from tests.conftest import DEFAULT_BUNDLE, ROOT
from tests.hardening.live import wait_for

# Enough report files that a write takes a while: the signal lands mid-write.
WRITER = """
import sys
from runtime.core.bundle import load_bundle, write_bundle
bundle = load_bundle(sys.argv[1])
content = b"x" * 1024
extra = {f"report/{index}.txt": content for index in range(200_000)}
write_bundle(sys.argv[2], bundle.manifest, mean=bundle.mean, scale=bundle.scale,
             centroids=bundle.centroids, extra_files=extra)
"""



def write(target: Path, bundle: Bundle) -> None:
    write_bundle(target, bundle.manifest, mean=bundle.mean, scale=bundle.scale,
                 centroids=bundle.centroids)


def make_socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))


def make_device(path: Path) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # as /dev/null
    except PermissionError:
        pytest.skip("making a device file needs root")


MAKERS: dict[str, Callable[[Path], None]] = {
    "regular file": lambda path: path.write_text("keep me"),
    "FIFO": os.mkfifo,
    "socket": make_socket,
    "character device": make_device,
}


@pytest.mark.parametrize("kind", MAKERS)
@pytest.mark.parametrize("through_symlink", [False, True], ids=["direct", "symlink"])
def test_an_output_that_is_not_a_directory_is_refused_and_kept(
    tmp_path: Path, shipped: Bundle, kind: str, through_symlink: bool
) -> None:
    real = tmp_path / "real"
    MAKERS[kind](real)
    output = tmp_path / "link" if through_symlink else real
    if through_symlink:
        output.symlink_to(real)
    before = real.lstat()
    with pytest.raises(FileExistsError, match=f"exists and is a {kind}, not a directory"):
        write(output, shipped)
    after = real.lstat()
    assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode), before.st_ino)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted({"real", output.name})


def test_a_symlink_to_a_bundle_is_written_through(tmp_path: Path, shipped: Bundle) -> None:
    real = tmp_path / "1.0.0"
    write(real, shipped)
    current = tmp_path / "current"
    current.symlink_to(real)
    assert check_replaceable(current) == real
    write(current, shipped)
    assert current.is_symlink()
    assert load_bundle(current).path == str(real)


def run_writer(target: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(DEFAULT_BUNDLE), str(target)],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )


def staging_folders(target: Path) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.*"))


def killed_mid_write(target: Path, sig: int) -> subprocess.CompletedProcess[str]:
    writer = run_writer(target)
    try:
        # the report folder appears once the arrays and manifest are staged
        wait_for(lambda: any(p.joinpath("report").is_dir() for p in staging_folders(target)),
                 timeout=60, interval=0.01, what="a staging folder being filled")
        writer.send_signal(sig)
        _, stderr = writer.communicate(timeout=60)
    finally:
        writer.kill()
        writer.wait()
    return subprocess.CompletedProcess(writer.args, writer.returncode, "", stderr)


@pytest.mark.slow
def test_sigterm_mid_write_removes_the_staging_folder(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    result = killed_mid_write(target, signal.SIGTERM)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: writing the bundle {target} interrupted by SIGTERM; nothing was written")
    assert staging_folders(target) == []
    assert not target.exists()


@pytest.mark.slow
def test_a_staging_folder_left_by_sigkill_is_cleared_by_the_next_write(
    tmp_path: Path, shipped: Bundle
) -> None:
    target = tmp_path / "bundle"
    result = killed_mid_write(target, signal.SIGKILL)
    assert result.returncode == -signal.SIGKILL
    left = staging_folders(target)
    assert len(left) == 1
    write(target, shipped)
    assert staging_folders(target) == []
    assert (target / MANIFEST_FILE).is_file()


def test_a_live_writers_staging_folder_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".bundle.{sleeper.pid}.abcd1234"
        dead = tmp_path / ".bundle.abcdefgh"  # an older writer's, with no process id
        other = tmp_path / ".bundle2.1.abcd1234"  # another target's
        for folder in (live, dead, other):
            folder.mkdir()
        assert clear_stale(target) == [dead]
        assert sorted(staging_folders(target)) == [live]
        assert other.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert clear_stale(target) == [live]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs mounted in the test's folder (root only), unmounted at the end."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_names_the_file_and_leaves_nothing(small_disk: Path, shipped: Bundle) -> None:
    target = small_disk / "bundle"
    with pytest.raises(OSError, match=r"bundle/report/big.bin: cannot write \(No space left on device\)"):
        write_bundle(target, shipped.manifest, mean=shipped.mean, scale=shipped.scale,
                     centroids=shipped.centroids, extra_files={"report/big.bin": bytes(256 * 1024)})
    assert list(small_disk.iterdir()) == []
