"""Long runs say how they go and how they ended: ``extract`` shows progress and an end summary on stderr
(records on stdout or -o as before), keeps input order with ``--workers``, writes CSV on request;
``batch`` names its failed files; evaluation and training show a bar on a terminal only."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from bad_inputs import BAD_INPUTS

import nianbao.batch
import nianbao.runs
from nianbao.cli import main
from nianbao.commands.documents import BOM
from nianbao.evaluation.synth.corpus import load_labelled, write_corpus
from nianbao.evaluation.synth.scorecard import score_documents
from nianbao.models import review_policy
from nianbao.models.calibration import flag_kinds_by_field
from nianbao.training.train import Stages

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

BAD = {name: (content, code) for name, content, code in BAD_INPUTS}
CORRUPT = "broken.docx"  # E_CORRUPT
EMPTY = "empty.txt"  # E_EMPTY
FORMS = ["md", "txt", "ocr"]  # text forms: no OCR, no PDF; the OCR-noised text sends fields to review
PER_FORM = 2
DOCUMENTS = PER_FORM * len(FORMS) + 1  # and the corrupt file


class Terminal(io.StringIO):
    """Standard error as a terminal."""

    def isatty(self) -> bool:
        return True


def run(argv: list[str]) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``nianbao ARGV`` run here, stderr no terminal."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthesized text reports with gold labels, and one corrupt file among them."""
    root = tmp_path_factory.mktemp("reports")
    write_corpus(root, PER_FORM, FORMS, seed=0, workers=1)
    (root / CORRUPT).write_bytes(BAD[CORRUPT][0])
    return root


@pytest.fixture(scope="module")
def extracted(reports: Path) -> tuple[int, str, str]:
    """One ``extract`` to stdout with a progress line due after every file."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nianbao.runs, "PROGRESS_EVERY_S", 0.0)
        return run(["extract", str(reports)])


def test_the_end_summary_counts_documents_failures_by_code_and_fields_to_review(
    extracted: tuple[int, str, str],
) -> None:
    status, out, err = extracted
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 1 and len(records) == DOCUMENTS  # stdout holds the records and nothing else
    policy = review_policy()
    to_review = sum(
        policy.needs_review(record["confidence"].get(key, 0.0), kinds)
        for record in records
        for key, kinds in flag_kinds_by_field(record).items()
    )
    assert to_review > 0  # the OCR-noised reports have doubtful fields
    summary = err.strip().splitlines()[-1]
    found = re.match(
        rf"{DOCUMENTS} documents: (\d+) ok, (\d+) partial, 1 failed \({BAD[CORRUPT][1]} 1\); "
        rf"{to_review} fields to review \(confidence below {policy.threshold:.3f} or a doubt flag\)",
        summary,
    )
    assert found, summary
    assert int(found[1]) + int(found[2]) == DOCUMENTS - 1


def test_off_a_terminal_progress_is_a_plain_line_at_the_set_interval(
    extracted: tuple[int, str, str], reports: Path, tmp_path: Path
) -> None:
    _, _, err = extracted
    lines = [line for line in err.splitlines() if re.match(rf"\d+/{DOCUMENTS} files, ", line)]
    assert [line.split("/")[0] for line in lines] == [str(n) for n in range(1, DOCUMENTS + 1)]
    assert "\r" not in err  # no bar off a terminal
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nianbao.runs, "PROGRESS_EVERY_S", 3600.0)
        _, _, err = run(["extract", str(reports), "-o", str(tmp_path / "records.jsonl")])
    assert len(re.findall(rf"\d+/{DOCUMENTS} files, ", err)) == 1  # only the closing one: the hour is not up


def test_workers_give_the_same_records_in_the_same_order(
    extracted: tuple[int, str, str], reports: Path, tmp_path: Path
) -> None:
    _, one_worker, _ = extracted
    out = tmp_path / "records.jsonl"
    status, stdout, err = run(["extract", str(reports), "--workers", "2", "-o", str(out)])
    assert status == 1 and stdout == ""
    assert out.read_text("utf-8") == one_worker
    assert f"1 failed ({BAD[CORRUPT][1]} 1)" in err


def test_csv_is_a_bom_row_per_document(
    extracted: tuple[int, str, str], reports: Path, tmp_path: Path
) -> None:
    records = [json.loads(line) for line in extracted[1].splitlines()]
    out = tmp_path / "records.csv"
    run(["extract", str(reports), "--format", "csv", "-o", str(out)])
    assert out.read_text("utf-8").startswith(BOM + "document,agency,year,format,error,")
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig", newline="")))
    assert [row["document"] for row in rows] == [record["document"] for record in records]
    for row, record in zip(rows, records, strict=True):
        assert row["year"] == str(record["meta"]["year"] or "")
        assert (row["error"] or None) == record["error"]
        for key, value in record["fields"].items():
            assert row[key] == ("" if value is None else str(value)), key


def test_batch_names_its_failed_files_and_where_all_are(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    shutil.copy(next(Path(__file__).parents[1].glob("data/samples/syn_md_*.md")), archive)
    for name in (CORRUPT, EMPTY):
        (archive / name).write_bytes(BAD[name][0])
    monkeypatch.setattr(nianbao.batch, "FAILED_NAMED", 1)
    url = f"sqlite:///{tmp_path / 'batch.db'}"
    assert main(["batch", str(archive), "--db", url, "--workers", "1"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f"2 failed ({BAD[CORRUPT][1]} 1, {BAD[EMPTY][1]} 1)" in out[0]
    assert out[1:] == [
        "failed files (the first 1 of 2, by path):",
        f"  {BAD[CORRUPT][1]}  {archive / CORRUPT}",
        f"every failed file with its error, this run's and earlier ones': {nianbao.batch.FAILED_QUERY} "
        f"(in {url})",
    ]


def test_evaluation_and_training_show_a_bar_on_a_terminal_only(
    reports: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    labelled = load_labelled(reports)
    from nianbao.extraction.pipeline import Extractor

    extractor = Extractor.load()
    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        score_documents(labelled, extractor)
        with Stages({"sections"}) as stage:
            stage("label corpus")
        written = stream.getvalue()
        assert (f"/{len(labelled)} [" in written and "train: label corpus" in written) == shown, written
        assert shown or written == ""
