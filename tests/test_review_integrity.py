"""Hostile input and data integrity: a review outlives a re-extraction, review values are checked and no
writer emits NaN, concurrent reviews keep the audit chain and concurrent batches the store, only allowed
hosts are served, ids beyond 64 bits and database failures end with a code, files are found from any
working directory, and an upload stops at its time or memory limit in a worker process."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from test_crossyear import record
from test_review_page import running

from nianbao.app import AppSettings, create_app, export_corrections
from nianbao.batch import run_batch
from nianbao.cli import main
from nianbao.errors import REFUSED
from nianbao.export import dataset_rows, export
from nianbao.extraction.pipeline import Extractor
from nianbao.runs import BatchSettings
from nianbao.store import (
    REVIEW_CONFLICT,
    DocumentRow,
    ExtractionRow,
    FieldRow,
    FileRow,
    ReviewRow,
    Store,
    content_hash,
)
from nianbao.training.labelled import CorrectionError, parse_corrections
from nianbao.workers import fingerprint

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
PDF, MARKDOWN = SAMPLES / "syn_pdf_370615787.pdf", SAMPLES / "syn_md_705851321.md"
TOKEN = "integrity-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LOCAL = "http://localhost"
THRESHOLD = 0.9
COUNT, OTHER, AMOUNT, CHANGE = (
    "s3.new.total",
    "s3.new.commercial",
    "s2.procurement.amount",
    "s2.licensing.change",
)
UNSURE = (COUNT, OTHER, AMOUNT, CHANGE)  # made doubtful: they wait for review


def _record(values: dict[str, float | None] | None = None) -> dict:
    """A 2019 record (it has amounts and signed changes) whose UNSURE fields wait for review."""
    made = record("某市财政局", 2023, fmt="2019")
    made["fields"].update(values or {})
    made["confidence"].update(dict.fromkeys(UNSURE, 0.3))
    return made


def _client(store: Store, tmp_path: Path, **settings) -> TestClient:
    made = AppSettings(threshold=THRESHOLD, upload_dir=tmp_path / "uploads", **settings)
    return TestClient(create_app(store, TOKEN, made), base_url=LOCAL)


def _document(store: Store, rec: dict) -> int:
    """A document holding ``rec`` as its first extraction (model m1)."""
    document = store.add_document(content_hash(b"report"), "/archive/report.md", 1, "md")
    store.save_extraction(document, rec, {}, "p", "m1")
    return document


def _field_id(store: Store, document: int, key: str) -> int:
    """The field of the document's newest extraction."""
    with store.sessions() as session:
        return session.scalar(
            select(func.max(FieldRow.id))
            .join(FieldRow.extraction)
            .where(ExtractionRow.document_id == document, FieldRow.key == key)
        )


def _reviews(store: Store, field_id: int | None = None) -> list[ReviewRow]:
    query = select(ReviewRow).order_by(ReviewRow.id)
    if field_id is not None:
        query = query.where(ReviewRow.field_id == field_id)
    with store.sessions() as session:
        return list(session.scalars(query))


def _decide(client: TestClient, field_id: int, action: str, value: object = None) -> httpx.Response:
    body = {"action": action, "reviewer": "li"} | ({"value": value} if action == "correct" else {})
    return client.post(f"/fields/{field_id}/review", json=body, headers=AUTH)


