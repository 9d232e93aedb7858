"""The interactive docs in a real browser: headless Debian Chromium driven by Playwright.

Every request the pages make is routed: loopback ones go through, any other is aborted
and recorded, so the test shows what the docs would fetch from the internet.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from tests.ship import service

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SEGMENT_NAMES = ("Price-Sensitive Occasional", "High-Value Loyal", "Value-Seeking Regular")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(120),
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"{CHROMIUM} absent: scripts/test installs Debian's chromium"),
]


@dataclass
class Browsing:
    base: str
    browser: Browser
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def page(self) -> Page:
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        context.route("**/*", self._route)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def _route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == service.HOST:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = service.free_port()
    log = tmp_path_factory.mktemp("browser-service") / "service.log"
    command = [sys.executable, "-m", "runtime", "--host", service.HOST, "--port", str(port)]
    with service.running(command, port, cwd=ROOT, log=log) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browsing(base_url: str, browser: Browser) -> Iterator[Browsing]:
    session = Browsing(base=base_url, browser=browser)
    yield session
    for context in browser.contexts:
        context.close()


def _expected_segment(base: str, body: str) -> str:
    status, answer = service.get(f"{base}/predict", body.encode())
    assert status == 200, answer
    name: str = json.loads(answer)["segment_name"]
    assert name in SEGMENT_NAMES
    return name


def test_swagger_ui_tries_predict(browsing: Browsing, tmp_path: Path) -> None:
    page = browsing.page()
    page.goto(f"{browsing.base}/docs")
    operation = page.locator("#operations-predict-predict")
    expect(operation.locator(".opblock-summary-path")).to_have_text("/predict")
    page.screenshot(path=tmp_path / "swagger.png")

    operation.locator(".opblock-summary").click()
    example = operation.locator(".opblock-section-request-body")
    expect(example).to_contain_text("CustomerID")
    operation.get_by_role("button", name="Try it out").click()
    body = operation.locator(".body-param textarea").input_value()
    assert "CustomerID" in body
    expected = _expected_segment(browsing.base, body)

    operation.get_by_role("button", name="Execute").click()
    live = operation.locator(".live-responses-table")
    expect(live.locator("tbody .response-col_status").first).to_have_text("200")
    expect(live.locator("tbody .response-col_description").first).to_contain_text(expected)
    live.scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "swagger-executed.png")
    assert browsing.errors == []
    assert browsing.outside == [], f"Swagger UI asked outside hosts: {browsing.outside}"


def test_redoc_lists_predict(browsing: Browsing, tmp_path: Path) -> None:
    page = browsing.page()
    page.goto(f"{browsing.base}/redoc")
    menu = page.locator("[role=menu]").first
    expect(menu).to_contain_text("Segment and offers for one customer")
    section = page.locator("[data-section-id='operation/predict']")
    expect(section).to_contain_text("/predict")
    expect(section).to_contain_text("CustomerID")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=tmp_path / "redoc.png")
    section.scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "redoc-predict.png")
    assert browsing.errors == []
    # ReDoc's footer would fetch Redocly's logo from a CDN; the page's CSP keeps it home.
    assert browsing.outside == [], f"ReDoc asked outside hosts: {browsing.outside}"


def test_no_page_reaches_outside_loopback(browsing: Browsing) -> None:
    page = browsing.page()
    for path in ("/docs", "/redoc", "/openapi.json", "/"):
        page.goto(f"{browsing.base}{path}")
        page.wait_for_load_state("networkidle")
    hosts = {str(urlsplit(url).hostname) for url in browsing.outside}
    assert hosts == set(), f"requests to {sorted(hosts)}: {browsing.outside}"
