"""The review page's agency/year editor in a real browser (Debian's headless Chromium, a real uvicorn
server): a document whose agency is in doubt is an item of the queue; the reviewer sets the agency with
the keyboard, the cross-year check re-runs, and the fields it flagged wait in the queue.
Skipped when /usr/bin/chromium is absent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from test_crossyear import FORWARD, OVER, add, field_id, record
from test_review_page import CHROMIUM, CHROMIUM_ARGS, running

from nianbao.app import AppSettings, create_app
from nianbao.store import CheckFlagRow, MetaReviewRow, ReviewRow, Store

TOKEN = "meta-token"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Store, dict[str, int]]]:
    """Agency X's 2023 report, and a 2024 report whose agency the extractor was unsure of."""
    store = Store.open(f"sqlite:///{tmp_path / 'meta.db'}")
    doubt = {"field": "meta.agency", "kind": "meta_uncertain", "detail": "title and opening differ"}
    ids = {
        "2023": add(store, "x2023", record("X市财政局", 2023, forward={"total": 3})),
        "2024": add(store, "x2024", record("X市政府", 2024, over={"total": 2}, flags=[doubt])),
    }
    settings = AppSettings(threshold=0.9, upload_dir=tmp_path / "uploads")
    app = create_app(store, TOKEN, settings)
    try:
        with running(app) as url:
            yield url, store, ids
    finally:
        store.close()


def test_the_reviewer_sets_the_agency_and_the_flagged_fields_follow(served) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    base, store, ids = served
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.goto(f"{base}/#token={TOKEN}")
            page.fill("#reviewer", "zhang")
            page.press("#reviewer", "Enter")
            meta_item = page.locator("article.meta-item")
            assert meta_item.count() == 1 and "current" in meta_item.get_attribute("class")
            assert page.locator("article.item").count() == 1  # no field waits yet

            page.keyboard.press("e")  # edit: the agency input takes the keyboard
            agency = meta_item.locator(".meta-agency")
            assert agency.evaluate("el => el === document.activeElement")
            page.keyboard.press("Control+a")
            page.keyboard.insert_text("X市财政局")
            page.keyboard.press("Enter")
            page.wait_for_selector("article.meta-item.done")
            assert (
                "X市财政局 · 2024"
                in page.locator(f'section[data-doc="{ids["2024"]}"] .meta-line').text_content()
            )
            assert "1 breaks" in page.locator("#status").text_content()

            page.reload()  # the fields the check flagged are in the queue now
            items = page.locator("article.item")
            assert sorted(items.nth(i).get_attribute("data-key") for i in range(items.count())) == [
                FORWARD,
                OVER,
            ]
            assert "cross year mismatch" in page.text_content("main")
            page.click("main")
            page.keyboard.press("j")
            page.keyboard.press("k")
            page.keyboard.press("m")  # any document's agency and year: the editor opens, Esc closes it
            form = page.locator("article.item.current").locator("xpath=ancestor::section").locator("form")
            assert form.is_visible()
            page.keyboard.press("Escape")
            assert form.is_hidden()
            first = page.locator("article.item.current").get_attribute("data-field")
            page.keyboard.press("Enter")  # the keyboard flow is unchanged: Enter accepts
            page.wait_for_selector(f'article[data-field="{first}"].done')
        finally:
            browser.close()

    with store.sessions() as session:
        meta = session.scalars(select(MetaReviewRow)).all()
        assert [(m.document_id, m.key, m.action, m.new_value, m.reviewer) for m in meta] == [
            (ids["2024"], "agency", "correct", "X市财政局", "zhang")
        ]
        flagged = set(session.scalars(select(CheckFlagRow.field_id)))
        reviewed = session.scalars(select(ReviewRow)).all()
    assert flagged == {field_id(store, ids["2023"], FORWARD), field_id(store, ids["2024"], OVER)}
    assert [(r.field_id, r.action, r.reviewer) for r in reviewed] == [(int(first), "accept", "zhang")]
