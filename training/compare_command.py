"""``python -m training compare OLD NEW --data PATH``: the migration report before a promotion.

Exit status: 0 when the share of customers that change segment is within the
limit, 3 past it (the report is written either way), 1 when the bundles or the
export cannot be read, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from runtime.core.bundle import BundleError, load_bundle
from runtime.scoring.export import ExportError, read_export

__all__ = ["DEFAULT_LIMIT", "FAILED", "main"]

# A routine retrain that moves more than one customer in twenty has changed the
# segments themselves: campaigns should hear of it before it serves.
DEFAULT_LIMIT = 0.05
FAILED = 3


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training compare",
        description="Assign an export with two bundles and write, beside the new bundle, "
        "migration.md (movement matrix, centroid shift, silhouette and stability side by side), "
        "migration.png and the verdict migration.json. Exits 3 when more customers change "
        "segment than the limit allows.",
    )
    parser.add_argument("old", type=Path, help="the bundle in production")
    parser.add_argument("new", type=Path, help="the candidate bundle (the report goes there)")
    parser.add_argument("--data", required=True, type=Path, help="customer export (CSV, as delivered)")
    parser.add_argument("--max-moved", type=_share, default=DEFAULT_LIMIT, metavar="SHARE",
                        help=f"largest share of customers that may change segment "
                        f"(default: {DEFAULT_LIMIT})")
    return parser


def main(argv: list[str]) -> int:
    options = _parser().parse_args(argv)
    from training.compare import compare  # scikit-learn loads only once the arguments are valid
    from training.migration import verdict, write_migration

    if options.old.resolve() == options.new.resolve():
        print(f"error: {options.new}: OLD and NEW are the same bundle; nothing to compare",
              file=sys.stderr)
        return 2
    try:
        old, new = load_bundle(options.old), load_bundle(options.new)
        export = read_export(options.data)
        with open(options.data, "rb") as file:
            export_sha256 = hashlib.file_digest(file, "sha256").hexdigest()
        try:
            comparison = compare(old, new, export)
        except ValueError as exc:
            raise ValueError(f"{options.data}: {exc}") from exc
        migration = verdict(comparison, options.max_moved, options.data.name, export_sha256)
        written = write_migration(comparison, migration)
    except (BundleError, ExportError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{migration.summary()}; report in {written[0]}")
    return 0 if migration.passed else FAILED