# ---------------------------------------------------------------- reviews across re-extraction
def test_a_review_carries_over_to_a_new_extraction_unless_the_reading_changed(
    store: Store, tmp_path: Path
) -> None:
    client = _client(store, tmp_path)
    document = _document(store, _record({COUNT: 17, OTHER: 5, AMOUNT: 1.2}))
    first = {key: _field_id(store, document, key) for key in UNSURE}
    assert _decide(client, first[COUNT], "correct", 11).status_code == 200  # the person's value
    assert _decide(client, first[OTHER], "accept").status_code == 200
    assert _decide(client, first[AMOUNT], "correct", 1.25).status_code == 200

    # a new model reads COUNT as before, OTHER otherwise, and AMOUNT as the person set it
    store.save_extraction(document, _record({COUNT: 17, OTHER: 6, AMOUNT: 1.25}), {}, "p", "m2")
    fields = {f["key"]: f for f in client.get(f"/documents/{document}/fields").json()}
    assert (fields[COUNT]["status"], fields[COUNT]["value"], fields[COUNT]["extracted"]) == (
        "reviewed",
        11,
        17,
    )
    assert fields[COUNT]["reviews"][-1]["carried_from"] == _reviews(store, first[COUNT])[0].id
    assert (fields[AMOUNT]["status"], fields[AMOUNT]["value"]) == ("reviewed", 1.25)
    assert (fields[OTHER]["status"], fields[OTHER]["value"]) == ("pending", 6)
    conflict = [r for r in fields[OTHER]["reasons"] if r["kind"] == REVIEW_CONFLICT]
    assert conflict == [{"kind": REVIEW_CONFLICT, "detail": conflict[0]["detail"]}]
    assert "as 5 " in conflict[0]["detail"] and conflict[0]["detail"].endswith("reads 6")  # both values
    waiting = [f["key"] for d in client.get("/queue").json()["documents"] for f in d["fields"]]
    assert OTHER in waiting and COUNT not in waiting and AMOUNT not in waiting
    row = next(dataset_rows(store, THRESHOLD))
    assert (row[COUNT], row[f"{COUNT}:status"], row[f"{OTHER}:status"]) == (11, "reviewed", "pending")
    decisions = export_corrections(store, tmp_path / "corrections.jsonl")
    assert decisions == 3  # a carried decision is not a new one

    stale = _decide(client, first[COUNT], "correct", 12)  # a page loaded before the re-extraction
    assert stale.status_code == 409 and stale.json()["detail"].startswith("E_STALE:")
    assert _decide(client, fields[OTHER]["id"], "correct", 6).status_code == 200
    store.save_extraction(document, _record({COUNT: 17, OTHER: 6, AMOUNT: 1.25}), {}, "p", "m3")
    third = {f["key"]: f for f in client.get(f"/documents/{document}/fields").json()}
    assert {third[key]["status"] for key in (COUNT, OTHER, AMOUNT)} == {"reviewed"}
    assert (third[COUNT]["value"], third[OTHER]["value"]) == (11, 6)
    assert REVIEW_CONFLICT not in {r["kind"] for r in third[OTHER]["reasons"]}
    assert len(_reviews(store)) == 4 + 2 + 3  # four decisions; carried: two to the second, three to the third


# ---------------------------------------------------------------- review values
def test_review_values_must_fit_the_field_and_no_writer_emits_nan(store: Store, tmp_path: Path) -> None:
    client = _client(store, tmp_path)
    document = _document(store, _record())
    ids = {key: _field_id(store, document, key) for key in UNSURE}
    refused = [(COUNT, -5), (COUNT, 1.5), (AMOUNT, 12.34567), (AMOUNT, -1.0)]
    for key, value in refused:
        response = _decide(client, ids[key], "correct", value)
        assert response.status_code == 422 and response.json()["detail"].startswith("E_VALUE:"), (key, value)
    for constant in ("NaN", "Infinity", "-Infinity", "1e309"):  # what JSON parsers let through
        body = f'{{"action": "correct", "value": {constant}, "reviewer": "li"}}'
        headers = {**AUTH, "Content-Type": "application/json"}
        response = client.post(f"/fields/{ids[AMOUNT]}/review", content=body, headers=headers)
        assert response.status_code == 422 and response.json()["detail"].startswith("E_VALUE:"), constant
    assert not _reviews(store)
    accepted = {COUNT: (7.0, 7), AMOUNT: (12.3456, 12.3456), CHANGE: (-3, -3)}
    for key, (value, stored) in accepted.items():
        response = _decide(client, ids[key], "correct", value)
        assert response.status_code == 200 and response.json()["field"]["value"] == stored, key
    assert isinstance(_reviews(store)[0].new_value, int)  # a count is stored as one

    out = tmp_path / "dataset.jsonl"
    export(store, out, "jsonl", THRESHOLD, include_all=True)
    assert export_corrections(store, tmp_path / "corrections.jsonl") == 3
    for written in (out, tmp_path / "corrections.jsonl"):
        for line in written.read_text("utf-8").splitlines():
            json.loads(line, parse_constant=pytest.fail)  # bare NaN or Infinity is no JSON
    assert len(parse_corrections(tmp_path / "corrections.jsonl")) == 3


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        (COUNT, "NaN", "E_CORRECTION_JSON"),
        (AMOUNT, "Infinity", "E_CORRECTION_JSON"),
        (AMOUNT, "1e309", "E_CORRECTION_VALUE"),
        (COUNT, "-5", "E_CORRECTION_VALUE"),
        (COUNT, "1.5", "E_CORRECTION_VALUE"),
        (AMOUNT, "0.00001", "E_CORRECTION_VALUE"),
    ],
)
def test_the_corrections_parser_refuses_what_a_review_may_not_set(
    tmp_path: Path, field: str, value: str, code: str
) -> None:
    label = (
        f'"document": "a.md", "field": "{field}", "value": {value}, "reviewer": "li", "time": "2025-01-01"'
    )
    path = tmp_path / "corrections.jsonl"
    path.write_text(f"{{{label}}}\n", "utf-8")
    with pytest.raises(CorrectionError) as refused:
        parse_corrections(path)
    assert str(refused.value).startswith(f"{code}:")


