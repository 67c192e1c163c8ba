"""Hostile input (issue 17, the reading side): every file of a corpus generated here ends within the time a
file may take and under a batch worker's address-space limit, with a clear code or extracted; none ends in
E_INTERNAL or hangs."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hostile_inputs import (
    HTML_REPORT,
    TEXT_REPORT,
    deep_html,
    docx_bomb,
    fifo,
    huge_page_pdf,
    repeated_report,
    second_s3_table,
    utf8_with_bad_byte,
    utf16_without_bom,
)
from scipy.optimize import linear_sum_assignment

from nianbao.app.evidence import _page_image
from nianbao.batch import run_batch
from nianbao.errors import CodedError
from nianbao.extraction import label_assignment
from nianbao.extraction.pipeline import Extractor
from nianbao.extraction.readers import read
from nianbao.extraction.readers.docx import read_docx
from nianbao.extraction.readers.encoding import decode
from nianbao.extraction.readers.pdf import rasterize
from nianbao.extraction.readers.scan import MAX_PIXELS, ScanSettings, capped_dpi
from nianbao.models.calibration import DOUBT_FLAGS, FLAG_KINDS, ReviewPolicy
from nianbao.runs import BatchSettings, archive_files
from nianbao.schema import load_schema
from nianbao.store import Store

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

HANG_S = 120  # the longest a file may take before it counts as hanging (the bound)
CORPUS_TIMEOUT_S = 600  # the whole corpus in its subprocess: past this, something hangs
COPIES = 200  # a report printed this many times over: 0.8 MB, enough to go past the decoder's cap
UNBLOCK_AFTER_S = 10.0  # a reader stuck on a FIFO is given an end of file then, to fail, not hang
# Extracts every file of a folder under a batch worker's address-space limit, one JSON line per file.
CORPUS_RUNNER = """
import json, sys, time
from pathlib import Path
from nianbao.workers import MEMORY_LIMIT_GIB, limit_address_space
from nianbao.extraction.pipeline import Extractor

limit_address_space(MEMORY_LIMIT_GIB)
extractor = Extractor.load()
for path in sorted(Path(sys.argv[1]).iterdir()):
    started = time.perf_counter()
    record = extractor.extract(path)
    kinds = sorted({flag["kind"] for flag in record["flags"]})
    seconds = time.perf_counter() - started
    print(json.dumps({"name": path.name, "error": record["error"], "kinds": kinds, "seconds": seconds,
                      "fields": record["fields"]}), flush=True)
