"""Scans of layouts our own renderer does not draw: a report web page printed by a browser, then scanned.

A browser prints an HTML table with double rules (the table's border and each cell's), text against the
rules, and tables stacked without space between them; the last one runs on to the next page, so its outer
rule ends on no crossing rule at the foot of the page.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from nianbao.evaluation.render_pdf import render_scan
from nianbao.evaluation.variants import write_corpus
from nianbao.extraction.pipeline import Extractor
from nianbao.schema import load_schema

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
SEED = 20261280  # a web page whose section-2 tables stack down a page and over onto the next


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


def test_a_browser_printed_page_scanned_keeps_every_row(extractor: Extractor, tmp_path: Path) -> None:
    scan, gold = _printed_and_scanned(tmp_path)
    record = extractor.extract(scan)
    assert record["error"] is None
    schema = load_schema()
    printed_rows = {schema.row_of(k) for k, v in gold.items() if v is not None}
    read_rows = {schema.row_of(k) for k, v in record["fields"].items() if v is not None}
    assert printed_rows <= read_rows, f"rows lost: {sorted(printed_rows - read_rows)}"
    right = sum(record["fields"].get(k) == v for k, v in gold.items())
    assert right >= 0.97 * len(gold)
