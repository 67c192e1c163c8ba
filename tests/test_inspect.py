"""``nianbao inspect``: one self-contained HTML page per document, cells coloured by the field filed.

A synthesized text PDF (ruled tables, no OCR) and a bundled Markdown sample go through ``nianbao.cli.main``;
each filed field must have exactly one element on the page, and the page must reference no host. The
PDF's page is then opened in Debian's headless Chromium: the overlay elements are counted, and a
screenshot (saved to the test's tmp_path, and to $NIANBAO_ARTIFACTS/inspect-page.png when that variable
names a directory, as tests/test_review_page.py does) must show the filed cells in colour over a
grayscale page. The browser test is skipped only when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup
from PIL import Image
from test_review_page import CHROMIUM, CHROMIUM_ARGS, keep_artifact

from nianbao.cli import main
from nianbao.evaluation.synth.corpus import write_corpus
from nianbao.extraction.document import TableBlock
from nianbao.extraction.pipeline import Extractor, empty_record
from nianbao.extraction.readers import read
from nianbao.inspect import render
from nianbao.inspect_views import Inspection

ROOT = Path(__file__).resolve().parents[1]
MARKDOWN = ROOT / "data" / "samples" / "syn_md_1827522633.md"
PDF_SEED = 4242
# The page image is grayscale: a pixel whose channels differ this much was painted by the overlay.
COLOURED_SPREAD = 30
FILED_COLOURED_SHARE = 0.6  # of the pixels inside the filed cells (the print's strokes darken some)
UNFILED_COLOURED_SHARE = 0.1  # of the rest of the page: table rules, a dashed row outline at most
UNKNOWN_ROW = "<tr><td>天气预报播报次数</td><td>7</td><td>7</td><td>7</td></tr>"  # no template row
HOST = re.compile(r"https?://", re.IGNORECASE)


def run_inspect(capsys: pytest.CaptureFixture, *argv: str | Path) -> tuple[int, list[Path]]:
    """``nianbao inspect`` through the CLI; its exit status and the pages it says it wrote."""
    status = main(["inspect", *map(str, argv)])
    return status, [Path(line) for line in capsys.readouterr().out.splitlines() if line]


def filed_elements(html: str) -> dict[str, list]:
    """The elements of the page that stand for a filed field, by field key."""
    found: dict[str, list] = {}
    for element in BeautifulSoup(html, "lxml").select(".filed[data-field]"):
        found.setdefault(element["data-field"], []).append(element)
    return found


def assert_self_contained(html: str) -> None:
    """Every image and style comes with the page (data: URIs, inline CSS): no host is referenced. The
    reports themselves print no address, so none may appear anywhere."""
    soup = BeautifulSoup(html, "lxml")
    for element in soup.find_all(src=True) + soup.find_all(href=True):
        reference = element.get("src") or element.get("href")
        assert reference.startswith(("data:", "#")), reference
    assert not soup.find_all(["script", "link", "iframe", "object", "embed"]), "the page loads nothing"
    assert "url(" not in html and "@import" not in html
    assert not HOST.search(html), HOST.search(html)


@pytest.fixture(scope="module")
def text_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    (pdf,) = write_corpus(tmp_path_factory.mktemp("corpus"), 1, ["pdf"], PDF_SEED)
    return pdf


def test_markdown_page_files_each_field_once_on_its_printed_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture, extractor: Extractor
) -> None:
    record, evidence = extractor.extract_with_evidence(MARKDOWN)
    status, pages = run_inspect(capsys, MARKDOWN, "-o", tmp_path / "out")
    assert status == 0 and pages == [tmp_path / "out" / f"{MARKDOWN.name}.html"]
    html = pages[0].read_text("utf-8")
    assert_self_contained(html)
    found = filed_elements(html)
    assert evidence and sorted(found) == sorted(evidence)
    for key, cell in evidence.items():
        (element,) = found[key]
        assert element.get_text() == cell.raw, key  # on the cell it was read from, not just anywhere
        assert key in element["title"] and "confidence" in element["title"]
    soup = BeautifulSoup(html, "lxml")
    tables = [block for block in read(MARKDOWN).blocks if isinstance(block, TableBlock)]
    assert len(soup.select(".blocks table")) == len(tables)  # the document's tables as tables
    assert not soup.select(".page"), "a Markdown file has no pages to draw"
    assert record["meta"]["agency"] in soup.header.get_text()


def test_a_row_nothing_was_filed_from_is_outlined_and_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    row = "<tr><td>行政强制</td><td>1</td><td>0</td><td>2</td></tr>"
    source = MARKDOWN.read_text("utf-8")
    assert row in source
    report = tmp_path / "extra.md"
    report.write_text(source.replace(row, f"{row}\n{UNKNOWN_ROW}"))
    status, (page,) = run_inspect(capsys, report, "-o", tmp_path / "out")
    soup = BeautifulSoup(page.read_text("utf-8"), "lxml")
    assert status == 0
    (marked,) = soup.select("tr.unfiled-row")
    assert "天气预报播报次数" in marked.get_text()
    assert "天气预报播报次数" in soup.select_one("table.unfiled").get_text()


def test_every_shape_of_flag_is_listed_at_the_top() -> None:
    record = empty_record("report.md")
    record["meta"] = {"agency": "某某局", "year": 2024, "format": "2021"}
    record["flags"] = [
        {"field": "s3.new.total", "kind": "value_uncertain", "detail": "'l0' read as 10"},
        {"fields": ["s3.new.total", "s3.carried.total"], "kind": "source_inconsistent", "detail": "5 ≠ 6"},
        {"identity": "s4.review", "kind": "identity_gap", "detail": "gap 3"},
    ]
    header = BeautifulSoup(render(Inspection("report.md", record)), "lxml").header
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in header.select("table.flags tr")[1:]]
    assert rows == [
        ["value_uncertain", "s3.new.total", "'l0' read as 10"],
        ["source_inconsistent", "s3.new.total, s3.carried.total", "5 ≠ 6"],
        ["identity_gap", "s4.review", "gap 3"],
    ]
    assert "某某局" in header.get_text() and not header.select("#error")


def test_an_unreadable_file_gets_a_page_with_its_error_code(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"this is no PDF")
    status, (page, after) = run_inspect(capsys, broken, MARKDOWN, "-o", tmp_path / "out")
    assert status == 1  # a file failed, as with extract
    soup = BeautifulSoup(page.read_text("utf-8"), "lxml")
    assert soup.select_one("#error b").get_text() == "E_CORRUPT"
    assert after.name == f"{MARKDOWN.name}.html" and after.is_file()  # the run went on


def test_an_output_folder_in_a_missing_folder_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["inspect", str(MARKDOWN), "-o", str(tmp_path / "missing" / "out")]) == 2
    assert capsys.readouterr().err.startswith("E_OUT_DIR:")
    assert not (tmp_path / "missing").exists()


def test_help_shows_defaults_and_an_example(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        main(["inspect", "--help"])
    shown = capsys.readouterr().out
    assert done.value.code == 0 and "example:\n  nianbao inspect" in shown and "(default" in shown


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_pdf_page_draws_each_filed_cell_in_colour(
    text_pdf: Path, tmp_path: Path, capsys: pytest.CaptureFixture, extractor: Extractor
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    _, evidence = extractor.extract_with_evidence(text_pdf)
    status, (page_file,) = run_inspect(capsys, text_pdf, "-o", tmp_path / "out")
    html = page_file.read_text("utf-8")
    assert status == 0
    assert_self_contained(html)
    found = filed_elements(html)
    assert evidence and sorted(found) == sorted(evidence)
    assert all(len(elements) == 1 for elements in found.values())
    on_page_one = sum(1 for cell in evidence.values() if cell.box is not None and cell.box.page == 1)
    assert on_page_one > 0

    shot = tmp_path / "inspect-page.png"
    remote: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})

            def only_local(route) -> None:  # the page must need nothing from any host
                if route.request.url.startswith(("file:", "data:")):
                    route.continue_()
                else:
                    remote.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(page_file.as_uri())
            assert page.locator(".page .filed").count() == len(evidence)  # every field drawn on a page
            first = page.locator('.page[data-page="1"]')
            first.locator("img").evaluate("img => img.decode()")
            first.screenshot(path=str(shot))
            boxes = first.evaluate(
                """page => {
                    const origin = page.getBoundingClientRect();
                    return [...page.querySelectorAll('.filed')].map(el => {
                        const r = el.getBoundingClientRect();
                        return [r.left - origin.left, r.top - origin.top, r.right - origin.left,
                                r.bottom - origin.top];
                    });
                }"""
            )
        finally:
            browser.close()
    assert remote == []
    keep_artifact(shot)

    assert len(boxes) == on_page_one
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    coloured = pixels.max(axis=2) - pixels.min(axis=2) >= COLOURED_SPREAD
    inside = np.zeros(coloured.shape, dtype=bool)
    for x0, y0, x1, y1 in boxes:
        inside[round(y0) + 1 : round(y1) - 1, round(x0) + 1 : round(x1) - 1] = True
    assert inside.sum() > 1000, "the filed cells cover some of the page"
    assert coloured[inside].mean() >= FILED_COLOURED_SHARE  # the cells are painted in their field's colour
    assert coloured[~inside].mean() <= UNFILED_COLOURED_SHARE  # and the colour is theirs