"""


@contextlib.contextmanager
def unblocked(*pipes: Path) -> Iterator[None]:
    """While inside, a reader that opened one of ``pipes`` is given an end of file after UNBLOCK_AFTER_S,
    so code that wrongly reads a FIFO fails its test instead of hanging the suite."""
    done = threading.Event()

    def writer() -> None:
        if done.wait(UNBLOCK_AFTER_S):
            return
        while not done.wait(0.1):
            for pipe in pipes:
                with contextlib.suppress(OSError):  # ENXIO: nobody reads it
                    os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


def _code(error: str | None) -> str | None:
    return error.split(":", 1)[0] if error else None


def _corpus(folder: Path) -> list[Path]:
    """Every hostile case as a file (a FIFO and a link to it among them), with the clean reports beside
    them to compare with."""
    folder.mkdir()
    files = {
        "report.txt": TEXT_REPORT.read_bytes(),
        "report.html": HTML_REPORT.read_bytes(),
        "repeated.txt": repeated_report(COPIES),
        "huge-page.pdf": huge_page_pdf(),
        "bomb.docx": docx_bomb(),
        "bad-byte.txt": utf8_with_bad_byte(),
        "utf16le.txt": utf16_without_bom("le"),
        "utf16be.txt": utf16_without_bom("be"),
        "deep.html": deep_html(600),
        "too-deep.html": deep_html(5000),
        "two-s3-tables.html": second_s3_table(changed=True),
        "s3-table-twice.html": second_s3_table(changed=False),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    pipe = fifo(folder / "pipe.txt")
    (folder / "link-to-pipe.md").symlink_to(pipe)
    return [pipe]


def test_the_hostile_corpus_ends_in_clear_codes_within_the_memory_limit(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    pipes = _corpus(folder)
    with unblocked(*pipes):
        run = subprocess.run(
            [sys.executable, "-c", CORPUS_RUNNER, str(folder)],
            capture_output=True,
            text=True,
            timeout=CORPUS_TIMEOUT_S,
        )
    assert run.returncode == 0, run.stderr[-2000:]
    results = {r["name"]: r for r in map(json.loads, run.stdout.splitlines())}
    assert set(results) == {p.name for p in folder.iterdir()}
    for name, result in results.items():
        assert _code(result["error"]) != "E_INTERNAL", (name, result["error"])
        assert result["seconds"] < HANG_S, (name, result["seconds"])
    codes = {name: _code(r["error"]) for name, r in results.items()}
    assert codes["huge-page.pdf"] == "E_NOT_REPORT", "rendered at a lower resolution: a blank page, read"
    assert codes["bomb.docx"] == codes["too-deep.html"] == "E_TOO_LARGE"
    assert codes["pipe.txt"] == codes["link-to-pipe.md"] == "E_NOT_FILE"
    text, html = results["report.txt"]["fields"], results["report.html"]["fields"]
    for name in ("repeated.txt", "bad-byte.txt", "utf16le.txt", "utf16be.txt"):
        assert codes[name] is None and results[name]["fields"] == text, name
    assert codes["deep.html"] is None and results["deep.html"]["fields"] == html
    assert "encoding_repaired" in results["bad-byte.txt"]["kinds"]
    assert "encoding_repaired" not in results["utf16le.txt"]["kinds"]
    assert "duplicate_table" in results["two-s3-tables.html"]["kinds"]
    assert "duplicate_table" not in results["s3-table-twice.html"]["kinds"]


def _assignment_sizes(extractor: Extractor, data: bytes, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Cells of every cost matrix the row decoder solves while extracting ``data``."""
    sizes: list[int] = []

    def counted(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sizes.append(cost.size)
        return linear_sum_assignment(cost)

    monkeypatch.setattr(label_assignment, "linear_sum_assignment", counted)
    record = extractor.extract("repeated.txt", data)
    assert record["error"] is None
    return sizes


def test_the_row_assignment_is_capped_so_its_cost_stops_growing(
    extractor: Extractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report printed many times over: no assignment weighs more rows than the cap, so four times the
    copies cost no more assignment work (it grew with the square: 16 times)."""
    cap = extractor.decoder.settings.max_assign_rows
    widest = max(len(s.row_order(f)) for s in load_schema().sections.values() for f in s.cells) + cap
    few, many = (_assignment_sizes(extractor, repeated_report(n), monkeypatch) for n in (COPIES // 4, COPIES))
    assert max(many) <= cap * widest
    assert sum(many) <= sum(few)


def test_a_huge_pdf_page_is_rendered_at_a_lower_resolution() -> None:
    gray, dpi = next(rasterize(huge_page_pdf()))
    rounding = sum(gray.shape) + 1  # the renderer rounds each side up to a whole pixel
    assert gray.size <= MAX_PIXELS + rounding and dpi < ScanSettings().dpi
    assert capped_dpi(595, 842, ScanSettings().dpi) == ScanSettings().dpi, "an A4 page keeps its resolution"
    assert 14_400**2 * (capped_dpi(14_400, 14_400, 150) / 72) ** 2 == pytest.approx(MAX_PIXELS)


def test_the_review_page_renders_a_huge_pdf_page_under_the_pixel_cap(tmp_path: Path) -> None:
    path = tmp_path / "huge-page.pdf"
    path.write_bytes(huge_page_pdf())
    image, scale = _page_image(str(path), path.stat().st_mtime, 1, 300.0)
    assert image.width * image.height <= MAX_PIXELS + image.width + image.height + 1
    assert image.width == pytest.approx(14_400 * scale, abs=2)  # crops still land on their cells


def test_a_zip_bomb_docx_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(CodedError) as refused:
        read_docx("bomb.docx", docx_bomb())
    assert refused.value.code == "E_TOO_LARGE"


def test_text_nearly_all_utf8_is_repaired_and_other_charsets_are_not() -> None:
    text = TEXT_REPORT.read_text("utf-8")
    assert decode(utf8_with_bad_byte()) == (text.replace("。本", "。\ufffd本", 1), 1)
    assert decode(text.encode("gb18030")) == (text, 0), "GB18030 is no UTF-8 with bad bytes"
    for order in ("le", "be"):
        assert decode(utf16_without_bom(order)) == (text, 0), order
    with pytest.raises(CodedError, match="E_BINARY"):
        decode(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes() + b"\x00")


def test_a_deeply_nested_html_page_reads_as_the_flat_one() -> None:
    assert read("deep.html", deep_html(1500)).blocks == read("flat.html", HTML_REPORT.read_bytes()).blocks
    with pytest.raises(CodedError, match="E_TOO_LARGE"):
        read("too-deep.html", deep_html(5000))


def test_two_different_tables_of_a_section_send_the_section_to_review(extractor: Extractor) -> None:
    record = extractor.extract("two.html", second_s3_table(changed=True))
    flags = [f for f in record["flags"] if f["kind"] == "duplicate_table"]
    s3 = {k for k in record["fields"] if k.startswith("s3.")}
    assert len(flags) == 1 and set(flags[0]["fields"]) == s3
    assert "duplicate_table" in DOUBT_FLAGS and "duplicate_table" not in FLAG_KINDS
    assert ReviewPolicy().needs_review(1.0, {"duplicate_table"})


def test_a_fifo_is_refused_by_extract_and_recorded_by_a_batch(extractor: Extractor, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    pipe = fifo(archive / "pipe.pdf")
    (archive / "link.txt").symlink_to(pipe)
    with unblocked(pipe):
        assert _code(extractor.extract(pipe)["error"]) == "E_NOT_FILE"
        store = Store.open(f"sqlite:///{tmp_path / 'batch.db'}")
        files = list(archive_files([archive]))
        summary = run_batch(files, store, BatchSettings(workers=1))
    assert sorted(p.name for p in files) == ["link.txt", "pipe.pdf"], "a FIFO in a folder is not passed over"
    assert summary.counts["failed"] == 2
    assert set(store.file_states().values()) == {("failed", "E_NOT_FILE")}
    store.close()


def test_a_worker_past_its_address_space_fails_its_file_with_a_clear_code() -> None:
    """In a process of its own (the limit holds for the rest of a process's life)."""
    check = """
import resource, cv2, numpy as np
from nianbao.workers import GIB, limit_address_space
from nianbao.extraction.pipeline import empty_record, guarded
limit_address_space(2.0)
assert resource.getrlimit(resource.RLIMIT_AS)[0] == 2 * GIB
for work in (lambda: bytearray(3 * GIB), lambda: cv2.resize(np.zeros((8, 8), np.uint8), (60_000, 60_000))):
    record = empty_record("x")
    guarded(record, work)
    print(record["error"].split(":")[0])
"""
    run = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=HANG_S)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["E_TOO_LARGE", "E_TOO_LARGE"]
    with pytest.raises(ValueError):
        BatchSettings(memory_limit_gib=-1)
