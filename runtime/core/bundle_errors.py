"""The bundle's errors: one hierarchy, every message naming the file and the field.

::

    BundleError
    ├── BundleFormatError      unknown format version, unreadable or invalid manifest
    ├── BundleChecksumError    the arrays file is not the one the manifest describes
    ├── BundleMissingError     a file of the bundle is absent, truncated, or not a file to read
    └── BundleShapeError       arrays disagree with the manifest, or hold non-finite numbers
"""

from __future__ import annotations

__all__ = [
    "BundleChecksumError",
    "BundleError",
    "BundleFormatError",
    "BundleMissingError",
    "BundleShapeError",
]


class BundleError(Exception):
    """A bundle cannot be loaded; the message names the file and what is wrong."""


class BundleFormatError(BundleError):
    """Unknown format version, or a manifest that is not valid."""


class BundleChecksumError(BundleError):
    """The arrays file's SHA-256 differs from the manifest's."""


class BundleMissingError(BundleError):
    """A file of the bundle is absent, truncated, or not a regular file inside the bundle."""


class BundleShapeError(BundleError):
    """An array's shape disagrees with the manifest, or it holds non-finite numbers."""
