"""The review page in a real browser: Debian's headless Chromium against a real uvicorn server.

Keys only: Enter accepts, typing a number then Enter corrects, n marks "not stated"; then the database
holds the three decisions and the corrections export carries them. A broken identity is one item: Enter
accepts all its fields; u and Ctrl+Z take the last decision back; the counter follows without a reload.
A 50-field queue is cleared by the fastest path and its keystrokes and seconds per field are printed and
written to review-speed.json. A screenshot of the page and the speed figures are saved to the test's
tmp_path, and also to $NIANBAO_ARTIFACTS when that variable names a directory (CI's artifacts). Skipped
only when /usr/bin/chromium is absent (apt-get install chromium).
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
from test_review_groups import (
    GRANTED_ROW_FIELDS,
    MISREAD,
    OUTCOMES,
    OUTCOMES_FIELDS,
    OUTCOMES_FORMULA,
    fill_groups,
)

from nianbao.app import AppSettings, create_app, export_corrections
from nianbao.app.queue import queue_size
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
QUEUE_FIELDS = 50  # the measured queue: the broken identity's 28 fields and 22 unsure ones
GROUPED_FIELDS = OUTCOMES_FIELDS + GRANTED_ROW_FIELDS - 1  # the two groups share （一）予以公开 · 自然人
# The old page took at least one key per field. With the broken identity accepted as one decision the
# fastest path takes (2 + 22) / 50 = 0.48 keys a field: this bound fails if grouping stops paying off.
MAX_KEYS_PER_FIELD = 0.6
THRESHOLD = 0.9
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


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


@contextmanager
def chromium_page(base: str, height: int = 1400) -> Iterator[tuple[object, list[str]]]:
    """A page of Debian's headless Chromium that may load nothing but ``base``: every other request is
    aborted and listed (the list should stay empty)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    remote: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": height})

            def only_local(route) -> None:
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    remote.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            yield page, remote
        finally:
            browser.close()


def signed_in(page, base: str) -> None:
    """The queue page, the token handed over by the link, the reviewer named: the keyboard is the queue's."""
    page.goto(f"{base}/#token={TOKEN}")
    page.fill("#reviewer", "zhang")
    page.press("#reviewer", "Enter")


def keep_artifact(path: Path) -> None:
    """Copy a file the test made to $NIANBAO_ARTIFACTS (CI's artifacts) when that names a directory."""
    if os.environ.get("NIANBAO_ARTIFACTS"):
        artifacts = Path(os.environ["NIANBAO_ARTIFACTS"])
        artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, artifacts / path.name)


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
    base, store, ids = served
    with chromium_page(base) as (page, remote):
        signed_in(page, base)
        assert "#token" not in page.url  # handed to sessionStorage, then taken out of the address
        assert "group" in page.locator("article.item.current").get_attribute("class")  # broken identity
        page.keyboard.press("j")  # into its fields: each can still be decided alone
        items = page.locator("article.item[data-field]")
        first, second, third = (items.nth(i).get_attribute("data-field") for i in range(3))
        crop = page.locator(f'article[data-field="{first}"] .evidence img.crop')
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=crop.element_handle())
        above = page.locator(f'article[data-field="{first}"] .evidence img.above')  # up to the header
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=above.element_handle())

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
    assert not remote
    assert shot.stat().st_size > 10_000
    keep_artifact(shot)

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


@pytest.fixture
def groups_served(tmp_path: Path) -> Iterator[tuple[str, Store, dict[str, int]]]:
    """A 50-field queue: a document whose misread cell breaks two identities (28 fields in two groups), and
    22 unsure fields of two more documents."""
    store = Store.open(f"sqlite:///{tmp_path / 'groups.db'}")
    ids = fill_groups(store, loose=QUEUE_FIELDS - GROUPED_FIELDS)
    app = create_app(store, TOKEN, AppSettings(threshold=THRESHOLD, upload_dir=tmp_path / "uploads"))
    try:
        with running(app) as url:
            yield url, store, ids
    finally:
        store.close()


def _wait_text(page, selector: str, text: str) -> None:
    """Until the element's text holds ``text``: the page updates after its request comes back."""
    script = "([selector, text]) => document.querySelector(selector).textContent.includes(text)"
    page.wait_for_function(script, arg=[selector, text])


def _counter(page) -> tuple[str, str]:
    return page.locator("#done-count").text_content(), page.locator("#left-count").text_content()


