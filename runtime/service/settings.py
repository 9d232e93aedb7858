"""Service settings: flags and environment variables, read once and injected into the app."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.core.drift import MIN_SAMPLE
from runtime.core.shipped import DEFAULT_BUNDLE

__all__ = ["DEFAULT_BUNDLE", "ENVIRONMENT", "Settings"]

# Each setting, its environment variable and what it means (listed in the README).
ENVIRONMENT = {
    "bundle": ("SEGMENTATION_BUNDLE", "bundle directory to serve (e.g. a bundles directory's current)"),
    "pid_file": ("SEGMENTATION_PID_FILE", "file the server writes its process id to (for rollout)"),
    "catalogue": ("SEGMENTATION_CATALOGUE", "optional JSON file overriding segment names and offers"),
    "max_body_bytes": ("SEGMENTATION_MAX_BODY_BYTES", "largest request body accepted, in bytes"),
    "max_batch": ("SEGMENTATION_MAX_BATCH", "most customers in one /predict/batch request"),
    "max_concurrency": ("SEGMENTATION_MAX_CONCURRENCY", "requests handled at once before 503"),
    "log_level": ("SEGMENTATION_LOG_LEVEL", "debug, info, warning or error"),
    "log_customers": ("SEGMENTATION_LOG_CUSTOMERS", "1 to log customer ids (off by default)"),
    "cors_origins": ("SEGMENTATION_CORS_ORIGINS", "comma-separated origins allowed by CORS (none)"),
    "drift_window": ("SEGMENTATION_DRIFT_WINDOW", "customers per drift-monitoring window"),
    "drift_min_sample": ("SEGMENTATION_DRIFT_MIN_SAMPLE",
                         f"customers before /drift reports a PSI (default {MIN_SAMPLE})"),
    "drain_seconds": ("SEGMENTATION_DRAIN_SECONDS", "seconds unready before stopping on SIGTERM"),
    "grace_seconds": ("SEGMENTATION_GRACE_SECONDS", "seconds in-flight requests get to finish"),
}


@dataclass(frozen=True)
class Settings:
    bundle: Path = DEFAULT_BUNDLE
    catalogue: Path | None = None
    pid_file: Path | None = None
    max_body_bytes: int = 16 * 1024 * 1024
    max_batch: int = 10_000
    max_concurrency: int = 64
    log_level: str = "info"
    log_customers: bool = False
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    drift_window: int = 10_000
    drift_min_sample: int = MIN_SAMPLE
    drain_seconds: float = 0.0
    grace_seconds: float = 20.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``environ`` (default: the process environment), then ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, (variable, _) in ENVIRONMENT.items():
            raw = env.get(variable)
            if raw is None or raw == "":
                continue
            values[name] = _parse(name, variable, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


_LOG_LEVELS = ("debug", "info", "warning", "error")


def _parse(name: str, variable: str, raw: str) -> object:
    if name in ("bundle", "catalogue", "pid_file"):
        return Path(raw)
    if name == "cors_origins":
        return tuple(origin.strip() for origin in raw.split(",") if origin.strip())
    if name == "log_customers":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if name == "log_level":
        level = raw.strip().lower()
        if level not in _LOG_LEVELS:
            raise ValueError(f"{variable}={raw!r}: expected one of {', '.join(_LOG_LEVELS)}")
        return level
    number = int if isinstance(getattr(Settings, name), int) else float
    try:
        value = number(raw)
    except ValueError as exc:
        raise ValueError(f"{variable}={raw!r}: expected a number") from exc
    if value < 0:
        raise ValueError(f"{variable}={raw!r}: must not be negative")
    return value