# ---------------------------------------------------------------- concurrent writers
def test_parallel_corrections_of_one_field_keep_the_audit_chain(db_url: str, tmp_path: Path) -> None:
    store = Store.open(db_url)
    try:
        document = _document(store, _record({COUNT: 17}))
        field = _field_id(store, document, COUNT)
        app = create_app(store, TOKEN, AppSettings(threshold=THRESHOLD, upload_dir=tmp_path / "uploads"))
        with running(app) as base, ThreadPoolExecutor(20) as pool:
            url = f"{base}/fields/{field}/review"
            bodies = [{"action": "correct", "value": 100 + i, "reviewer": f"r{i}"} for i in range(20)]
            statuses = list(
                pool.map(lambda b: httpx.post(url, json=b, headers=AUTH, timeout=60).status_code, bodies)
            )
        assert statuses == [200] * 20
        trail = [(r.old_value, r.new_value) for r in _reviews(store, field)]
        assert len(trail) == 20 and trail[0][0] == 17
        assert all(before[1] == after[0] for before, after in pairwise(trail)), trail
    finally:
        store.close()


def _race_on_insert(store: Store, table: str, rival: Callable[[], object]) -> list[int]:
    """Have ``rival`` write (through another connection) just before ``store``'s first INSERT into
    ``table``: what a second batch does between a look-up and an insert. Returns how often it ran."""
    ran: list[int] = []

    def before(_conn, _cursor, statement: str, *_args) -> None:
        if statement.startswith(f"INSERT INTO {table}") and not ran:
            ran.append(1)
            rival()

    event.listen(store.engine, "before_cursor_execute", before)
    return ran


