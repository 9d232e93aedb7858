"""A live service for the tests that talk to it as its clients do, over a real socket."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.ship.service import free_port, running


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of ``python -m runtime``, started for the module."""
    port = free_port()
    log = tmp_path_factory.mktemp("live") / "service.log"
    with running([sys.executable, "-m", "runtime", "--port", str(port)], port, cwd=ROOT,
                 log=log) as base:
        yield base
