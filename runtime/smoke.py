"""``python -m runtime.smoke [URL]``: call every endpoint of a running service and check the answers.

Exits 1 on the first endpoint that fails, so it can gate a rollout. It needs the
standard library only (it runs inside the serving image, or anywhere with Python),
and takes what it checks from the service itself: the example customer from the
OpenAPI document, segment names from ``/segments``, so a catalogue override passes.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

__all__ = ["SmokeFailure", "main", "run"]

# Two of the seed's sample customers, and the segment ids (the contract's numbering) they belong to.
_SAMPLES = [
    ({"CustomerID": "SMOKE-HV", "Age": 45, "Gender": "M", "City": "Mumbai", "AnnualIncome": 1200000.0,
      "TotalSpent": 750000.0, "MonthlyPurchases": 18, "AvgOrderValue": 10000.0,
      "AppTimeMinutes": 120.0, "DiscountUsage": "High", "PreferredShoppingTime": "Night"}, 1),
    ({"CustomerID": "SMOKE-PS", "Age": 30, "Gender": "F", "City": "Bangalore", "AnnualIncome": 250000.0,
      "TotalSpent": 50000.0, "MonthlyPurchases": 2, "AvgOrderValue": 1500.0, "AppTimeMinutes": 20.0,
      "DiscountUsage": "Low", "PreferredShoppingTime": "Day"}, 0),
]


class SmokeFailure(Exception):
    """An endpoint answered wrongly."""


def _call(base: str, method: str, path: str, body: object = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise SmokeFailure(f"{method} {path}: cannot reach the service ({exc})") from exc


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)


class _Service:
    def __init__(self, base: str, echo: Callable[[str], None]) -> None:
        self.base = base
        self.echo = echo

    def json(self, method: str, path: str, body: object = None) -> Any:
        """The JSON answer of a call that must answer 200."""
        status, raw = _call(self.base, method, path, body)
        self.echo(f"{method} {path} -> {status}")
        self.echo(raw.decode(errors="replace")[:2000])
        _expect(status == 200, f"{method} {path}: expected 200, got {status}")
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise SmokeFailure(f"{method} {path}: answer is not JSON") from exc


def run(base: str, echo: Callable[[str], None] = print) -> None:
    """Check every endpoint at ``base``; raises :class:`SmokeFailure` on the first wrong answer."""
    service = _Service(base, echo)
    health = service.json("GET", "/health")
    _expect(health.get("status") == "healthy", "GET /health: expected status healthy")
    _expect(health.get("models_loaded") is True, "GET /health: expected models_loaded true")
    _expect(service.json("GET", "/health/ready").get("status") == "healthy", "GET /health/ready: not ready")
    service.json("GET", "/health/live")
    info = service.json("GET", "/")
    _expect(isinstance(info, dict), "GET /: expected an object")
    names = {segment["id"]: segment["name"]
             for segment in service.json("GET", "/segments")["segments"].values()}
    _expect(set(names) >= {0, 1, 2}, f"GET /segments: expected segments 0, 1 and 2, got {sorted(names)}")
    document = service.json("GET", "/openapi.json")
    try:
        example = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"][
            "example"]
    except (KeyError, TypeError) as exc:
        raise SmokeFailure("GET /openapi.json: no example customer for POST /predict") from exc
    answer = service.json("POST", "/predict", example)
    _expect(names.get(answer.get("cluster")) == answer.get("segment_name"),
            "POST /predict: the segment name is not the catalogue's name for its cluster")
    batch = service.json("POST", "/predict/batch", [customer for customer, _ in _SAMPLES])
    found = [(p["cluster"], p["segment_name"]) for p in batch.get("predictions", [])]
    expected = [(segment, names[segment]) for _, segment in _SAMPLES]
    _expect(found == expected, f"POST /predict/batch: expected {expected} in order, got {found}")
    for path in ("/docs", "/redoc", "/metrics"):
        status, _ = _call(base, "GET", path)
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
