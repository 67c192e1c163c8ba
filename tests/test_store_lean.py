"""The lean field rows (issue 21): several documents stored in one commit, provenance once per label and
block, the record rebuilt from the field rows, and a database of the schema before (0005) upgraded in place
with its reviews, and back; keys interned too (0007), once per extraction, and compared by their ids."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from pg_server import fresh_database
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from nianbao.export import dataset_rows
from nianbao.extraction.pipeline import Extractor
from nianbao.locations import join_location, split_location
from nianbao.store import (
    MIGRATIONS,
    CheckFlagRow,
    Extracted,
    ExtractionRow,
    FieldRow,
    ReviewRow,
    Store,
    TextRow,
    content_hash,
)
from nianbao.store.crossyear import KEYS, reports_query
from nianbao.store.extractions import FIELD_COLUMNS
from nianbao.stored_fields import flag_fields, stored_fields

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
BEFORE = "0005"  # the schema nianbao wrote before the lean rows
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def pdf_extraction(extractor: Extractor) -> tuple[dict, dict]:
    record, evidence = extractor.extract_with_evidence(sorted(SAMPLES.glob("*.pdf"))[0])
    assert record["error"] is None and evidence
    first, second, third = list(record["fields"])[:3]
    flags = [
        {"field": first, "kind": "inferred", "detail": "an identity gave it"},
        {"fields": [first, second, third], "kind": "identity_broken", "detail": "一 + 二 ≠ 三"},
    ]
    return {**record, "flags": flags}, evidence


def _alembic(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def test_the_bulk_insert_names_every_column_of_a_field_row() -> None:
    assert set(FIELD_COLUMNS) == {column.name for column in FieldRow.__table__.columns} - {"id"}


@pytest.mark.parametrize(
    "where",
    ["table 5 row 4 col 10", "page 1 table 2 row 3 col 4", "line 7 col 2", "narrative", "", "t col 04"],
)
def test_a_location_comes_back_exactly(where: str) -> None:
    assert join_location(*split_location(where)) == where


def test_documents_finished_together_share_one_commit_and_give_their_records_back(
    db_url: str, pdf_extraction
) -> None:
    record, evidence = pdf_extraction
    fields = stored_fields(record, evidence)
    store = Store.open(db_url)
    documents = [store.add_document(content_hash(bytes([n])), f"/a/{n}.pdf", 1, "pdf") for n in range(3)]
    saved = store.save_extractions([Extracted(d, record, fields) for d in documents], "p", "m")
    assert len(set(saved)) == 3
    assert store.save_extractions([Extracted(documents[0], record, fields)], "p", "m") == saved[:1]
    with store.sessions() as session:
        texts = session.scalar(select(func.count()).select_from(TextRow))
        cells = evidence.values()
        labels = {c.label for c in cells} | {split_location(c.where)[0] for c in cells}
        assert texts == len(labels | set(record["fields"]))  # keys too (issue 21: interned keys)
        for extraction in session.scalars(select(ExtractionRow)):
            assert json.dumps(extraction.full_record()) == json.dumps(record)  # in order, types kept
            assert extraction.record["fields"] is None and extraction.record["confidence"] is None
            named = {k for f in record["flags"] for k in flag_fields(f)}
            for row in extraction.fields:
                assert row.flags == [f for f in record["flags"] if row.key in flag_fields(f)]
                assert (row.key in named) == bool(row.flags)
        unflagged = session.scalar(select(func.count()).where(text("flags IS NULL")).select_from(FieldRow))
        assert unflagged == 3 * len({k for k in record["fields"]} - named)
    store.close()


def test_a_group_is_stored_whole_or_not_at_all(db_url: str, pdf_extraction) -> None:
    record, evidence = pdf_extraction
    fields = stored_fields(record, evidence)
    store = Store.open(db_url)
    document = store.add_document(content_hash(b"x"), "/a/x.pdf", 1, "pdf")
    with pytest.raises(ValueError):  # the second item's state is refused after the first was written
        store.save_extractions(
            [
                Extracted(document, record, fields),
                Extracted(document, record, stored_fields(record, {}), "odd"),
            ],
            "p",
            "m",
        )
    assert store.extractions_of(document) == []
    store.close()


def _old_database(db_url: str, record: dict, evidence: dict, revision: str) -> Engine:
    """An engine on a database holding ``_old_rows``, its schema upgraded from BEFORE to ``revision``."""
    engine = create_engine(db_url)
    with engine.begin() as connection:
        command.upgrade(_alembic(connection), BEFORE)
        _old_rows(connection, record, evidence)
        command.upgrade(_alembic(connection), revision)
    return engine


def _old_rows(connection, record: dict, evidence: dict) -> None:
    """A document, its extraction and fields as nianbao wrote them at 0005, a review, a carried review and
    a check flag."""
    connection.execute(
        text("INSERT INTO documents (id, sha256, path, size, created_at) VALUES (1, 'ab', '/a.pdf', 1, :t)"),
        {"t": NOW},
    )
    for extraction in (1, 2):
        connection.execute(
            text(
                "INSERT INTO extractions (id, document_id, pipeline_version, model_version, state, record, "
                "created_at) VALUES (:i, 1, 'p', :m, 'done', :r, :t)"
            ),
            {"i": extraction, "m": f"m{extraction}", "r": json.dumps(record), "t": NOW},
        )
    rows = []
    for extraction in (1, 2):
        for key, value in record["fields"].items():
            cell = evidence.get(key)
            rows.append(
                {
                    "e": extraction,
                    "k": key,
                    "v": json.dumps(value),
                    "c": record["confidence"][key],
                    "f": json.dumps([f for f in record["flags"] if key in flag_fields(f)]),
                    "s": cell.raw if cell else None,
                    "l": cell.label if cell else None,
                    "w": cell.where if cell else None,
                }
            )
    connection.execute(
        text(
            "INSERT INTO field_values (extraction_id, key, value, confidence, flags, source_text, label, "
            "location) VALUES (:e, :k, :v, :c, :f, :s, :l, :w)"
        ),
        rows,
    )
    _decisions(connection, len(record["fields"]))


def _decisions(connection, fields: int) -> None:
    """A review of the middle field of extraction 1 (of ``fields`` fields each), its decision carried to
    the same field of extraction 2, and a check flag of that field against the first."""
    first, second = fields // 2, fields + fields // 2
    review = (
        "INSERT INTO reviews (id, field_id, action, old_value, new_value, reviewer, created_at, carried_from)"
    )
    connection.execute(
        text(review + " VALUES (1, :f, 'correct', '1', '2', 'ann', :t, NULL)"), {"f": first, "t": NOW}
    )
    connection.execute(
        text(review + " VALUES (2, :f, 'correct', '1', '2', 'ann', :t, 1)"), {"f": second, "t": NOW}
    )
    connection.execute(
        text(
            "INSERT INTO check_flags (field_id, other_field_id, kind, detail, created_at) "
            "VALUES (:f, :o, 'x', 'y', :t)"
        ),
        {"f": second, "o": first, "t": NOW},
    )


def _json(value):
    """A JSON column's value as Python, whichever driver read it (SQLite gives text)."""
    return json.loads(value) if isinstance(value, str) else value


