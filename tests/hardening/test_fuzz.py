"""Fuzzing: schemathesis cases for every operation of the live OpenAPI document, 0 server errors.

Each operation gets schema-valid cases; the operations that take input also get
schema-violating ones. Every answer must not be a 5xx, must match its documented
schema, and must use a documented status code. The total is printed and must
reach 1,000.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.conftest import SEED
from tests.hardening.live import LiveServer

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# Per operation that takes input; operations without input have a single possible case.
EXAMPLES = {GenerationMode.POSITIVE: 330, GenerationMode.NEGATIVE: 200}
MINIMUM_CASES = 1_000


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as client:
        yield client


def _run(strategy: object, examples: int, session: requests.Session, label: str,
         counts: Counter[str]) -> None:
    @seed(SEED)
    @settings(max_examples=examples, deadline=None, database=None,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def fuzz(case: schemathesis.Case) -> None:
        counts[label] += 1
        case.call_and_validate(session=session, checks=CHECKS)

    fuzz()


def test_fuzz_every_operation(
    server: LiveServer, session: requests.Session, record_property: Callable[[str, object], None]
) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /predict", "POST /predict/batch", "GET /health"}
    counts: Counter[str] = Counter()
    for operation in operations:
        takes_input = operation.body or operation.query
        for mode, examples in EXAMPLES.items():
            if mode is GenerationMode.NEGATIVE and not takes_input:
                continue
            label = f"{operation.label} ({mode.value})"
            _run(operation.as_strategy(generation_mode=mode), examples, session, label, counts)
    total = sum(counts.values())
    record_property("fuzz_cases", total)
    print(f"\nfuzzed {total} cases (seed {SEED}): " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    assert total >= MINIMUM_CASES
    assert all(counts[f"{op.label} (positive)"] >= 1 for op in operations)
    samples = server.metrics()
    server_errors = [s for s in samples if s.name == "segmentation_requests_total"
                     and s.labels["status"].startswith("5") and s.value > 0]
    assert server_errors == []
