"""Reload when the bundle on disk changes: what the bundle path names, its manifest, the
catalogue override.

This is how every worker of a multi-worker service picks up a rollout (a ``current``
link moved to another version) in place, without a signal and without closing a
connection; one worker also reloads at once on SIGHUP.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from starlette.applications import Starlette

from runtime.core.bundle import MANIFEST_FILE
from runtime.service.reload import reload_model
from runtime.service.settings import Settings

__all__ = ["bundle_signature", "watch_bundle"]

Signature = tuple[object, ...]


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns, found.st_size


def bundle_signature(settings: Settings) -> Signature:
    """What identifies the bundle and catalogue that ``settings`` name, as they are now."""
    directory = Path(os.path.realpath(settings.bundle))
    catalogue = _stat(settings.catalogue) if settings.catalogue else None
    return str(directory), _stat(directory / MANIFEST_FILE), catalogue


async def watch_bundle(app: Starlette, seconds: float) -> None:
    """Every ``seconds``, reload ``app``'s model if its bundle or catalogue changed; runs until
    cancelled. A change that fails to load is refused once, and the old model serves on."""
    settings: Settings = app.state.settings
    seen = await asyncio.to_thread(bundle_signature, settings)
    while True:
        await asyncio.sleep(seconds)
        now = await asyncio.to_thread(bundle_signature, settings)
        if now != seen:
            seen = now
            await asyncio.to_thread(reload_model, app)
