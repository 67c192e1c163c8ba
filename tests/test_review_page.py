"""The review page in a real browser: Debian's headless Chromium against a real uvicorn server.

Keys only: Enter accepts, typing a number then Enter corrects, n marks "not stated"; then the database
holds the three decisions and the corrections export carries them. A screenshot of the page is saved
to the test's tmp_path, and also to $NIANBAO_ARTIFACTS/review-page.png when that variable names a
directory (CI's artifacts). Skipped only when /usr/bin/chromium is absent (apt-get install chromium).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select
from test_app import fill_store

from nianbao.app import AppSettings, create_app, export_corrections
from nianbao.extraction.pipeline import Extractor
from nianbao.store import FieldRow, ReviewRow, Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "page-token"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running(app) -> Iterator[str]:
    """The app served by uvicorn on a free localhost port, for as long as the block runs."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def served(tmp_path: Path, extractor: Extractor) -> Iterator[tuple[str, Store, dict[str, int]]]:
    """A uvicorn server on a free localhost port over a store holding a PDF and a Markdown report."""
    store = Store.open(f"sqlite:///{tmp_path / 'page.db'}")
    ids = fill_store(store, extractor)
    app = create_app(store, TOKEN, AppSettings(upload_dir=tmp_path / "uploads"))
    try:
        with running(app) as url:
            yield url, store, ids
    finally:
        store.close()


def test_keyboard_review_reaches_the_database_and_the_export(served, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    base, store, ids = served
    remote: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1400})

            def only_local(route) -> None:  # the page must need nothing from the network
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    remote.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(f"{base}/#token={TOKEN}")
            assert "#token" not in page.url  # handed to sessionStorage, then taken out of the address
            page.fill("#reviewer", "zhang")
            page.press("#reviewer", "Enter")  # the form hands the keyboard to the queue
            items = page.locator("article.item")
            first, second, third = (items.nth(i).get_attribute("data-field") for i in range(3))
            crop = page.locator(f'article[data-field="{first}"] .evidence img')
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=crop.element_handle())

            page.keyboard.press("Enter")
            page.wait_for_selector(f'article[data-field="{first}"].done')
            page.keyboard.type("42")
            check = page.locator(f'article[data-field="{second}"] .check')
            # the identity check re-runs on the typed value
            page.wait_for_function("el => el.textContent.startsWith('with 42:')", arg=check.element_handle())
            assert "identities hold" in check.text_content() or "breaks s3." in check.text_content()
            page.keyboard.press("Enter")
            page.wait_for_selector(f'article[data-field="{second}"].done')
            page.keyboard.press("n")
            page.wait_for_selector(f'article[data-field="{third}"].done')

            markdown = page.locator(f'section.doc[data-doc="{ids[".md"]}"]')
            markdown.locator("article.item").first.click()
            page.keyboard.press("Enter")  # its only field: the document is done
            page.wait_for_selector(f'section.doc[data-doc="{ids[".md"]}"].complete')
            assert "done" in markdown.locator(".remaining").text_content()

            shot = tmp_path / "review-page.png"
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert not remote
    assert shot.stat().st_size > 10_000
    if os.environ.get("NIANBAO_ARTIFACTS"):
        artifacts = Path(os.environ["NIANBAO_ARTIFACTS"])
        artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, artifacts / "review-page.png")

    with store.sessions() as session:
        reviews = session.scalars(select(ReviewRow).order_by(ReviewRow.id)).all()
        decided = [(str(r.field_id), r.action, r.new_value, r.reviewer) for r in reviews]
        accepted_value = session.get(FieldRow, int(first)).value
        md_field = session.scalar(select(FieldRow).where(FieldRow.id == reviews[-1].field_id))
        assert md_field.extraction.document_id == ids[".md"]
    assert decided[:3] == [
        (first, "accept", accepted_value, "zhang"),
        (second, "correct", 42, "zhang"),
        (third, "not_stated", None, "zhang"),
    ]
    out = tmp_path / "corrections.jsonl"
    assert export_corrections(store, out) == 4
    lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [(line["value"], line["reviewer"]) for line in lines[:3]] == [
        (accepted_value, "zhang"),
        (42, "zhang"),
        (None, "zhang"),
    ]