def test_a_50_field_queue_takes_fewer_keys_than_fields(groups_served, tmp_path: Path) -> None:
    """The fastest path: Enter on each item, a broken identity's head accepting all its fields at once.
    The seconds are the page's own turnaround (request, update, focus) with no human in the loop."""
    base, store, _ids = groups_served
    with chromium_page(base) as (page, remote):
        signed_in(page, base)
        assert _counter(page) == ("0", str(QUEUE_FIELDS))
        keystrokes, started = 0, time.monotonic()
        while page.locator("article.item:not(.done)").count():
            done = page.locator("article.item.done").count()
            page.keyboard.press("Enter")
            keystrokes += 1
            page.wait_for_function("n => document.querySelectorAll('article.item.done').length > n", arg=done)
        seconds = time.monotonic() - started
        _wait_text(page, "#left-count", "0")
        assert _counter(page) == (str(QUEUE_FIELDS), "0")
    assert not remote
    speed = {
        "fields": QUEUE_FIELDS,
        "keystrokes": keystrokes,
        "keystrokes_per_field": round(keystrokes / QUEUE_FIELDS, 3),
        "seconds": round(seconds, 2),
        "seconds_per_field": round(seconds / QUEUE_FIELDS, 3),
        "old_page_keystrokes_at_least": QUEUE_FIELDS,
    }
    out = tmp_path / "review-speed.json"
    out.write_text(json.dumps(speed, indent=1) + "\n", "utf-8")
    keep_artifact(out)
    print(f"\nreview speed: {json.dumps(speed)}")
    assert keystrokes == 2 + QUEUE_FIELDS - GROUPED_FIELDS  # one per group, one per other field
    assert keystrokes / QUEUE_FIELDS <= MAX_KEYS_PER_FIELD
    with store.sessions() as session:
        reviews = session.scalars(select(ReviewRow)).all()
        assert queue_size(session, THRESHOLD) == (0, 0)
    assert len({r.field_id for r in reviews}) == len(reviews) == QUEUE_FIELDS  # each field decided once
    assert {(r.action, r.reviewer) for r in reviews} == {("accept", "zhang")}


def test_undo_and_the_counter_follow_each_decision_without_a_reload(groups_served) -> None:
    base, store, ids = groups_served
    head = f'article.group[data-group="{OUTCOMES}"]'
    formula = f"{head} .formula"
    with chromium_page(base) as (page, remote):
        signed_in(page, base)
        page.evaluate("window.notReloaded = true")
        assert page.locator(head).get_attribute("class").split()[-1] == "current"
        assert page.locator(formula).text_content() == OUTCOMES_FORMULA
        items = page.locator("article.item[data-field]")
        assert page.locator("article.item[data-field] a.doc-link").count() == items.count() == QUEUE_FIELDS
        link = page.locator(f'article[data-doc="{ids["broken"]}"] a.doc-link').first.get_attribute("href")
        assert link.startswith(f"/documents/{ids['broken']}/view#f")

        page.keyboard.press("Enter")  # the whole identity, accepted as printed
        page.wait_for_selector(f"{head}.done")
        _wait_text(page, "#left-count", str(QUEUE_FIELDS - OUTCOMES_FIELDS))
        assert _counter(page) == (str(OUTCOMES_FIELDS), str(QUEUE_FIELDS - OUTCOMES_FIELDS))
        page.keyboard.press("u")  # taken back: every field of it waits again
        page.wait_for_selector(f"{head}:not(.done)")
        _wait_text(page, "#left-count", str(QUEUE_FIELDS))
        assert _counter(page) == ("0", str(QUEUE_FIELDS))
        assert page.locator(f'article.member[data-group="{OUTCOMES}"].done').count() == 0
        assert "current" in page.locator(head).get_attribute("class")

        page.keyboard.press("j")  # （七）总计 · 自然人
        page.keyboard.press("j")  # （一）予以公开 · 自然人: the misread cell, corrected alone
        misread = page.locator("article.item.current")
        assert misread.get_attribute("data-key") == MISREAD
        page.keyboard.type("3")
        page.keyboard.press("Enter")
        page.wait_for_selector(f'article[data-key="{MISREAD}"].done')
        _wait_text(page, formula, "（七）总计 = （一）")  # the group's formula mends as the page stands
        assert _counter(page) == ("1", str(QUEUE_FIELDS - 1))
        page.keyboard.press("Control+z")
        page.wait_for_selector(f'article[data-key="{MISREAD}"]:not(.done)')
        _wait_text(page, formula, OUTCOMES_FORMULA)
        assert misread.locator(".value").text_content() == "2"
        _wait_text(page, "#left-count", str(QUEUE_FIELDS))
        assert _counter(page) == ("0", str(QUEUE_FIELDS))
        assert page.evaluate("window.notReloaded")
    assert not remote
    with store.sessions() as session:
        trail = [r.action for r in session.scalars(select(ReviewRow).order_by(ReviewRow.id))]
        assert queue_size(session, THRESHOLD)[1] == QUEUE_FIELDS  # all wait again
    assert trail == ["accept"] * OUTCOMES_FIELDS + ["undo"] * OUTCOMES_FIELDS + ["correct", "undo"]
