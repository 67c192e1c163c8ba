"""The check across years (an agency's 上年结转 against its previous year's 结转下年度) and the agency
and year a reviewer sets: flags stored, shown by the queue and the export, replaced by a rerun, answered by
reviews; on SQLite and on PostgreSQL where a server can be started."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from nianbao.app import AppSettings, create_app, export_corrections
from nianbao.batch import run_batch
from nianbao.cli import main
from nianbao.export import dataset_rows
from nianbao.runs import BatchSettings
from nianbao.schema import load_schema
from nianbao.store import (
    MIGRATIONS,
    CheckFlagRow,
    ExtractionRow,
    FieldRow,
    MetaReviewRow,
    Store,
    content_hash,
)
from nianbao.store.crossyear import KIND, check_cross_year, normalise_agency

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

SCHEMA = load_schema()
OVER, FORWARD = "s3.carried_over.total", "s3.carried_forward.total"
TOKEN = "cross-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
THRESHOLD = 0.9
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def record(
    agency: str | None,
    year: int | None,
    fmt: str = "2021",
    over: dict[str, int | None] | None = None,
    forward: dict[str, int | None] | None = None,
    flags: list[dict] | None = None,
) -> dict:
    """A confident record of every field of ``fmt``: carried counts as given (column → value), the rest 0."""
    keys = SCHEMA.field_keys(fmt)
    fields: dict = dict.fromkeys(keys, 0)
    for row, values in (("s3.carried_over", over or {}), ("s3.carried_forward", forward or {})):
        fields.update({f"{row}.{column}": value for column, value in values.items()})
    return {
        "document": f"{agency}-{year}.md",
        "meta": {"agency": agency, "year": year, "format": fmt},
        "fields": fields,
        "confidence": dict.fromkeys(keys, 1.0),
        "flags": flags or [],
        "error": None,
    }


def add(store: Store, name: str, rec: dict) -> int:
    """A document holding ``rec`` as its extraction; returns the document's id."""
    document = store.add_document(content_hash(name.encode()), f"/nowhere/{name}.md", 1, "md")
    store.save_extraction(document, rec, {}, "p", "m")
    return document


def field_id(store: Store, document: int, key: str) -> int:
    with store.sessions() as session:
        return session.scalar(
            select(FieldRow.id)
            .join(FieldRow.extraction)
            .where(ExtractionRow.document_id == document, FieldRow.key == key)
        )


def flags(store: Store) -> list[tuple[int, int, str, str]]:
    """(id, field id, kind, detail) of every stored check flag."""
    with store.sessions() as session:
        rows = session.scalars(select(CheckFlagRow).order_by(CheckFlagRow.id))
        return [(r.id, r.field_id, r.kind, r.detail) for r in rows]


def export_row(store: Store, document: int) -> dict:
    with store.sessions() as session:
        sha = session.scalar(
            select(ExtractionRow).where(ExtractionRow.document_id == document)
        ).document.sha256
    return next(r for r in dataset_rows(store, THRESHOLD) if r["sha256"] == sha)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    yield opened
    opened.close()


@pytest.fixture
def client(store: Store, tmp_path: Path) -> TestClient:
    settings = AppSettings(threshold=THRESHOLD, upload_dir=tmp_path / "uploads")
    return TestClient(create_app(store, TOKEN, settings), base_url="http://localhost")


