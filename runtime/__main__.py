"""``python -m runtime``: serve a model bundle over HTTP."""

from __future__ import annotations

import argparse
import signal
import sys

from runtime.core.bundle import BundleError
from runtime.service.settings import ENVIRONMENT, Settings, SettingsError


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
    return parser


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

    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
