"""Scans of office layouts: a report web page printed by a browser, and a report whose tables Word or WPS
printed shaded, each then scanned.

A browser prints an HTML table with double rules (the table's border and each cell's), text against the
rules, and tables stacked without space between them; the last one runs on to the next page, so its outer
rule ends on no crossing rule at the foot of the page. An office suite fills header rows, section bands
and label cells grey under the text and draws a heavy outer border; a shaded band is a row of cells, not
an image.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from nianbao.evaluation.synth.corpus import write_corpus
from nianbao.evaluation.synth.forms import build_report
from nianbao.evaluation.synth.render_scan import render_scan
from nianbao.extraction.pipeline import Extractor
from nianbao.schema import load_schema

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

CHROMIUM = Path("/usr/bin/chromium")
SEED = 20261280  # a web page whose section-2 tables stack down a page and over onto the next
OFFICE_SEED = 20261310  # a report whose section-3 table runs over onto the next page


def _printed_and_scanned(tmp_path: Path) -> tuple[Path, dict]:
    page = write_corpus(tmp_path / "html", 1, ["html"], SEED)[0]
    printed = tmp_path / "printed.pdf"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={printed}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    scan = tmp_path / "scanned.pdf"
    scan.write_bytes(render_scan(printed.read_bytes(), random.Random(SEED)))
    gold = json.loads(page.with_name(page.stem + ".gold.json").read_text("utf-8"))
    return scan, gold.get("fields", gold)


def _every_row_read(record: dict, gold: dict) -> None:
    assert record["error"] is None
    schema = load_schema()
    printed_rows = {schema.row_of(k) for k, v in gold.items() if v is not None}
    read_rows = {schema.row_of(k) for k, v in record["fields"].items() if v is not None}
    assert printed_rows <= read_rows, f"rows lost: {sorted(printed_rows - read_rows)}"
    right = sum(record["fields"].get(k) == v for k, v in gold.items())
    assert right >= 0.97 * len(gold)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_a_browser_printed_page_scanned_keeps_every_row(extractor: Extractor, tmp_path: Path) -> None:
    scan, gold = _printed_and_scanned(tmp_path)
    _every_row_read(extractor.extract(scan), gold)


def test_a_shaded_office_report_scanned_keeps_every_row(extractor: Extractor, tmp_path: Path) -> None:
    report = build_report(OFFICE_SEED, "scan-office")
    scan = tmp_path / "office.pdf"
    scan.write_bytes(report.content)
    _every_row_read(extractor.extract(scan), report.gold["fields"])