def test_a_break_flags_both_fields_and_the_queue_and_export_show_them(
    store: Store, client: TestClient, db_url: str, capsys: pytest.CaptureFixture
) -> None:
    same = {"natural_person": 1, "commercial": 2}
    earlier = add(store, "x2023", record("X市财政局", 2023, forward={**same, "total": 3}))
    later = add(store, "x2024", record("X市财政局", 2024, over={**same, "total": 2}))
    assert client.get("/queue").json()["documents"] == []  # every field confident: nothing waits

    assert main(["check", "--db", db_url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "cross-year check: 1 pairs checked, 1 breaks (2 fields flagged), 0 ambiguous"
    ]
    forward, over = field_id(store, earlier, FORWARD), field_id(store, later, OVER)
    detail = f"2023 结转下年度 = 3 (doc {earlier}), 2024 上年结转 = 2 (doc {later})"
    assert [(f, k, d) for _, f, k, d in flags(store)] == [(forward, KIND, detail), (over, KIND, detail)]

    queue = client.get("/queue").json()
    waiting = {d["id"]: d["fields"] for d in queue["documents"]}
    assert set(waiting) == {earlier, later} and queue["fields_waiting"] == 2
    for document, key in ((earlier, FORWARD), (later, OVER)):
        (shown,) = waiting[document]
        assert shown["key"] == key and shown["status"] == "pending"
        assert {"kind": KIND, "detail": detail} in shown["reasons"]
        assert {"field": key, "kind": KIND, "detail": detail} in shown["flags"]
    assert KIND.replace("_", " ") in client.get("/").text

    row = export_row(store, later)
    assert row[f"{OVER}:status"] == "pending" and row[OVER] is None  # left empty until reviewed
    person = "s3.carried_over.natural_person"
    assert row[f"{person}:status"] == "auto" and row[person] == 1
    assert {"field": OVER, "kind": KIND, "detail": detail} in json.loads(row["flags"])
    assert export_row(store, earlier)[f"{FORWARD}:status"] == "pending"


def test_an_agreeing_pair_and_a_missing_value_flag_nothing(store: Store) -> None:
    add(store, "a", record("Y区", 2020, fmt="2019", forward={"total": 4, "research": None}))
    add(store, "b", record("Y区", 2021, over={"total": 4, "research": 7}))  # 2019 template, then 2021
    add(store, "c", record("Y区", 2023, over={"total": 9}))  # no 2022 report: nothing to compare with
    summary = check_cross_year(store)
    assert (summary.pairs, summary.breaks, summary.skipped) == (1, 0, 0)
    assert flags(store) == []


def test_a_rerun_replaces_the_flags_and_reviewed_values_count(store: Store, client: TestClient) -> None:
    earlier = add(store, "x2023", record("X", 2023, forward={"total": 3, "commercial": 1}))
    later = add(store, "x2024", record("X", 2024, over={"total": 2, "commercial": 1}))
    check_cross_year(store)
    first = flags(store)
    assert len(first) == 2
    assert check_cross_year(store).breaks == 1 and flags(store) == first  # idempotent: the same rows

    over = field_id(store, later, OVER)
    store.review(over, "correct", "li", 3)  # the reviewed value is the one in use
    assert check_cross_year(store).breaks == 0 and flags(store) == []

    commercial = field_id(store, earlier, "s3.carried_forward.commercial")
    store.review(commercial, "correct", "li", 5)
    assert check_cross_year(store).breaks == 1
    (_, flagged_forward, _, detail), (_, flagged_over, _, _) = flags(store)
    assert flagged_forward == commercial and detail.startswith("2023 结转下年度 = 5")
    assert flagged_over == field_id(store, later, "s3.carried_over.commercial")
    # the reviewed side is answered (a review clears its doubt); the other side waits
    fields = {f["key"]: f for d in client.get("/queue").json()["documents"] for f in d["fields"]}
    assert set(fields) == {"s3.carried_over.commercial"}
    assert export_row(store, earlier)["s3.carried_forward.commercial:status"] == "reviewed"
    reviewed = client.post(
        f"/fields/{flagged_over}/review", json={"action": "accept", "reviewer": "wang"}, headers=AUTH
    ).json()
    assert reviewed["field"]["status"] == "reviewed" and reviewed["cross_year"]["breaks"] == 1
    assert client.get("/queue").json()["documents"] == []
    assert export_row(store, later)["s3.carried_over.commercial:status"] == "reviewed"
    # a reviewed value that mends the break: the re-run after the review takes both flags away
    client.post(
        f"/fields/{flagged_over}/review",
        json={"action": "correct", "value": 5, "reviewer": "wang"},
        headers=AUTH,
    )
    assert flags(store) == []


def test_agencies_are_matched_lightly_normalised_and_duplicates_are_ambiguous(store: Store) -> None:
    assert normalise_agency(" 某县（区）人民政府 办公室\u3000") == "某县(区)人民政府办公室"
    add(store, "a", record("某县（区）人民政府", 2022, forward={"total": 1}))
    add(store, "b", record("某县 (区) 人民政府", 2023, over={"total": 2}, forward={"total": 0}))
    add(store, "c", record("某县(区)人民政府", 2023, over={"total": 1}))  # another version of 2023
    add(store, "d", record("某县(区)人民政府", 2024, over={"total": 5}))
    summary = check_cross_year(store)
    assert (summary.pairs, summary.breaks, summary.skipped) == (0, 0, 2)  # 2022–2023 and 2023–2024
    groups = [(a.agency, a.year, len(a.documents)) for a in summary.ambiguous]
    assert groups == [("某县(区)人民政府", 2023, 2)]
    assert flags(store) == []


def test_check_command_lists_ambiguous_years(db_url: str, capsys: pytest.CaptureFixture) -> None:
    with Store.open(db_url) as store:
        add(store, "a", record("Z", 2022, forward={"total": 1}))
        first = add(store, "b", record("Z", 2023, over={"total": 1}))
        second = add(store, "c", record("Z", 2023, over={"total": 1}))
    assert main(["check", "--db", db_url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "cross-year check: 0 pairs checked, 0 breaks (0 fields flagged), 1 ambiguous",
        f"ambiguous: Z 2023 is held by documents {first}, {second}; pairs skipped",
    ]


def test_a_meta_review_makes_an_unmatched_pair_checkable(
    store: Store, client: TestClient, tmp_path: Path
) -> None:
    earlier = add(store, "x2023", record("X市财政局", 2023, forward={"total": 3}))
    doubt = {"field": "meta.agency", "kind": "meta_uncertain", "detail": "title and opening differ"}
    later = add(store, "x2024", record("X市政府", 2024, over={"total": 2}, flags=[doubt]))
    assert check_cross_year(store).pairs == 0

    queue = client.get("/queue").json()
    assert [d["id"] for d in queue["documents"]] == [later] and queue["documents_waiting"] == 1
    assert queue["documents"][0]["fields"] == [] and queue["documents"][0]["meta"]["doubts"] == [doubt]
    page = client.get("/").text
    assert "meta-item" in page and "title and opening differ" in page
    assert export_row(store, later)["agency:status"] == "pending"

    body = {"action": "correct", "value": "X市财政局", "reviewer": "li"}
    assert client.post(f"/documents/{later}/meta/agency/review", json=body).status_code == 401
    for key, value in (("year", "2024年"), ("year", 20024), ("agency", 12), ("format", "2021")):
        refused = client.post(
            f"/documents/{later}/meta/{key}/review", json={**body, "value": value}, headers=AUTH
        )
        assert refused.status_code == 422, (key, value)  # a year is an integer in range, an agency a name
    result = client.post(f"/documents/{later}/meta/agency/review", json=body, headers=AUTH)
    assert result.status_code == 200, result.text
    result = result.json()
    assert result["meta"]["agency"] == "X市财政局" and result["meta"]["extracted"]["agency"] == "X市政府"
    assert result["meta"]["status"]["agency"] == "reviewed" and result["meta"]["doubts"] == []
    assert result["cross_year"] == {"pairs": 1, "breaks": 1, "flagged": 2, "ambiguous": 0}
    assert result["remaining"] == 1  # the 上年结转 total the check just flagged

    assert len(flags(store)) == 2 and check_cross_year(store).breaks == 1
    waiting = {d["id"]: [f["key"] for f in d["fields"]] for d in client.get("/queue").json()["documents"]}
    assert waiting == {earlier: [FORWARD], later: [OVER]}
    row = export_row(store, later)
    assert (row["agency"], row["agency:status"]) == ("X市财政局", "reviewed")
    assert client.get(f"/documents/{later}").json()["record"]["meta"]["agency"] == "X市财政局"
    described = client.get(f"/documents/{later}/meta").json()
    assert [(r["key"], r["action"], r["old_value"], r["new_value"]) for r in described["reviews"]] == [
        ("agency", "correct", "X市政府", "X市财政局")
    ]
    labels = [(c["field"], c["value"]) for c in store.corrections()]
    assert labels == [("meta.agency", "X市财政局")]
    out = tmp_path / "corrections.jsonl"
    assert export_corrections(store, out) == 1
    labelled = pytest.importorskip("nianbao.training.labelled")
    assert [(c.field, c.value) for c in labelled.parse_corrections(out)] == labels  # the trainer reads it

    # the year set by a reviewer moves the document out of the pair: its flags go with it
    moved = client.post(
        f"/documents/{later}/meta/year/review",
        json={"action": "correct", "value": 2025, "reviewer": "li"},
        headers=AUTH,
    ).json()
    assert moved["cross_year"]["pairs"] == 0 and flags(store) == []
    assert export_row(store, later)["year"] == 2025


def test_meta_reviews_append_and_not_stated_makes_a_document_unmatched(store: Store) -> None:
    add(store, "a", record("X", 2023, forward={"total": 3}))
    later = add(store, "b", record("X", 2024, over={"total": 2}))
    assert check_cross_year(store).breaks == 1
    store.review_meta(later, "year", "accept", "li")
    store.review_meta(later, "year", "not_stated", "wang")
    with pytest.raises(ValueError):
        store.review_meta(later, "year", "correct", "li", "2024")
    with pytest.raises(ValueError):
        store.review_meta(later, "agency", "correct", "li", "  ")
    with pytest.raises(ValueError):
        store.review_meta(later, "format", "correct", "li", "2021")
    with pytest.raises(KeyError):
        store.review_meta(999999, "year", "accept", "li")
    with store.sessions() as session:
        trail = session.scalars(select(MetaReviewRow).order_by(MetaReviewRow.id)).all()
        assert [(r.action, r.old_value, r.new_value) for r in trail] == [
            ("accept", 2024, 2024),
            ("not_stated", 2024, None),
        ]
    assert check_cross_year(store).pairs == 0 and flags(store) == []
    assert export_row(store, later)["year"] is None


def test_meta_doubts_of_an_older_database_are_read_from_its_records(db_url: str) -> None:
    engine, config = create_engine(db_url), Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    disagrees = {"field": "meta.year", "kind": "meta_disagrees", "detail": "2023 vs 2024"}
    rec = record("X", 2023, flags=[disagrees, {"field": "s2.rules.new", "kind": "inferred", "detail": ""}])
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.execute(
            text("INSERT INTO documents (sha256, path, size, created_at) VALUES ('ab', 'old.md', 1, :t)"),
            {"t": "2025-01-01 00:00:00+00:00"},
        )
        for record_json in (json.dumps(rec, ensure_ascii=False), json.dumps(record("X", 2024))):
            connection.execute(
                text(
                    "INSERT INTO extractions (document_id, pipeline_version, model_version, state, agency, "
                    "year, format, record, created_at) VALUES (1, :p, 'm', 'done', 'X', 2023, '2021', :r, :t)"
                ),
                {"p": record_json[-20:], "r": record_json, "t": "2025-01-01 00:00:00+00:00"},
            )
    engine.dispose()
    with Store.open(db_url) as store, store.sessions() as session:
        doubts = [e.meta_doubts for e in session.scalars(select(ExtractionRow).order_by(ExtractionRow.id))]
    assert doubts == [[disagrees], None]


def test_a_batch_ends_with_the_check(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'batch.db'}") as store:
        summary = run_batch([SAMPLES / "syn_md_705851321.md"], store, BatchSettings(workers=1))
    assert summary.cross_year is not None
    expected = "; cross-year check: 0 pairs checked, 0 breaks (0 fields flagged), 0 ambiguous"
    assert summary.line().endswith(expected)