def _snapshot(connection) -> list:
    """The rows the lean schema changes, and those pointing to them, as plain values."""
    query = "SELECT id, extraction_id, key, value, confidence, flags, source_text, label, location "
    query += "FROM field_values"
    fields = [
        (i, e, k, _json(v), c, _json(f), *rest)
        for i, e, k, v, c, f, *rest in connection.execute(text(query + " ORDER BY id"))
    ]
    records = [_json(r) for (r,) in connection.execute(text("SELECT record FROM extractions ORDER BY id"))]
    reviews = [
        tuple(r)
        for r in connection.execute(text("SELECT id, field_id, carried_from FROM reviews ORDER BY id"))
    ]
    checks = [tuple(r) for r in connection.execute(text("SELECT field_id, other_field_id FROM check_flags"))]
    return [fields, records, reviews, checks]


def test_a_database_of_the_schema_before_is_made_lean_with_its_reviews_and_back(
    db_url: str, pdf_extraction
) -> None:
    record, evidence = pdf_extraction
    engine = _old_database(db_url, record, evidence, BEFORE)
    with engine.connect() as connection:
        before = _snapshot(connection)
    engine.dispose()
    store = Store.open(db_url)  # upgraded to the head
    with store.sessions() as session:
        for extraction in session.scalars(select(ExtractionRow).order_by(ExtractionRow.id)):
            assert json.dumps(extraction.full_record()) == json.dumps(record)
            assert extraction.record["fields"] is None
            old = [r for r in before[0] if r[1] == extraction.id]
            assert [(r.key, r.flags, r.source_text, r.label, r.location) for r in extraction.fields] == [
                (key, flags, source, label, where) for _, _, key, _, _, flags, source, label, where in old
            ]
        assert [(r.id, r.field_id, r.carried_from) for r in session.scalars(select(ReviewRow))] == before[2]
        assert session.scalar(select(CheckFlagRow.field_id)) == before[3][0][0]
    with store.engine.begin() as connection:
        command.downgrade(_alembic(connection), BEFORE)
    with store.engine.connect() as connection:
        after = _snapshot(connection)
    store.close()
    assert after == before