def test_a_second_writer_inserting_the_same_document_or_path_meanwhile_is_met_not_fatal(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    first, second = Store.open(url), Store.open(url)
    try:
        digest, path = content_hash(b"report"), str(tmp_path / "a.md")
        raced = _race_on_insert(first, "documents", lambda: second.add_document(digest, path, 6, "md"))
        document = first.add_document(digest, path, 6, "md")
        raced_files = _race_on_insert(first, "files", lambda: second.set_file(path, "pending", document))
        first.set_file(path, "done", document)
        assert raced == raced_files == [1]
        with first.sessions() as session:
            assert session.scalar(select(func.count()).select_from(DocumentRow)) == 1
            assert session.scalar(select(FileRow.state)) == "done"
    finally:
        first.close()
        second.close()


def test_two_batches_at_once_on_one_database_both_end_and_store_each_document_once(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    for path in (MARKDOWN, SAMPLES / "syn_txt_1298476811.txt"):
        shutil.copy(path, archive / path.name)
    url = f"sqlite:///{tmp_path / 'batches.db'}"
    stores = [Store.open(url), Store.open(url)]  # two processes' stores: one engine each
    summaries, errors = [], []
    barrier = threading.Barrier(2)

    def batch(store: Store) -> None:
        barrier.wait()
        try:
            summaries.append(run_batch(sorted(archive.iterdir()), store, BatchSettings(workers=1)))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=batch, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors and len(summaries) == 2
    assert all(s.counts["failed"] == 0 for s in summaries)
    with stores[0].sessions() as session:
        assert session.scalar(select(func.count()).select_from(ExtractionRow)) == 2
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 2
    for store in stores:
        store.close()


# ---------------------------------------------------------------- what the server answers
def test_only_allowed_hosts_are_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list = []
    monkeypatch.setattr("uvicorn.run", lambda app, **_: served.append(app))
    url = f"sqlite:///{tmp_path / 'hosts.db'}"
    command = ["serve", "--db", url, "--host", "10.1.2.3", "--allowed-host", "review.example", "--token", "t"]
    assert main(command) == 0
    client = TestClient(served[0])
    for host in ("localhost", "127.0.0.1:8000", "[::1]:8000", "10.1.2.3:8000", "review.example"):
        assert client.get("/queue", headers={"Host": host}).status_code == 200, host
    for host in ("attacker.example", "attacker.example:8000", "10.1.2.4", "localhost.attacker.example"):
        response = client.get("/queue", headers={"Host": host})
        assert response.status_code == 400, host  # DNS rebinding: another site's name for this server


def test_ids_beyond_64_bits_are_refused_not_failed(store: Store, tmp_path: Path) -> None:
    client = _client(store, tmp_path)
    document = _document(store, _record())
    field = _field_id(store, document, COUNT)
    huge = 2**64
    decision = {"action": "accept", "reviewer": "li"}
    calls = [
        ("get", "/documents/{}", None),
        ("get", "/documents/{}/fields", None),
        ("get", "/documents/{}/meta", None),
        ("post", "/documents/{}/meta/year/review", decision),
        ("post", "/documents/{}/check", {"values": {}}),
        ("post", "/fields/{}/review", decision),
        ("get", "/fields/{}/crop.png", None),
        ("get", "/fields/{}/source", None),
        ("get", "/batches/{}", None),
    ]
    for method, path, body in calls:
        response = client.request(method, path.format(huge), json=body, headers=AUTH)
        assert response.status_code == 422, path
        largest = client.request(method, path.format(2**63 - 1), json=body, headers=AUTH)
        assert largest.status_code == 404, path  # in range, and no such row
    assert client.get(f"/documents/{document}").status_code == 200
    assert client.get(f"/fields/{field}/source").status_code == 200


def _one_error_line(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_a_database_that_cannot_be_used_ends_a_command_with_one_e_db_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    missing = f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"
    exporting = ["export", "--format", "jsonl", "-o", str(tmp_path / "x.jsonl")]
    for command, code in ((exporting, "E_DB_MISSING"), (["serve"], "E_DB_DIR")):
        assert main([*command, "--db", missing]) == REFUSED
        assert _one_error_line(capsys).startswith(f"{code}: ")
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:9/nianbao?connect_timeout=5"
    for command in (["check"], ["review", "export", "-o", str(tmp_path / "c.jsonl")]):
        assert main([*command, "--db", unreachable]) == REFUSED
        err = _one_error_line(capsys)
        assert err.startswith(
            "E_DB_CONNECT: cannot connect to postgresql+psycopg://nobody@127.0.0.1:9/nianbao"
        )

    made = tmp_path / "made.db"
    Store.open(f"sqlite:///{made}").close()
    read_only = f"sqlite:///file:{made}?mode=ro&uri=true"
    assert main(["batch", str(MARKDOWN), "--db", read_only, "--workers", "1"]) == REFUSED
    assert _one_error_line(capsys).endswith("attempt to write a readonly database")


def test_a_read_only_database_is_a_503_with_e_db_from_the_server(tmp_path: Path) -> None:
    made = tmp_path / "made.db"
    with Store.open(f"sqlite:///{made}") as writable:
        document = _document(writable, _record())
    with Store.open(f"sqlite:///file:{made}?mode=ro&uri=true") as read_only:
        client = _client(read_only, tmp_path)
        assert client.get(f"/documents/{document}").status_code == 200
        response = _decide(client, _field_id(read_only, document, COUNT), "accept")
        assert response.status_code == 503
        assert response.json()["detail"] == "E_DB: attempt to write a readonly database"


def test_crops_and_source_rows_are_found_from_another_working_directory(
    tmp_path: Path, extractor: Extractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'paths.db'}")
    monkeypatch.chdir(SAMPLES.parent)  # the batch ran here, given relative paths
    ids = {}
    for path in (PDF, MARKDOWN):
        relative = path.relative_to(SAMPLES.parent)
        record_, evidence = extractor.extract_with_evidence(relative)
        document = store.add_document(fingerprint(relative)[0], str(relative), path.stat().st_size)
        store.save_extraction(document, record_, evidence, "p", "m")
        ids[path] = _field_id(store, document, COUNT)
    monkeypatch.chdir(tmp_path)  # the server runs elsewhere
    client = _client(store, tmp_path)
    crop = client.get(f"/fields/{ids[PDF]}/crop.png")
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/png"
    assert any(row["target"] for row in client.get(f"/fields/{ids[MARKDOWN]}/source").json())
    store.close()


# ---------------------------------------------------------------- uploads
@pytest.mark.parametrize(
    ("limits", "codes"),
    [
        ({"upload_timeout_s": 0.001}, {"E_TIMEOUT"}),  # a PDF takes far longer
        ({"upload_memory_limit_gib": 0.25}, {"E_TOO_LARGE", "E_CRASH"}),  # the model alone maps more
    ],
)
def test_an_upload_over_its_limits_fails_with_a_code_in_its_worker(
    store: Store, tmp_path: Path, limits: dict, codes: set[str]
) -> None:
    client = _client(store, tmp_path, **limits)
    upload = client.post("/documents", files={"file": ("big.pdf", PDF.read_bytes())}, headers=AUTH)
    assert upload.status_code == 201, upload.text
    assert upload.json()["state"] == "failed" and upload.json()["error"].split(":")[0] in codes, upload.json()
    assert client.get("/queue").status_code == 200  # the server goes on
