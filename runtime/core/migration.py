"""The migration verdict: how many customers a new bundle moves between segments, against a limit.

``python -m training compare OLD NEW --data EXPORT`` writes it beside the new
bundle as ``migration.json`` (with ``migration.md`` and its figure); the
rollout's promote step reads it back through :func:`read_migration`, shows the
verdict, and refuses a failed one unless forced. One definition for both sides.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import msgspec

from runtime.core.bundle import BundleRef

__all__ = ["MIGRATION_FILE", "Migration", "MigrationError", "encode_migration", "read_migration"]

MIGRATION_FILE = "migration.json"

Share = Annotated[float, msgspec.Meta(ge=0, le=1)]
Count = Annotated[int, msgspec.Meta(ge=0)]


class MigrationError(Exception):
    """No usable verdict: the file is absent, invalid, or about another bundle."""


class Migration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The comparison of two bundles on one export, and its verdict.

    ``movement[i][j]`` counts the export's customers in segment ``i`` under the
    old bundle and ``j`` under the new one; ``moved`` is every customer off the
    diagonal. ``passed`` is ``moved_share <= limit``.
    """

    old: BundleRef
    new: BundleRef
    export_file: str
    export_sha256: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
    compared_at: str
    customers: Count
    moved: Count
    moved_share: Share
    limit: Share
    passed: bool
    movement: list[list[Count]]

    def summary(self) -> str:
        """The verdict in one line, as the compare command and the promote step print it."""
        status = "passed" if self.passed else "FAILED"
        return (f"{status}: {self.moved} of {self.customers} customers ({self.moved_share:.2%}) "
                f"change segment from {self.old.version} to {self.new.version}, "
                f"limit {self.limit:.2%} (on {self.export_file})")


_decoder = msgspec.json.Decoder(Migration)


def encode_migration(migration: Migration) -> bytes:
    """The verdict as indented JSON, as it is written beside the bundle."""
    return msgspec.json.format(msgspec.json.encode(migration)) + b"\n"


def read_migration(directory: str | os.PathLike[str], arrays_sha256: str | None = None) -> Migration:
    """The verdict written beside the bundle in ``directory``.

    With ``arrays_sha256`` (the bundle's checksum), a verdict about other arrays
    (the bundle was retrained after the comparison) is refused.
    """
    path = Path(directory) / MIGRATION_FILE
    try:
        migration = _decoder.decode(path.read_bytes())
    except FileNotFoundError as exc:
        raise MigrationError(
            f"{path}: no migration verdict (run python -m training compare first)"
        ) from exc
    except OSError as exc:
        raise MigrationError(f"{path}: cannot read the migration verdict ({exc.strerror})") from exc
    except msgspec.DecodeError as exc:
        raise MigrationError(f"{path}: invalid migration verdict: {exc}") from exc
    if arrays_sha256 is not None and migration.new.arrays_sha256 != arrays_sha256:
        raise MigrationError(
            f"{path}: the verdict is about arrays {migration.new.arrays_sha256}, "
            f"the bundle holds {arrays_sha256} (compare again)"
        )
    return migration