# field_values at 0006, the revision before interned keys; reviews, check flags and texts unchanged by it
AT_0006 = {
    "field_values": "id, extraction_id, key, value, confidence, flags, source_text, label_id, block_id, "
    "cell_row, cell_col, page, x0, top, x1, bottom",
    "extractions": "id, document_id, model_version, record",
    "reviews": "*",
    "check_flags": "*",
    "texts": "id, sha256, text",
}
EXPORT_META = ("agency", "agency:status", "year", "year:status", "format")  # extractions' columns, not rows'


def _at_0006(connection) -> dict[str, list]:
    return {
        table: [tuple(r) for r in connection.execute(text(f"SELECT {columns} FROM {table} ORDER BY id"))]
        for table, columns in AT_0006.items()
    }


def _field_data(store: Store) -> tuple[list, list, list]:
    """What readers of field rows get, by key: the export's field columns and flags, the cross-year
    check's rows (``FieldRow.key.in_``), the corrections' fields (``select(ReviewRow, FieldRow.key)``)."""
    export = [
        {k: v for k, v in row.items() if k not in EXPORT_META}
        for row in dataset_rows(store, 0.9, include_all=True)
    ]
    with store.sessions() as session:
        reports = [tuple(r)[7:] for r in session.execute(reports_query().order_by(FieldRow.id))]
    corrections = [(c["field"], c["value"], c["reviewer"]) for c in store.corrections()]
    return export, reports, corrections


