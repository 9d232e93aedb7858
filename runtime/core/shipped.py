"""Where the bundles shipped with the package are: found from the package, never from the
working directory, so that every command works from any folder."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_BUNDLE", "SHIPPED_BUNDLES"]


def _shipped_bundles() -> Path:
    """Beside the package in a checkout (``artifacts/customer-segmentation``), inside it
    (``runtime/bundles``, see pyproject.toml) once installed."""
    package = Path(__file__).resolve().parents[1]
    checkout = package.parent / "artifacts" / "customer-segmentation"
    return checkout if checkout.is_dir() else package / "bundles"


SHIPPED_BUNDLES = _shipped_bundles()
DEFAULT_BUNDLE = SHIPPED_BUNDLES / "1.0.0"
