"""Deep JSON: a body nested 1,000 levels or more, anywhere, answers 400 or 422 in the error shape.

msgspec raises ``RecursionError`` (not a ``DecodeError``) at about 1,000 levels
when it has to walk the value: in a field it skips, or where any JSON is accepted.
Known, typed fields refuse the first level that does not fit.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient

from runtime.service.schemas import ErrorBody
from tests.hardening.live import customer

DEPTHS = [1_000, 100_000]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def with_field(name: str, depth: int, batch: bool) -> bytes:
    """A valid customer whose field ``name`` (known or not) holds ``depth`` nested arrays."""
    one = json.dumps({**customer(), name: "DEEP"}).replace('"DEEP"', nested(depth))
    return (f"[{one}]" if batch else one).encode()


CASES: list[tuple[str, Any]] = [
    ("unknown field", lambda depth, batch: with_field("x", depth, batch)),
    ("known field", lambda depth, batch: with_field("Age", depth, batch)),
    ("whole body", lambda depth, batch: nested(depth).encode()),
]


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(("where", "make"), CASES, ids=[case[0] for case in CASES])
def test_deep_json_answers_a_client_error_in_the_error_shape(
    client: TestClient, path: str, depth: int, where: str, make: Any
) -> None:
    response = client.post(path, content=make(depth, path.endswith("batch")),
                           headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text
    body = msgspec.json.decode(response.content, type=ErrorBody)
    assert body.error in ("malformed_json", "invalid_value")
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_a_deep_unknown_field_is_malformed_json(client: TestClient, path: str) -> None:
    response = client.post(path, content=with_field("x", 1_000, path.endswith("batch")),
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "malformed_json", "field": None,
                               "message": "JSON nested too deeply"}
