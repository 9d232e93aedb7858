"""Service settings: one struct, filled once from flags and environment variables.

Each setting has a ``SEGMENTATION_*`` variable; command-line flags win over the
environment. Values are converted and checked by msgspec against the struct's
constraints, so a bad value fails with one line naming the flag or variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import msgspec
from msgspec import Meta

from runtime.core.drift import MIN_SAMPLE
from runtime.core.shipped import DEFAULT_BUNDLE

__all__ = ["DEFAULT_BUNDLE", "DEFAULT_HEADER_BYTES", "ENVIRONMENT", "Settings", "SettingsError"]

DEFAULT_HEADER_BYTES = 64 * 1024  # twice what nginx admits by default (4 buffers of 8 KiB)


# Each setting's environment variable and what it means (listed in --help and the README).
ENVIRONMENT = {
    "bundle": ("SEGMENTATION_BUNDLE",
               "bundle directory to serve (a bundles directory's current, to roll out)"),
    "pid_file": ("SEGMENTATION_PID_FILE", "file the server writes its process id to while it runs"),
    "catalogue": ("SEGMENTATION_CATALOGUE", "optional JSON file overriding segment names and offers"),
    "host": ("SEGMENTATION_HOST", "address to bind"),
    "port": ("SEGMENTATION_PORT", "port to bind, 1 to 65535"),
    "workers": ("SEGMENTATION_WORKERS", "worker processes, 1 to 64"),
    "max_body_bytes": ("SEGMENTATION_MAX_BODY_BYTES",
                       "largest request body accepted, in bytes (default: 1 KiB per customer of a batch)"),
    "http": ("SEGMENTATION_HTTP", "HTTP parser: httptools (fastest) or h11 (bounds the header section)"),
    "max_header_bytes": ("SEGMENTATION_MAX_HEADER_BYTES",
                         "largest request line and header section, in bytes, 1024 to 1 MiB (h11 only)"),
    "max_batch": ("SEGMENTATION_MAX_BATCH", "most customers in one /predict/batch request"),
    "max_concurrency": ("SEGMENTATION_MAX_CONCURRENCY", "requests handled at once before 503"),
    "log_level": ("SEGMENTATION_LOG_LEVEL", "debug, info, warning or error"),
    "access_log": ("SEGMENTATION_ACCESS_LOG", "false to stop logging one line per request"),
    "log_customers": ("SEGMENTATION_LOG_CUSTOMERS", "true to log customer ids (off by default)"),
    "cors_origins": ("SEGMENTATION_CORS_ORIGINS", "comma-separated origins allowed by CORS (none)"),
    "drift_window": ("SEGMENTATION_DRIFT_WINDOW", "customers per drift-monitoring window"),
    "drift_min_sample": ("SEGMENTATION_DRIFT_MIN_SAMPLE",
                         "customers in the window before /drift reports a PSI"),
    "grace_seconds": ("SEGMENTATION_GRACE_SECONDS", "seconds in-flight requests get to finish on SIGTERM"),
    "body_seconds": ("SEGMENTATION_BODY_SECONDS",
                     "seconds a request body has to arrive in full, once read, before 408"),
    "gc_freeze": ("SEGMENTATION_GC_FREEZE",
                  "false to leave start-up objects in the garbage collector's full collections"),
    "watch_seconds": ("SEGMENTATION_WATCH_SECONDS",
                      "seconds between checks for a changed bundle or catalogue, reloaded in place (0: off)"),
}

Seconds = Annotated[float, Meta(ge=0, le=3600)]


class SettingsError(ValueError):
    """A flag or variable holds a value the service cannot run with; the message names it."""


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    bundle: Path = DEFAULT_BUNDLE
    catalogue: Path | None = None
    pid_file: Path | None = None
    host: Annotated[str, Meta(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    workers: Annotated[int, Meta(ge=1, le=64)] = 1
    max_body_bytes: Annotated[int, Meta(ge=1024, le=1 << 30)] | None = None
    # httptools has no header bound and uvicorn no option for one; h11 has (docs/security.md)
    http: Literal["httptools", "h11"] = "httptools"
    max_header_bytes: Annotated[int, Meta(ge=1024, le=1 << 20)] | None = None
    max_batch: Annotated[int, Meta(ge=1, le=1_000_000)] = 10_000
    max_concurrency: Annotated[int, Meta(ge=1, le=100_000)] = 64
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True
    log_customers: bool = False
    cors_origins: tuple[str, ...] = ()
    drift_window: Annotated[int, Meta(ge=1, le=100_000_000)] = 10_000
    drift_min_sample: Annotated[int, Meta(ge=1, le=100_000_000)] = MIN_SAMPLE
    grace_seconds: Seconds = 20.0
    gc_freeze: bool = True
    watch_seconds: Seconds = 2.0
    # a body not in full this long after the first read gets 408 (middleware.body_deadline)
    body_seconds: Annotated[float, Meta(gt=0, le=3600)] = 10.0

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, flags: Mapping[str, Any] | None = None
    ) -> Settings:
        """Settings from ``environ`` (default: the process environment), then ``flags``
        (setting name to value; ``None`` means not given). Raises :class:`SettingsError`."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name, (variable, _) in ENVIRONMENT.items():
            raw = env.get(variable, "")
            if raw.strip():
                values[name] = _split(name, raw)
                sources[name] = f"{variable}={raw!r}"
        for name, value in (flags or {}).items():
            if value is not None:
                values[name] = value
                sources[name] = f"--{name.replace('_', '-')} {value!r}"
        try:
            return msgspec.convert(values, cls, strict=False, dec_hook=_paths)
        except msgspec.ValidationError as exc:
            raise SettingsError(_named(str(exc), sources)) from exc

    @property
    def body_limit(self) -> int:
        """The largest body accepted: as set, else room for a full batch at 1 KiB a customer
        (three times a typical customer's JSON), so no body holds far more than a batch."""
        return self.max_body_bytes or 1024 * self.max_batch + 64 * 1024

    @property
    def header_limit(self) -> int | None:
        """The largest request line and header section accepted: as set, else 64 KiB, under
        h11; ``None`` under httptools, which bounds neither."""
        return (self.max_header_bytes or DEFAULT_HEADER_BYTES) if self.http == "h11" else None

    def environ(self) -> dict[str, str]:
        """These settings as environment variables: how worker processes receive them."""
        values = msgspec.to_builtins(self, enc_hook=str)
        environ = {}
        for name, (variable, _) in ENVIRONMENT.items():
            value = values[name]
            if isinstance(value, list | tuple):
                value = ",".join(value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            if value is not None:
                environ[variable] = str(value)
        return environ


def _split(name: str, raw: str) -> Any:
    if name == "cors_origins":
        return [origin.strip() for origin in raw.split(",") if origin.strip()]
    return raw.strip()


def _paths(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(f"cannot convert to {kind}")


def _named(message: str, sources: Mapping[str, str]) -> str:
    """msgspec's message, with ``$.port`` replaced by the flag or variable that set it, and its value."""
    reason, _, path = message.rpartition(" - at `$.")
    if not reason:
        return message
    name = path.rstrip("`").split("[")[0].split(".")[0]
    field = next((f for f in _SETTINGS_INFO.fields if f.name == name), None)
    if field is not None and isinstance(field.type, msgspec.inspect.LiteralType):
        reason += f", expected one of {', '.join(map(str, field.type.values))}"
    return f"{sources.get(name, name)}: {reason}"


_SETTINGS_INFO = cast(msgspec.inspect.StructType, msgspec.inspect.type_info(Settings))
