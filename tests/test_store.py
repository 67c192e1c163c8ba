"""The database store: schema by migration, documents by content, extractions by version, an audit trail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, select, text

from nianbao.errors import CodedError, ErrorCode
from nianbao.extraction.pipeline import Extractor
from nianbao.store import (
    MIGRATIONS,
    Base,
    DocumentRow,
    ExtractionRow,
    FieldRow,
    ReviewRow,
    Store,
    content_hash,
)
from nianbao.stored_fields import flag_fields
from nianbao.workers import fingerprint

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture
def store(db_url: str) -> Store:
    opened = Store.open(db_url)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def pdf_extraction(extractor: Extractor) -> tuple[Path, dict, dict]:
    path = sorted(SAMPLES.glob("*.pdf"))[0]
    record, evidence = extractor.extract_with_evidence(path)
    assert record["error"] is None and evidence
    return path, record, evidence


def _count(store: Store, row: type) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(row))


def test_migrations_make_the_schema_and_opening_again_changes_nothing(db_url: str) -> None:
    first = Store.open(db_url)
    tables = set(inspect(first.engine).get_table_names())
    assert {"documents", "extractions", "field_values", "reviews", "files", "batch_jobs"} <= tables
    first.close()
    again = Store.open(db_url)  # an upgrade at head is a no-op, not an error
    with again.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == _head()
    again.close()


def test_the_migrations_make_the_schema_the_models_describe(db_url: str) -> None:
    store = Store.open(db_url)
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    store.close()
    assert differences == []


def _alembic() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _head() -> str:
    return ScriptDirectory.from_config(_alembic()).get_current_head()


def test_an_older_database_is_upgraded_in_place_keeping_its_rows(db_url: str) -> None:
    engine, config = create_engine(db_url), _alembic()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")  # the first schema, as an early nianbao made it
        connection.execute(
            text("INSERT INTO documents (sha256, path, size, created_at) VALUES ('ab', 'old.txt', 1, :t)"),
            {"t": "2025-01-01 00:00:00+00:00"},
        )
    engine.dispose()
    store = Store.open(db_url)
    assert "files" in inspect(store.engine).get_table_names()
    with store.sessions() as session:
        assert session.scalar(select(DocumentRow.path)) == "old.txt"
    assert store.add_document("ab", "old.txt", 1) == 1  # the same content is the same document
    store.set_file("old.txt", "failed", 1, CodedError(ErrorCode.E_CORRUPT, "truncated"))
    assert store.file_states() == {str(Path("old.txt").absolute()): ("failed", "E_CORRUPT")}
    store.close()


def test_a_document_is_its_content_not_its_path(store: Store) -> None:
    first = store.add_document(content_hash(b"same bytes"), "a/report.txt", 10, "txt")
    second = store.add_document(content_hash(b"same bytes"), "b/copy.txt", 10, "txt")
    other = store.add_document(content_hash(b"other bytes"), "c/other.txt", 11, "txt")
    assert first == second != other
    with store.sessions() as session:
        assert session.get(DocumentRow, first).path == str(Path("b/copy.txt").absolute())  # kept absolute
    assert _count(store, DocumentRow) == 2


def test_an_extraction_keeps_every_field_with_its_provenance(store: Store, pdf_extraction) -> None:
    path, record, evidence = pdf_extraction
    document = store.add_document(fingerprint(path)[0], str(path), path.stat().st_size, "pdf")
    saved = store.save_extraction(document, record, evidence, "p1", "m1")
    assert store.save_extraction(document, record, evidence, "p1", "m1") == saved  # keyed, not duplicated
    assert store.extractions_of(document) == [("p1", "m1", "done")]
    with store.sessions() as session:
        extraction = session.get(ExtractionRow, saved)
        assert extraction.state == "done" and extraction.format == record["meta"]["format"]
        assert json.dumps(extraction.full_record()) == json.dumps(record)  # in order, types kept
        fields = {row.key: row for row in extraction.fields}
    assert set(fields) == set(record["fields"])
    for key, cell in evidence.items():
        row = fields[key]
        assert row.value == record["fields"][key] and row.confidence == record["confidence"][key]
        assert row.source_text == cell.raw and row.location == cell.where and row.label == cell.label
        assert (row.page, row.x0, row.top, row.x1, row.bottom) == pytest.approx(
            (cell.box.page, cell.box.x0, cell.box.top, cell.box.x1, cell.box.bottom)
        )
    assert _count(store, FieldRow) == len(record["fields"])


def test_a_failed_file_is_stored_with_its_error_code(
    store: Store, extractor: Extractor, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj <<")
    record, evidence = extractor.extract_with_evidence(broken)
    document = store.add_document(fingerprint(broken)[0], str(broken), 19)
    with store.sessions() as session:
        extraction = session.get(ExtractionRow, store.save_extraction(document, record, evidence, "p", "m"))
        assert extraction.state == "failed" and extraction.error_code == "E_CORRUPT"
        assert not extraction.fields
    # a retry that succeeds takes the failed attempt's place under the same key
    good = {**record, "error": None, "fields": {"s2.rules.new": 3}, "confidence": {"s2.rules.new": 0.9}}
    retried = store.save_extraction(document, good, {}, "p", "m")
    assert store.extractions_of(document) == [("p", "m", "done")]
    assert store.save_extraction(document, record, evidence, "p", "m") == retried  # a success stays


def test_reviews_append_and_the_newest_decides_the_value(store: Store, pdf_extraction) -> None:
    path, record, evidence = pdf_extraction
    document = store.add_document(fingerprint(path)[0], str(path), path.stat().st_size, "pdf")
    extraction = store.save_extraction(document, record, evidence, "p1", "m1")
    key = next(iter(evidence))
    with store.sessions() as session:
        field_id = session.scalar(
            select(FieldRow.id).where(FieldRow.extraction_id == extraction, FieldRow.key == key)
        )
    extracted = record["fields"][key]
    store.review(field_id, "accept", "alice")
    store.review(field_id, "correct", "bob", 41)
    store.review(field_id, "not_stated", "carol")
    with pytest.raises(ValueError):
        store.review(field_id, "guess", "mallory", 1)
    with store.sessions() as session:
        row = session.get(FieldRow, field_id)
        trail = [(r.action, r.old_value, r.new_value, r.reviewer) for r in row.reviews]
        assert row.value == extracted and row.current is None  # the extraction itself is never overwritten
    assert trail == [
        ("accept", extracted, extracted, "alice"),
        ("correct", extracted, 41, "bob"),
        ("not_stated", 41, None, "carol"),
    ]
    labels = list(store.corrections())
    assert [(c["field"], c["value"], c["reviewer"]) for c in labels] == [
        (key, extracted, "alice"),
        (key, 41, "bob"),
        (key, None, "carol"),
    ]
    assert all(c["document"] == str(path) and c["time"] for c in labels)
    assert _count(store, ReviewRow) == 3


def test_an_identity_flag_reaches_every_field_it_names(store: Store, pdf_extraction) -> None:
    path, record, evidence = pdf_extraction
    keys = list(record["fields"])[:2]
    flag = {"identity": "x:y", "fields": keys, "kind": "source_inconsistent", "detail": "1 = 2"}
    assert flag_fields(flag) == keys
    broken = {**record, "flags": [*record["flags"], flag]}
    document = store.add_document(fingerprint(path)[0], str(path), path.stat().st_size, "pdf")
    extraction = store.save_extraction(document, broken, evidence, "p1", "m1")
    with store.sessions() as session:
        flagged = {
            row.key
            for row in session.get(ExtractionRow, extraction).fields
            if any(f["kind"] == "source_inconsistent" for f in row.flags)
        }
    assert flagged == set(keys)
