"""The review service: queue content and order, the audit trail, tokens, file access, uploads, OpenAPI,
and the corrections export read back by the trainer."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from nianbao.app import AppSettings, create_app, export_corrections
from nianbao.app.queue import field_name
from nianbao.export import field_status
from nianbao.extraction.pipeline import Extractor
from nianbao.extraction.validation import validate
from nianbao.schema import load_schema
from nianbao.store import DocumentRow, FieldRow, ReviewRow, Store
from nianbao.workers import fingerprint

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
PDF, MARKDOWN = SAMPLES / "syn_pdf_370615787.pdf", SAMPLES / "syn_md_705851321.md"
MISREAD = "s3.new.natural_person"  # a field both templates have, made to break its identities
LOW = {"s2.rules.new": 0.31, "s4.review.total": 0.52}  # PDF fields made unsure (2021 template keys)
MD_LOW = "s3.new.total"  # the one doubtful field of the Markdown document
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = 64 * 1024  # upload size limit of the test app
LOCAL = "http://localhost"  # a host the app allows: test clients name it in their Host header


def _misread(record: dict, key: str, by: int) -> None:
    """What a misread digit does: the value is off, validation flags the identities it breaks."""
    values = dict(record["fields"])
    values[key] += by
    checked = validate(values, record["confidence"], load_schema(), record["meta"]["format"])
    record["fields"], record["confidence"] = checked.values, checked.confidence
    record["flags"] += [f.to_json() for f in checked.flags if f.kind == "source_inconsistent"]


def fill_store(store: Store, extractor: Extractor) -> dict[str, int]:
    """A PDF with a broken identity and two unsure fields, and a Markdown report with one unsure field;
    returns document ids by suffix."""
    ids = {}
    for path in (PDF, MARKDOWN):
        record, evidence = extractor.extract_with_evidence(path)
        if path == PDF:
            _misread(record, MISREAD, 7)
            record["confidence"].update(LOW)
        else:
            record["confidence"][MD_LOW] = 0.4
        digest, size = fingerprint(path)
        document = store.add_document(digest, str(path), size, path.suffix[1:])
        store.save_extraction(document, record, evidence, "p", "m")
        ids[path.suffix] = document
    return ids


@pytest.fixture
def store(filled_db, tmp_path: Path) -> Iterator[Store]:
    """A fresh copy of the filled database for each test (reviews change it)."""
    copy = tmp_path / "review.db"
    shutil.copy(filled_db[0], copy)
    opened = Store.open(f"sqlite:///{copy}")
    yield opened
    opened.close()


@pytest.fixture
def ids(filled_db) -> dict[str, int]:
    return filled_db[1]


@pytest.fixture
def client(store: Store, tmp_path: Path) -> TestClient:
    settings = AppSettings(upload_dir=tmp_path / "uploads", max_upload_bytes=LIMIT)
    return TestClient(create_app(store, TOKEN, settings), base_url=LOCAL)


def _field_id(store: Store, document: int, key: str) -> int:
    with store.sessions() as session:
        return session.scalar(
            select(FieldRow.id)
            .join(FieldRow.extraction)
            .where(FieldRow.key == key)
            .where(FieldRow.extraction.has(document_id=document))
        )


def _reviews(store: Store) -> list[ReviewRow]:
    with store.sessions() as session:
        return list(session.scalars(select(ReviewRow).order_by(ReviewRow.id)))


def test_queue_holds_the_doubtful_fields_most_doubtful_first(client: TestClient, store: Store, ids) -> None:
    queue = client.get("/queue").json()
    documents = [d["id"] for d in queue["documents"]]
    assert documents == [ids[".pdf"], ids[".md"]]  # the broken identity puts the PDF first
    pdf = queue["documents"][0]
    keys = [f["key"] for f in pdf["fields"]]
    assert set(LOW) <= set(keys) and MISREAD in keys
    assert {f["identity"].split(":")[0] for f in pdf["broken"]} == {"s3.balance", "s3.applicants"}
    with store.sessions() as session:
        rows = session.scalars(select(FieldRow).where(FieldRow.extraction.has(document_id=ids[".pdf"]))).all()
        pending = {r.key for r in rows if field_status(r, 0.9) == "pending"}
    assert set(keys) == pending and len(keys) < len(rows)  # confident fields stay out
    in_identity = [any(r["kind"] == "identity" for r in f["reasons"]) for f in pdf["fields"]]
    assert in_identity == sorted(in_identity, reverse=True) and in_identity[0]
    rest = [f["confidence"] for f, broken in zip(pdf["fields"], in_identity, strict=True) if not broken]
    assert rest == sorted(rest) and rest
    low = next(f for f in pdf["fields"] if f["key"] == "s2.rules.new")
    assert [r["kind"] for r in low["reasons"]] == ["low_confidence"]
    assert low["name_zh"]["row"] == load_schema().sections["s2"].rows["rules"] == "规章"
    assert [f["key"] for f in queue["documents"][1]["fields"]] == [MD_LOW]
    assert (queue["documents_waiting"], queue["fields_waiting"]) == (2, len(keys) + 1)


def test_queue_page_shows_name_reason_evidence_and_row(client: TestClient, store: Store, ids) -> None:
    page = client.get("/").text
    misread = _field_id(store, ids[".pdf"], MISREAD)
    md = _field_id(store, ids[".md"], MD_LOW)
    name = field_name(load_schema(), MISREAD)
    assert name.row in page and name.column in page
    assert f'src="/fields/{misread}/crop.png"' in page
    md_item = page.split(f'data-field="{md}"', 1)[1].split("</article>", 1)[0]
    assert "<mark>" in md_item and 'class="target"' in md_item  # the source row, the value marked
    assert md_item.count("<th>") == len(load_schema().sections["s3"].columns)  # the whole table row
    assert "low confidence" in md_item
    assert "https://" not in page and "http://" not in page  # nothing from the network


def test_crop_outlines_the_cell_on_its_page_band(client: TestClient, store: Store, ids) -> None:
    field = _field_id(store, ids[".pdf"], MISREAD)
    response = client.get(f"/fields/{field}/crop.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    with store.sessions() as session:
        row = session.get(FieldRow, field)
        expected_height = (row.bottom - row.top + 2 * AppSettings().crop_margin_pt) * 100 / 72
    assert abs(image.height - expected_height) <= 3 and 780 < image.width < 900  # A4 width at 100 dpi
    pixels = np.asarray(image).astype(int)
    red = int(((pixels[..., 0] > 180) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)).sum())
    assert red > 2 * (row.x1 - row.x0) * 100 / 72  # the outline: at least its top and bottom edges
    md = _field_id(store, ids[".md"], MD_LOW)
    assert client.get(f"/fields/{md}/crop.png").status_code == 404  # a text form has no page
    source = client.get(f"/fields/{md}/source").json()
    target = [r for r in source if r["target"]]
    assert len(target) == 1 and target[0]["marked"] is not None
    assert target[0]["cells"][target[0]["marked"]] == row_source(store, md)


def row_source(store: Store, field_id: int) -> str:
    with store.sessions() as session:
        return session.get(FieldRow, field_id).source_text


def test_reviews_append_to_the_audit_trail(client: TestClient, store: Store, ids) -> None:
    field = _field_id(store, ids[".pdf"], "s2.rules.new")
    before = len(client.get("/queue").json()["documents"][0]["fields"])
    accept = {"action": "accept", "reviewer": "li"}
    accepted = client.post(f"/fields/{field}/review", json=accept, headers=AUTH)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["remaining"] == before - 1
    extracted = accepted.json()["field"]["extracted"]
    corrected = client.post(
        f"/fields/{field}/review", json={"action": "correct", "value": 41, "reviewer": "wang"}, headers=AUTH
    ).json()
    assert corrected["field"]["value"] == 41 and corrected["field"]["status"] == "reviewed"
    trail = [(r.action, r.old_value, r.new_value, r.reviewer) for r in _reviews(store)]
    assert trail == [("accept", extracted, extracted, "li"), ("correct", extracted, 41, "wang")]
    fields = client.get(f"/documents/{ids['.pdf']}/fields").json()
    shown = next(f for f in fields if f["id"] == field)
    assert [r["action"] for r in shown["reviews"]] == ["accept", "correct"]
    assert shown["extracted"] == extracted
    assert client.get(f"/documents/{ids['.pdf']}").json()["record"]["fields"]["s2.rules.new"] == 41
    assert field not in {f["id"] for f in client.get("/queue").json()["documents"][0]["fields"]}
    bad = client.post(f"/fields/{field}/review", json={"action": "correct", "reviewer": "li"}, headers=AUTH)
    assert bad.status_code == 422  # a correction without a value
    assert (
        client.post(
            "/fields/999999/review", json={"action": "accept", "reviewer": "li"}, headers=AUTH
        ).status_code
        == 404
    )
    assert len(_reviews(store)) == 2


def test_correcting_the_misread_field_mends_its_identities(client: TestClient, store: Store, ids) -> None:
    document, field = ids[".pdf"], _field_id(store, ids[".pdf"], MISREAD)
    with store.sessions() as session:
        misread = session.get(FieldRow, field).value
    broken = client.post(f"/documents/{document}/check", json={"values": {}}).json()["broken"]
    assert all(MISREAD in b["fields"] for b in broken) and len(broken) == 2
    trial = client.post(f"/documents/{document}/check", json={"values": {MISREAD: misread - 7}}).json()
    assert trial["broken"] == []
    assert not _reviews(store)  # a check writes nothing
    result = client.post(
        f"/fields/{field}/review",
        json={"action": "correct", "value": misread - 7, "reviewer": "li"},
        headers=AUTH,
    ).json()
    assert result["broken"] == []
    unknown = client.post(f"/documents/{document}/check", json={"values": {"s9.nothing.here": 1}})
    assert unknown.status_code == 422


def test_writes_need_the_token(client: TestClient, store: Store, ids) -> None:
    field = _field_id(store, ids[".pdf"], "s2.rules.new")
    body = {"action": "accept", "reviewer": "li"}
    assert client.post(f"/fields/{field}/review", json=body).status_code == 401
    wrong = client.post(f"/fields/{field}/review", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    upload = client.post("/documents", files={"file": ("a.md", MARKDOWN.read_bytes())})
    assert upload.status_code == 401
    assert not _reviews(store)
    by_header = client.post(f"/fields/{field}/review", json=body, headers={"X-Nianbao-Token": TOKEN})
    assert by_header.status_code == 200
    read_only = TestClient(create_app(store, None), base_url=LOCAL)
    assert read_only.post(f"/fields/{field}/review", json=body, headers=AUTH).status_code == 403
    assert read_only.get("/queue").status_code == 200  # reads need nothing
    assert len(_reviews(store)) == 1


def test_files_are_served_by_id_only(client: TestClient, tmp_path: Path) -> None:
    secret = "nianbao-secret-marker"
    (tmp_path / "secret.txt").write_text(secret)
    attempts = [
        "/fields/..%2F..%2Fsecret.txt/crop.png",
        "/fields/1/../../secret.txt",
        "/static/../pyproject.toml",
        "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%2F..%2F..%2Fpyproject.toml",
        f"/static/{tmp_path / 'secret.txt'}",
        "/documents/..%2Fsecret.txt",
    ]
    for url in attempts:
        response = client.get(url)
        assert response.status_code in (404, 405, 422), url
        assert secret not in response.text and "[build-system]" not in response.text, url
    upload = client.post(
        "/documents", files={"file": ("../../../escaped.md", MARKDOWN.read_bytes())}, headers=AUTH
    )
    assert upload.status_code == 201
    assert not list(tmp_path.parent.rglob("escaped.md"))  # the client's name never becomes a path
    stored = list((tmp_path / "uploads").rglob("*.md"))
    assert [p.stem for p in stored] == [upload.json()["sha256"]]
    described = client.get(f"/documents/{upload.json()['id']}").json()
    assert "/" not in described["name"] and "/" not in described["record"]["document"]


def test_uploads_are_extracted_once_and_size_limited(client: TestClient) -> None:
    first = client.post("/documents", files={"file": ("report.md", MARKDOWN.read_bytes())}, headers=AUTH)
    assert first.status_code == 201 and first.json()["state"] in ("done", "partial")
    document = first.json()["id"]
    again = client.post("/documents", files={"file": ("copy.md", MARKDOWN.read_bytes())}, headers=AUTH)
    assert again.json()["id"] == document
    described = client.get(f"/documents/{document}").json()
    gold = json.loads(MARKDOWN.with_suffix(".gold.json").read_text("utf-8"))
    assert described["record"]["meta"]["agency"] == gold["meta"]["agency"]
    fields = client.get(f"/documents/{document}/fields").json()
    assert {f["key"] for f in fields} == set(load_schema().field_keys(described["record"]["meta"]["format"]))
    assert all("provenance" in f and 0 <= f["confidence"] <= 1 for f in fields)
    just_over = client.post("/documents", files={"file": ("big.txt", b"x" * (LIMIT + 1))}, headers=AUTH)
    assert just_over.status_code == 413
    far_over = b"x" * (3 * LIMIT)  # past the limit with the multipart slack too: refused before parsing
    declared = client.post("/documents", files={"file": ("big.txt", far_over)}, headers=AUTH)
    assert declared.status_code == 413
    head = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
    body = head + far_over + b"\r\n--xyz--\r\n"
    streamed = client.post(
        "/documents",
        content=(body[i : i + 8192] for i in range(0, len(body), 8192)),
        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert streamed.status_code == 413  # no Content-Length: cut off as the body grows
    assert client.post("/documents", files={"file": ("empty.md", b"")}, headers=AUTH).status_code == 400
    assert client.get("/documents/999999").status_code == 404


def test_openapi_schema_describes_the_routes(client: TestClient) -> None:
    response = client.get("/openapi.json")
    schema = json.loads(response.text)
    paths = schema["paths"]
    assert {"post"} <= set(paths["/documents"]) and "get" in paths["/documents/{document_id}"]
    assert "get" in paths["/documents/{document_id}/fields"] and "get" in paths["/queue"]
    assert "post" in paths["/fields/{field_id}/review"] and "post" in paths["/documents/{document_id}/check"]
    assert paths["/fields/{field_id}/review"]["post"].get("security")  # the token, documented
    assert "413" in paths["/documents"]["post"]["responses"]
    batches = paths["/batches"]["post"]
    assert batches.get("security") and {"202", "403", "422"} <= set(batches["responses"])
    assert "get" in paths["/batches"] and "get" in paths["/batches/{job_id}"]
    components = schema["components"]["schemas"]
    assert {"FieldOut", "DocumentOut", "ReviewIn", "BatchIn", "BatchOut", "FileCounts"} <= set(components)
    assert components["BatchOut"]["properties"]["state"]["enum"] == ["queued", "running", "done", "failed"]
    assert set(components["FileCounts"]["required"]) == {"pending", "done", "partial", "failed"}
    docs = client.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


def test_corrections_export_is_what_the_trainer_reads(
    client: TestClient, store: Store, ids, tmp_path: Path
) -> None:
    decisions = [
        ("s2.rules.new", {"action": "correct", "value": 5}),
        ("s4.review.total", {"action": "not_stated"}),
        (MISREAD, {"action": "accept"}),
    ]
    for key, body in decisions:
        field = _field_id(store, ids[".pdf"], key)
        response = client.post(f"/fields/{field}/review", json={**body, "reviewer": "li"}, headers=AUTH)
        assert response.status_code == 200
    out = tmp_path / "out" / "corrections.jsonl"
    assert export_corrections(store, out) == 3
    lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert all(list(line) == ["document", "field", "value", "reviewer", "time"] for line in lines)
    assert [(line["field"], line["value"]) for line in lines[:2]] == [
        ("s2.rules.new", 5),
        ("s4.review.total", None),
    ]
    assert all(Path(line["document"]).resolve() == PDF.resolve() for line in lines)
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 2
    labelled = pytest.importorskip("nianbao.training.labelled")
    read_back = labelled.parse_corrections(out)
    assert [(c.document.resolve(), c.field, c.value, c.reviewer) for c in read_back] == [
        (PDF.resolve(), line["field"], line["value"], "li") for line in lines
    ]


def test_queue_and_review_on_every_database(db_url: str, extractor: Extractor) -> None:
    """The queue's preselection reads the flags' JSON as text: the same on SQLite and PostgreSQL."""
    store = Store.open(db_url)
    try:
        ids = fill_store(store, extractor)
        client = TestClient(create_app(store, TOKEN), base_url=LOCAL)
        queue = client.get("/queue").json()
        assert [d["id"] for d in queue["documents"]] == [ids[".pdf"], ids[".md"]]
        first = queue["documents"][0]["fields"][0]
        assert any(r["kind"] == "identity" for r in first["reasons"])
        decided = client.post(
            f"/fields/{first['id']}/review", json={"action": "not_stated", "reviewer": "li"}, headers=AUTH
        )
        assert decided.json()["field"]["value"] is None
        assert queue["fields_waiting"] - 1 == client.get("/queue").json()["fields_waiting"]
    finally:
        store.close()
