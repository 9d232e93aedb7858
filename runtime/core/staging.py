"""Writing a directory atomically: staged beside its target, renamed into place, never half-left.

A staging folder is named ``.NAME.PID.XXXXXXXX`` beside its target ``NAME``:
a run killed outright (SIGKILL, power loss) leaves one behind, and the next
write to the same target removes those whose process is gone. SIGTERM during a
write ends it like SIGINT does, so the staging folder is removed on the way out.
An output is judged by what it names once symlinks are resolved, and only a
directory (or nothing) is ever replaced.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

__all__ = ["clear_stale", "exit_on_sigterm", "output_directory", "staging_directory", "swap_into_place"]

_KINDS = {stat.S_IFCHR: "character device", stat.S_IFBLK: "block device", stat.S_IFIFO: "FIFO",
          stat.S_IFSOCK: "socket", stat.S_IFREG: "regular file"}


def output_directory(path: str | os.PathLike[str]) -> Path:
    """Where a directory output ``path`` really goes: its symlinks resolved.

    Raises :class:`FileExistsError` naming the path when it exists as anything
    but a directory (a file, a device, a FIFO, a socket): nothing may replace it.
    """
    target = Path(path).resolve()
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target
    if not stat.S_ISDIR(mode):
        kind = _KINDS.get(stat.S_IFMT(mode), "special file")
        shown = f"{path} (-> {target})" if str(target) != os.path.abspath(path) else str(path)
        raise FileExistsError(f"{shown}: exists and is a {kind}, not a directory; not replacing it")
    return target


def _pattern(name: str) -> re.Pattern[str]:
    # tempfile.mkdtemp's random part: 8 characters; older writers left no process id
    return re.compile(rf"^\.{re.escape(name)}\.(?:(?P<pid>\d+)\.)?(?:old\.)?[a-z0-9_]{{8}}$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another write of this process, in another thread
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def clear_stale(target: Path) -> list[Path]:
    """Remove the staging folders of ``target`` whose writing process is gone; return them."""
    pattern = _pattern(target.name)
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except FileNotFoundError:
        return []
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False):
            continue
        if match["pid"] is not None and _alive(int(match["pid"])):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


def staging_directory(target: Path) -> Path:
    """A new, empty staging folder beside ``target``, once stale ones are cleared."""
    target.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the output from a non-root reader
    return staging


@contextlib.contextmanager
def exit_on_sigterm(what: str) -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`SystemExit` (one line, exit 1), so
    cleanup code runs as it does for SIGINT.

    Only where SIGTERM still has its default action, and on the main thread (the
    only one Python delivers signals to); a handler the caller set is kept.
    """
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(f"error: {what} interrupted by SIGTERM; nothing was written")

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def swap_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing ``target`` goes back if the rename fails."""
    if not target.exists():
        staging.rename(target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.old.", dir=target.parent))
    parked = retired / target.name
    try:
        target.rename(parked)
        try:
            staging.rename(target)
        except BaseException:
            parked.rename(target)  # the old one goes back in place
            raise
    except BaseException:
        with contextlib.suppress(OSError):
            retired.rmdir()  # empty, unless the old one could not go back: then it stays
        raise
    shutil.rmtree(retired, ignore_errors=True)
