"""Output paths judged before anything is written, and files that appear whole or not at all.

A path is resolved first (a symlink stands for what it points to), and refused
when it names something other than a regular file: renaming over a device, a
FIFO, a socket or a directory would replace it. A file is written under a
hidden temporary name beside its target and renamed into place once complete;
on any failure, a full disk included, the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

__all__ = ["AtomicFile", "OutputError", "writable_target"]

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


class OutputError(Exception):
    """An output cannot be written; the message names the path and the reason."""


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def writable_target(path: Path, *, directory: bool = False) -> Path:
    """``path`` resolved, if it may be written: absent, or a regular file (a directory if asked).

    Raises :class:`OutputError` naming ``path`` and what it is.
    """
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"{path}: cannot be examined ({exc.strerror})") from exc
    if mode is not None:
        wanted = stat.S_ISDIR(mode) if directory else stat.S_ISREG(mode)
        if not wanted:
            shown = f" (through the link to {target})" if target != path.absolute() else ""
            raise OutputError(f"{path}: exists and is {_kind(mode)}{shown}; "
                              f"refusing to replace it")
    if not target.parent.is_dir():
        raise OutputError(f"{target.parent}: output directory not found")
    return target


class AtomicFile:
    """A new file under a temporary name beside ``target``; ``commit`` renames it into place."""

    def __init__(self, target: Path) -> None:
        self.target = writable_target(target)
        self.temp = self.target.with_name(f".{self.target.name}.{secrets.token_hex(4)}.tmp")
        # O_EXCL: the name is new, never a link someone placed; 0o666 lets the umask decide.
        descriptor = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self.file: BinaryIO = os.fdopen(descriptor, "wb", buffering=1 << 20)

    def finish(self) -> None:
        """Close the file: everything written reaches the disk or fails here, naming the file."""
        try:
            self.file.close()
        except OSError as exc:
            self.discard()
            raise OutputError(f"{self.target}: {exc.strerror or exc}") from exc

    def commit(self) -> None:
        """Finish, then rename over the target, judged again just before."""
        self.finish()
        try:
            writable_target(self.target)
            os.replace(self.temp, self.target)
        except OSError as exc:
            self.discard()
            raise OutputError(f"{self.target}: {exc.strerror or exc}") from exc
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Remove the temporary file, whatever state its writing stopped in."""
        with contextlib.suppress(OSError):  # closing flushes, and a full disk fails again
            self.file.close()
        self.temp.unlink(missing_ok=True)
