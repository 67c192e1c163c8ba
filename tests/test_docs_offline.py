"""The API docs work without internet: /docs (Swagger UI) loads every asset from the server itself
(fastapi-offline's bundled copy), and no HTML page of the app names an outside host, so a reviewer on a
machine with no network still gets a working page instead of a blank one. /redoc is off: ReDoc's bundle
always fetches its logo from its vendor's CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount
from test_review_page import CHROMIUM, CHROMIUM_ARGS, running

from nianbao.app import AppSettings, create_app
from nianbao.store import Store

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

APP_DIR = Path(__file__).resolve().parents[1] / "nianbao" / "app"
LOCAL = "http://localhost"  # a host the app allows: the test client names it in its Host header
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]"}
# An absolute URL, or a protocol-relative one in an attribute (src="//cdn…"): both load from elsewhere.
OUTSIDE_URL = re.compile(r"""https?://([^/\s"'<>)]+)|(?:src|href)\s*=\s*["']//([^/\s"'<>]+)""", re.I)


def _outside_hosts(text: str) -> set[str]:
    """Hosts other than the local server that ``text`` points at."""
    hosts = {(a or b).lower() for a, b in OUTSIDE_URL.findall(text)}
    return {h for h in hosts if h.rsplit(":", 1)[0] not in LOCAL_HOSTS and h not in LOCAL_HOSTS}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    """The real app over an empty store: the docs need no documents, and an empty store starts fast."""
    store = Store.open(f"sqlite:///{tmp_path / 'docs.db'}")
    try:
        yield create_app(store, None, AppSettings(upload_dir=tmp_path / "uploads"))
    finally:
        store.close()


def test_no_html_page_names_an_outside_host(app: FastAPI) -> None:
    """Every page a GET without auth or parameters reaches, HTML pages checked for outside URLs."""
    client = TestClient(app, base_url=LOCAL)
    pages: dict[str, set[str]] = {}
    for route in iter_route_contexts(app.routes):  # the routes of included routers too
        path = route.path or ""
        if isinstance(route.original_route, Mount) or "GET" not in (route.methods or ()) or "{" in path:
            continue
        response = client.get(path)
        if response.status_code == 200 and response.headers["content-type"].startswith("text/html"):
            pages[path] = _outside_hosts(response.text)
    assert {"/", "/docs"} <= set(pages)
    assert {path: hosts for path, hosts in pages.items() if hosts} == {}
    assert client.get("/redoc").status_code == 404  # off: ReDoc would fetch its logo from a CDN
    # The review page's own template and assets, which the pages above pull in.
    for source in [*APP_DIR.joinpath("templates").iterdir(), *APP_DIR.joinpath("static").iterdir()]:
        assert not _outside_hosts(source.read_text(encoding="utf-8")), source.name


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_docs_render_in_a_browser_with_no_outside_request(app: FastAPI) -> None:
    """Swagger UI draws the app's routes while every request to another host is refused."""
    sync_api = pytest.importorskip("playwright.sync_api")
    routes = set(app.openapi()["paths"])
    remote: list[str] = []
    with running(app) as base, sync_api.sync_playwright() as playwright:
        local = urlsplit(base).netloc
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()

            def only_local(route) -> None:
                """Let the server's own URLs through; record and refuse any other host."""
                url = urlsplit(route.request.url)
                if url.scheme in ("data", "blob") or url.netloc == local:
                    route.continue_()
                else:
                    remote.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(f"{base}/docs")  # waits for the load event: the page's scripts and CSS are asked for
            assert remote == []
            page.wait_for_selector(".opblock-summary-path", timeout=15_000)
            shown = page.eval_on_selector_all(
                ".opblock-summary-path",
                "els => els.map(e => e.dataset.path || e.textContent.replace(/\\u200b/g, ''))",
            )
            assert routes & set(shown), shown
            assert page.locator(".info .title").first.is_visible()
        finally:
            browser.close()
    assert remote == []