def test_a_database_at_0006_gets_its_keys_interned_with_its_reviews_and_back(
    db_url: str, tmp_path: Path, pdf_extraction
) -> None:
    record, evidence = pdf_extraction
    fields = stored_fields(record, evidence)
    engine = _old_database(db_url, record, evidence, "0006")
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # rows given their ids: the next ones follow
            for table in ("extractions", "reviews"):
                connection.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    with engine.connect() as connection:
        before = _at_0006(connection)
    engine.dispose()
    # the same data written by nianbao at the head, to compare what the readers get
    written = Store.open(f"sqlite:///{tmp_path / 'written.db'}")
    document = written.add_document("ab", "/a.pdf", 1)
    for model in ("m1", "m2"):
        written.save_extractions([Extracted(document, record, fields)], "p", model)
    with written.engine.begin() as connection:
        _decisions(connection, len(record["fields"]))
    store = Store.open(db_url)  # upgraded to the head
    with store.sessions() as session:
        rows = session.scalars(select(FieldRow).order_by(FieldRow.id)).all()
        assert [(r.id, r.extraction_id, r.key) for r in rows] == [f[:3] for f in before["field_values"]]
        assert [(r.label_id, r.block_id) for r in rows] == [f[7:9] for f in before["field_values"]]
        assert len({r.key_id for r in rows}) == len(record["fields"])
        for extraction in session.scalars(select(ExtractionRow).order_by(ExtractionRow.id)):
            assert json.dumps(extraction.full_record()) == json.dumps(record)
    with store.engine.connect() as connection:
        for table in ("reviews", "check_flags"):
            query = text(f"SELECT * FROM {table} ORDER BY id")
            assert [tuple(r) for r in connection.execute(query)] == before[table]
    found = _field_data(store)
    assert found == _field_data(written)
    assert len(found[0]) == 1 and len(found[1]) == len(KEYS) and len(found[2]) == 1
    written.close()
    with store.engine.begin() as connection:
        command.downgrade(_alembic(connection), "0006")
    with store.engine.connect() as connection:
        after = _at_0006(connection)
    texts, labels = after.pop("texts"), before.pop("texts")
    assert texts[: len(labels)] == labels  # the keys' texts stay after them, as texts do
    assert {t for _, _, t in texts[len(labels) :]} == set(record["fields"])
    assert after == before
    store.close()
    store = Store.open(db_url)  # up again: the keys found in texts, a new extraction gets the review
    assert _field_data(store) == found
    store.save_extractions([Extracted(1, record, fields)], "p", "m3")
    reviewed = list(record["fields"])[len(record["fields"]) // 2 - 1]  # field ids count from 1
    with store.sessions() as session:
        newest = session.scalar(select(ExtractionRow).where(ExtractionRow.model_version == "m3"))
        carried = [(r.key, [v.carried_from for v in r.reviews]) for r in newest.fields if r.reviews]
        assert carried == [(reviewed, [1])]
        assert session.scalar(select(func.count()).select_from(TextRow)) == len(texts)
    store.close()


def test_a_key_is_stored_once_per_extraction(db_url: str, pdf_extraction) -> None:
    record, evidence = pdf_extraction
    fields = stored_fields(record, evidence)
    store = Store.open(db_url)
    document = store.add_document(content_hash(b"k"), "/k.pdf", 1, "pdf")
    (extraction,) = store.save_extractions([Extracted(document, record, fields)], "p", "m")
    copy = (
        "INSERT INTO field_values (extraction_id, key_id, value, confidence) "
        "SELECT extraction_id, :k, value, confidence FROM field_values WHERE id = :i"
    )
    with store.sessions() as session:
        field = session.scalar(select(FieldRow).where(FieldRow.extraction_id == extraction).limit(1))
        other = session.scalar(select(TextRow.id).where(TextRow.text == field.label))  # not a key
        field_id, key_id = field.id, field.key_id
    with store.engine.begin() as connection:
        connection.execute(text(copy), {"k": other, "i": field_id})  # another key: a row of its own
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        connection.execute(text(copy), {"k": key_id, "i": field_id})
    store.close()


def test_keys_compared_in_sql_are_compared_by_their_text_ids(db_url: str, pdf_extraction) -> None:
    record, evidence = pdf_extraction
    fields = stored_fields(record, evidence)
    store = Store.open(db_url)
    documents = [store.add_document(content_hash(bytes([n])), f"/c/{n}.pdf", 1, "pdf") for n in range(2)]
    store.save_extractions([Extracted(d, record, fields) for d in documents], "p", "m")
    keys = list(record["fields"])[3:6]
    with store.sessions() as session:
        rows = session.scalars(select(FieldRow).order_by(FieldRow.id)).all()
        for field in (FieldRow, aliased(FieldRow)):
            query = select(field.id).order_by(field.id)
            assert "texts.text" not in str(query.where(field.key.in_(keys)))  # no text looked up per row
            assert session.scalars(query.where(field.key.in_(keys))).all() == [
                r.id for r in rows if r.key in keys
            ]
            assert session.scalars(query.where(field.key == keys[0])).all() == [
                r.id for r in rows if r.key == keys[0]
            ]
            assert session.scalars(query.where(field.key.in_({"no.such.key": 1}))).all() == []
            assert session.scalars(query.where(field.key != keys[0])).all() == [
                r.id for r in rows if r.key != keys[0]
            ]
    store.close()


def test_texts_another_writer_stored_are_shared_not_added_again(db_url: str, pdf_extraction) -> None:
    record, evidence = pdf_extraction
    fields = stored_fields(record, evidence)
    first, second = Store.open(db_url), Store.open(db_url)  # two writers: neither knows the other's texts
    documents = [first.add_document(content_hash(bytes([n])), f"/t/{n}.pdf", 1, "pdf") for n in range(2)]
    first.save_extractions([Extracted(documents[0], record, fields)], "p", "m")
    with first.sessions() as session:
        held = session.scalar(select(func.count()).select_from(TextRow))
    renamed = next(iter(evidence))  # one label the first writer never stored: held texts and a new one
    changed = {**evidence, renamed: replace(evidence[renamed], label="一个新的标签")}
    second.save_extractions([Extracted(documents[1], record, stored_fields(record, changed))], "p", "m")
    with second.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TextRow)) == held + 1
        rows = session.scalars(select(FieldRow).order_by(FieldRow.id)).all()
        by_document = {}
        for row in rows:
            by_document.setdefault(row.extraction.document_id, {})[row.key] = row.label
        expected = {key: cell.label for key, cell in changed.items()}
        assert {key: label for key, label in by_document[documents[1]].items() if key in expected} == expected
        assert by_document[documents[0]][renamed] == evidence[renamed].label != "一个新的标签"
    first.close()
    second.close()


def test_on_postgresql_an_extraction_commit_alone_does_not_wait_for_the_disk(
    postgres_url: str, pdf_extraction
) -> None:
    record, evidence = pdf_extraction
    fields = stored_fields(record, evidence)
    store = Store.open(fresh_database(postgres_url))
    document = store.add_document(content_hash(b"s"), "/s.pdf", 1, "pdf")
    seen: list[str] = []

    def setting(session: Session) -> None:
        seen.append(session.execute(text("SHOW synchronous_commit")).scalar_one())

    event.listen(Session, "before_commit", setting)
    try:
        store.save_extractions([Extracted(document, record, fields)], "p", "m")
        with store.sessions() as session:  # any other transaction: a review's, a batch's files
            session.execute(text("SELECT 1"))
            session.commit()
    finally:
        event.remove(Session, "before_commit", setting)
    assert seen == ["off", "on"]
    store.close()
