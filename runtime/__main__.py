"""``python -m runtime``: serve a model bundle over HTTP."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from runtime.core.needs import SERVING, require

require(SERVING)  # before the imports below, which need it

from runtime.core.bundle import BundleError
from runtime.service.settings import DEFAULT_HEADER_BYTES, ENVIRONMENT, Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    variables = "\n".join(f"  {var:<30} {text}" for var, text in ENVIRONMENT.values())
    parser = argparse.ArgumentParser(
        prog="python -m runtime",
        description="Serve customer-segmentation predictions from a model bundle.",
        epilog=f"environment variables (flags win over them):\n{variables}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = Settings()
    parser.add_argument("--host", help=f"address to bind (default: {defaults.host})")
    parser.add_argument("--port", help=f"port to bind (default: {defaults.port})")
    parser.add_argument("--bundle", help="bundle directory (default: the shipped default bundle)")
    parser.add_argument("--workers", help=f"worker processes (default: {defaults.workers})")
    parser.add_argument("--http", help=f"HTTP parser, httptools or h11 (default: {defaults.http}; "
                        "h11 bounds the header section at about half the throughput)")
    parser.add_argument("--max-header-bytes", help="largest request line and header section under "
                        f"h11, in bytes (default: {DEFAULT_HEADER_BYTES})")
    parser.add_argument("--pid-file", help="write the server's process id here while it runs, for "
                        "python -m runtime.rollout (default: none)")
    return parser


def _write_pid(path: Path) -> None:
    """This process's id in ``path``, written whole (by rename): a reader never sees half."""
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.write_text(f"{os.getpid()}\n")
    os.replace(staging, path)


def main(argv: list[str] | None = None) -> int:
    # A reload asked for before serving starts changes nothing: the bundle is read after this.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    options = _parser().parse_args(argv)
    try:
        settings = Settings.load(flags=vars(options))
        from runtime.service.served import load_served

        load_served(settings)  # refuse a bad bundle or catalogue before binding the port
    except (SettingsError, BundleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from runtime.service.server import serve

    if settings.pid_file is None:
        return serve(settings)
    try:
        _write_pid(settings.pid_file)
    except OSError as exc:  # its folder is missing or not writable
        print(f"error: --pid-file {settings.pid_file}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        return serve(settings)
    finally:
        settings.pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
