"""``python -m runtime.rollout``: promote a bundle version to serving, or roll back.

A bundles directory holds one folder per version and two relative symlinks:
``current`` (the version the service serves: configure it with
``--bundle DIR/current``) and ``previous`` (what ``rollback`` returns to).

``promote VERSION`` verifies the bundle (it loads, its checksum holds, and each
segment's profile predicts as that segment), shows the migration verdict
written beside it (``migration.json``) and refuses a failed one unless
``--force``, then moves ``current`` (a new link renamed over the old one: a
reader sees the old or the new version, never none). A server watching its
bundle path reloads in place within ``SEGMENTATION_WATCH_SECONDS``; given the
server's pid, the command also sends it ``SIGHUP``, which makes a one-worker
server reload at once. Either way a bundle that fails leaves the old model
serving. ``rollback`` does the same towards ``previous``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from runtime.core.needs import PROMOTING, require

require(PROMOTING)  # before the imports below, which need it

from runtime.core.bundle import Bundle, BundleError, load_bundle
from runtime.core.migration import MIGRATION_FILE, MigrationError, read_migration
from runtime.core.model import Model
from runtime.core.shipped import SHIPPED_BUNDLES

__all__ = ["CURRENT", "MIGRATION_FILE", "PREVIOUS", "RolloutError", "main", "point", "pointed", "promote"]

CURRENT = "current"
PREVIOUS = "previous"


class RolloutError(Exception):
    """The rollout cannot go ahead; nothing was changed. The message says why."""


def point(bundles: Path, name: str, version: str) -> None:
    """Make ``bundles/name`` a relative link to ``version``, replacing any old one at once."""
    staging = bundles / f".{name}.{os.getpid()}"
    try:
        staging.unlink(missing_ok=True)
        staging.symlink_to(version, target_is_directory=True)
        os.replace(staging, bundles / name)
    except OSError as exc:
        staging.unlink(missing_ok=True)
        raise RolloutError(f"{bundles / name}: cannot point it to {version}: {exc.strerror}") from exc


def pointed(bundles: Path, name: str) -> str | None:
    """The version ``bundles/name`` points to, or None when there is no such link."""
    link = bundles / name
    if not link.is_symlink():
        if link.exists():
            raise RolloutError(f"{link}: expected a symlink to a version folder, found a real "
                               "file or folder; move it aside first")
        return None
    return Path(os.readlink(link)).name


def _verify(bundles: Path, version: str) -> Bundle:
    """Load and check ``bundles/version``."""
    if not version or version in (CURRENT, PREVIOUS) or Path(version).name != version:
        raise RolloutError(f"version {version!r}: expected a folder name inside {bundles}")
    try:
        bundle = load_bundle(bundles / version)
        Model(bundle).check()
    except BundleError as exc:
        raise RolloutError(f"{version}: refused, the bundle does not verify: {exc}") from exc
    return bundle


def _described(bundle: Bundle) -> str:
    model = bundle.manifest.model
    return f"{model.name} {model.version} (arrays sha256 {bundle.checksum[:12]})"


def _migration_verdict(bundle: Bundle, force: bool) -> str:
    """The verdict recorded beside the bundle (``python -m training compare``), as a line;
    refuses a failed one unless ``force``."""
    path = Path(bundle.path) / MIGRATION_FILE
    if not path.exists():
        return f"no migration verdict ({path} absent): its effect on customers was not compared"
    try:
        verdict = read_migration(bundle.path, bundle.checksum)
    except MigrationError as exc:
        raise RolloutError(str(exc)) from exc
    line = f"migration verdict: {verdict.summary()}"
    if not verdict.passed and not force:
        raise RolloutError(f"{line}; refused (--force promotes it anyway)")
    return line


def _server_pid(pid: int | None, pid_file: Path | None) -> int | None:
    """The server's process id, checked alive before anything changes."""
    if pid_file is not None:
        try:
            text = pid_file.read_text().strip()
        except OSError as exc:
            raise RolloutError(f"--pid-file {pid_file}: {exc.strerror} (is the server running "
                               "with --pid-file?)") from exc
        if not text.isdigit():
            raise RolloutError(f"--pid-file {pid_file}: expected a process id, found {text[:20]!r}")
        pid = int(text)
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except OSError as exc:
        raise RolloutError(f"process {pid}: no such server ({exc.strerror})") from exc
    return pid


def promote(bundles: Path, version: str, *, force: bool = False, pid: int | None = None,
            verdict: bool = True, say: Callable[[str], None] = print) -> None:
    """Verify ``version``, point ``current`` at it (``previous`` at the old one), signal ``pid``.

    ``verdict=False`` skips the migration verdict: a rollback returns to a version that served.
    """
    if not bundles.is_dir():
        raise RolloutError(f"--bundles {bundles}: no such directory")
    old = pointed(bundles, CURRENT)
    pointed(bundles, PREVIOUS)  # refuses a real folder there before anything changes
    bundle = _verify(bundles, version)
    say(f"verified {_described(bundle)}")
    if verdict:
        say(_migration_verdict(bundle, force))
    if old == version:
        say(f"{bundles / CURRENT} already points to {version}: nothing to change")
    else:
        if old is not None:
            point(bundles, PREVIOUS, old)
        point(bundles, CURRENT, version)
        say(f"{bundles / CURRENT} -> {version} (previous: {old or 'none'})")
    if pid is None:
        say("no server signalled (no --pid-file or --pid): a server watching its bundle path "
            "reloads within SEGMENTATION_WATCH_SECONDS")
    else:
        os.kill(pid, signal.SIGHUP)
        say(f"sent SIGHUP to process {pid}: it reloads {bundles / CURRENT}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runtime.rollout",
        description="Promote a bundle version to serving, or roll back to the previous one.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    promote_parser = commands.add_parser("promote", help="verify VERSION, serve it, reload the server")
    promote_parser.add_argument("version", help="version folder inside the bundles directory")
    promote_parser.add_argument("--force", action="store_true",
                                help="promote even when the migration verdict failed")
    rollback_parser = commands.add_parser("rollback", help="serve the previous version again")
    for sub in (promote_parser, rollback_parser):
        sub.add_argument("--bundles", type=Path, default=SHIPPED_BUNDLES,
                         help=f"bundles directory (default: {SHIPPED_BUNDLES})")
        target = sub.add_mutually_exclusive_group()
        target.add_argument("--pid-file", type=Path, help="the server's --pid-file: SIGHUP it to "
                            "reload at once (one worker; several reload in place by themselves)")
        target.add_argument("--pid", type=int, help="the server's process id, as --pid-file")
    return parser


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        pid = _server_pid(options.pid, options.pid_file)
        if options.command == "promote":
            promote(options.bundles, options.version, force=options.force, pid=pid)
        else:
            version = pointed(options.bundles, PREVIOUS)
            if version is None:
                raise RolloutError(f"{options.bundles / PREVIOUS}: no previous version to roll back to")
            promote(options.bundles, version, pid=pid, verdict=False)
    except RolloutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
