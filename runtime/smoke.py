"""``python -m runtime.smoke [URL]``: call every endpoint of a running service and print the answers.

Exits 1 on the first endpoint that fails, so it can gate a rollout. It uses
the standard library only, so it runs inside the serving image too.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable

from runtime.core.customer import EXAMPLE_CUSTOMER

__all__ = ["main", "run"]

_SAMPLES = [
    {**EXAMPLE_CUSTOMER, "CustomerID": "SMOKE-HV", "Age": 45, "Gender": "M", "AnnualIncome": 1200000.0,
     "TotalSpent": 750000.0, "MonthlyPurchases": 18, "AvgOrderValue": 10000.0, "AppTimeMinutes": 120.0,
     "DiscountUsage": "High"},
    {**EXAMPLE_CUSTOMER, "CustomerID": "SMOKE-PS", "Age": 30, "Gender": "F", "City": "Bangalore",
     "AnnualIncome": 250000.0, "TotalSpent": 50000.0, "MonthlyPurchases": 2, "AvgOrderValue": 1500.0,
     "AppTimeMinutes": 20.0, "DiscountUsage": "Low", "PreferredShoppingTime": "Day"},
]


class SmokeFailure(Exception):
    """An endpoint answered wrongly."""


def _call(base: str, method: str, path: str, body: object = None) -> tuple[int, dict[str, str], bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise SmokeFailure(f"{method} {path}: cannot reach the service ({exc})") from exc


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)


def run(base: str, echo: Callable[[str], None] = print) -> None:
    """Check every endpoint at ``base``; raises :class:`SmokeFailure` on the first wrong answer."""
    checks: list[tuple[str, str, object, Callable[[object], bool], str]] = [
        ("GET", "/", None, lambda a: isinstance(a, dict) and "model_version" in a, "model info"),
        ("GET", "/health", None, lambda a: isinstance(a, dict) and a.get("model_loaded") is True,
         "model loaded"),
        ("GET", "/health/live", None, lambda a: isinstance(a, dict), "alive"),
        ("GET", "/health/ready", None, lambda a: isinstance(a, dict) and a.get("status") == "healthy",
         "ready"),
        ("GET", "/segments", None,
         lambda a: isinstance(a, dict) and a.get("total_clusters") == len(a.get("segments", ())) > 0,
         "a catalogue"),
        ("POST", "/predict", EXAMPLE_CUSTOMER,
         lambda a: isinstance(a, dict) and a.get("segment_name") == "Value-Seeking Regular",
         "the README example in Value-Seeking Regular"),
        ("POST", "/predict/batch", _SAMPLES,
         lambda a: isinstance(a, dict) and [p["cluster"] for p in a["predictions"]] == [1, 0],
         "the samples in High-Value Loyal and Price-Sensitive Occasional, in order"),
        ("GET", "/openapi.json", None, lambda a: isinstance(a, dict) and "/predict" in a["paths"],
         "an OpenAPI document listing /predict"),
    ]
    for method, path, body, check, what in checks:
        status, _, raw = _call(base, method, path, body)
        echo(f"{method} {path} -> {status}")
        echo(raw.decode(errors="replace")[:2000])
        _expect(status == 200, f"{method} {path}: expected 200, got {status}")
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise SmokeFailure(f"{method} {path}: answer is not JSON") from exc
        _expect(check(answer), f"{method} {path}: expected {what}")
    for path in ("/docs", "/redoc", "/metrics"):
        status, _, _ = _call(base, "GET", path)
        echo(f"GET {path} -> {status}")
        _expect(status == 200, f"GET {path}: expected 200, got {status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.smoke", description=__doc__)
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000", help="service base URL")
    options = parser.parse_args(argv)
    try:
        run(options.url)
    except SmokeFailure as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print("all endpoints answered as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
