"""The review queue's faster flow, through the REST service: a broken identity is one group and one
decision (one transaction), fields are named with their parent rows, a decision can be undone (appended,
never deleted), the counter's numbers, one document's page, and the band from the column header down to a
cell's crop."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import event, func, select
from test_app import MISREAD as MISREAD_PDF
from test_app import PDF
from test_crossyear import add, field_id, record

from nianbao.app import AppSettings, create_app, export_corrections
from nianbao.app.groups import GROUP_KINDS
from nianbao.extraction.validation import validate
from nianbao.schema import ROW_LABEL_SEP, load_schema
from nianbao.store import FieldRow, ReviewRow, Store

SCHEMA = load_schema()
S3 = SCHEMA.sections["s3"]
TOKEN = "group-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LOCAL = "http://localhost"
THRESHOLD = 0.9
MISREAD = "s3.granted.natural_person"  # printed 3, read 2
OUTCOMES, GRANTED_ROW = "s3.outcomes:natural_person", "s3.applicants:granted"
# the brief's example, with the difference this misread makes
OUTCOMES_FORMULA = "自然人: （七）总计 ≠ （一）+…+（六）, 差 1"
OUTCOMES_FIELDS = 22  # （七）总计 and the 21 outcome rows of the 2021 template, in one column
GRANTED_ROW_FIELDS = 7  # 总计 and the six applicant columns of （一）予以公开
SUB_ROW = "s3.other.other.natural_person"  # （六）其他处理 · 3.其他 · 自然人
LOW = 0.3
HEADER_ROWS_PT = 100  # the s3 table's header rows are well within this height


def broken_record(agency: str = "某区财政局", year: int = 2023) -> dict:
    """A 2021 record whose （一）予以公开 · 自然人 was misread 3 → 2, flagged as the validator flags it:
    s3.outcomes over the 自然人 column (22 cells) and s3.applicants over the 予以公开 row (7) break."""
    made = record(agency, year)
    printed = ("s3.new.natural_person", "s3.new.total", "s3.total.natural_person", "s3.total.total")
    made["fields"].update(dict.fromkeys((*printed, "s3.granted.total"), 3))
    made["fields"][MISREAD] = 2
    checked = validate(made["fields"], made["confidence"], SCHEMA, "2021")
    made["fields"], made["confidence"] = checked.values, checked.confidence
    made["flags"] = [f.to_json() for f in checked.flags if f.kind in GROUP_KINDS]
    return made


def unsure_record(agency: str, keys: list[str], year: int = 2023) -> dict:
    """A consistent 2021 record whose ``keys`` were read with low confidence: each waits on its own."""
    made = record(agency, year)
    made["confidence"].update(dict.fromkeys(keys, LOW))
    return made


def loose_keys(count: int, start: int = 0) -> list[str]:
    """``count`` keys of the 2021 template outside the broken record's identities."""
    keys = [k for k in SCHEMA.field_keys("2021") if not k.startswith("s3.")]
    keys += [k for k in SCHEMA.field_keys("2021") if k.startswith("s3.carried_forward")]
    return keys[start : start + count]


def fill_groups(store: Store, loose: int = 0) -> dict[str, int]:
    """The broken document, and ``loose`` unsure fields spread over two more documents."""
    ids = {"broken": add(store, "broken", broken_record())}
    half = loose // 2
    if loose:
        ids["unsure1"] = add(store, "unsure1", unsure_record("甲局", loose_keys(half)))
        ids["unsure2"] = add(store, "unsure2", unsure_record("乙局", loose_keys(loose - half, half)))
    return ids


@pytest.fixture
def client(store: Store, tmp_path: Path) -> TestClient:
    settings = AppSettings(threshold=THRESHOLD, upload_dir=tmp_path / "uploads")
    return TestClient(create_app(store, TOKEN, settings), base_url=LOCAL)


def _reviews(store: Store) -> list[ReviewRow]:
    with store.sessions() as session:
        return list(session.scalars(select(ReviewRow).order_by(ReviewRow.id)))


def _group(client: TestClient, document: int, identity: str) -> dict:
    return next(g for g in client.get(f"/documents/{document}/groups").json() if g["identity"] == identity)


def _accept(client: TestClient, document: int, identity: str, reviewer: str = "li"):
    body = {"identity": identity, "reviewer": reviewer}
    return client.post(f"/documents/{document}/groups/accept", json=body, headers=AUTH)


# ---------------------------------------------------------------- one broken identity, one decision
def test_a_broken_identity_is_one_group_with_its_formula_and_every_value(client: TestClient, store) -> None:
    document = fill_groups(store)["broken"]
    groups = {g["identity"]: g for g in client.get(f"/documents/{document}/groups").json()}
    assert list(groups) == [OUTCOMES, GRANTED_ROW]  # the larger first
    outcomes = groups[OUTCOMES]
    assert outcomes["formula"] == OUTCOMES_FORMULA and not outcomes["holds"]
    values = {m["key"]: m["value"] for m in outcomes["members"]}
    assert len(values) == OUTCOMES_FIELDS and values[MISREAD] == 2 and values["s3.total.natural_person"] == 3
    assert len(outcomes["pending"]) == OUTCOMES_FIELDS and len(groups[GRANTED_ROW]["pending"]) == 7

    page = client.get("/").text
    head = page.split(f'data-group="{OUTCOMES}"', 1)[1].split("</article>", 1)[0]
    assert OUTCOMES_FORMULA in head
    assert head.count("<tr data-member=") == OUTCOMES_FIELDS  # every cell of the identity, with its value
    # each waiting field is shown once: under the larger group, or the smaller one for the rest
    assert page.count(f'data-group="{OUTCOMES}"') == 1 + OUTCOMES_FIELDS
    assert page.count(f'data-group="{GRANTED_ROW}"') == 1 + GRANTED_ROW_FIELDS - 1


def test_one_decision_accepts_the_group_in_one_transaction(client: TestClient, store: Store) -> None:
    document = fill_groups(store, loose=2)["broken"]
    waiting = client.get("/queue/size").json()
    commits: list[int] = []

    def committed(_connection) -> None:
        commits.append(1)

    event.listen(store.engine, "commit", committed)
    accepted = _accept(client, document, OUTCOMES)
    event.remove(store.engine, "commit", committed)
    assert accepted.status_code == 200, accepted.text
    assert len(commits) == 1  # all the reviews, or none
    reviews = _reviews(store)
    assert len(reviews) == OUTCOMES_FIELDS and {(r.action, r.reviewer) for r in reviews} == {("accept", "li")}
    assert all(r.new_value == r.old_value for r in reviews)  # the source as printed
    result = accepted.json()
    assert {f["status"] for f in result["fields"]} == {"reviewed"} and len(
        result["fields"]
    ) == OUTCOMES_FIELDS
    assert result["waiting"]["fields"] == waiting["fields"] - OUTCOMES_FIELDS  # the counter's number
    assert result["remaining"] == GRANTED_ROW_FIELDS - 1
    assert [g["identity"] for g in result["groups"]] == [GRANTED_ROW]
    # the other group: its field the first decision took stays decided once
    assert len(_accept(client, document, GRANTED_ROW).json()["fields"]) == GRANTED_ROW_FIELDS - 1
    assert len(_reviews(store)) == OUTCOMES_FIELDS + GRANTED_ROW_FIELDS - 1
    assert _accept(client, document, OUTCOMES).status_code == 404  # nothing of it waits
    assert (
        client.post(
            f"/documents/{document}/groups/accept", json={"identity": OUTCOMES}, headers=AUTH
        ).status_code
        == 422
    )
    no_token = client.post(
        f"/documents/{document}/groups/accept", json={"identity": GRANTED_ROW, "reviewer": "li"}
    )
    assert no_token.status_code == 401


def test_a_field_of_the_group_can_still_be_corrected_alone(client: TestClient, store: Store) -> None:
    document = fill_groups(store)["broken"]
    misread = field_id(store, document, MISREAD)
    fixed = client.post(
        f"/fields/{misread}/review", json={"action": "correct", "value": 3, "reviewer": "li"}, headers=AUTH
    )
    assert fixed.status_code == 200 and fixed.json()["broken"] == []
    outcomes = _group(client, document, OUTCOMES)
    assert outcomes["holds"] and outcomes["formula"] == "自然人: （七）总计 = （一）+…+（六）"
    assert misread not in outcomes["pending"] and len(outcomes["pending"]) == OUTCOMES_FIELDS - 1
    assert len(_accept(client, document, OUTCOMES).json()["fields"]) == OUTCOMES_FIELDS - 1
    with store.sessions() as session:
        assert session.get(FieldRow, misread).current == 3  # the correction stands


# ---------------------------------------------------------------- labels with their parent rows
def test_a_sub_row_is_named_after_its_parent_row(client: TestClient, store: Store) -> None:
    document = add(store, "sub", unsure_record("丙局", [SUB_ROW]))
    label = f"{S3.rows['other']}{ROW_LABEL_SEP}{S3.rows['other.other']}"  # （六）其他处理 · 3.其他
    shown = f"{label} · {S3.columns['natural_person']}"
    field = field_id(store, document, SUB_ROW)
    item = client.get("/").text.split(f'data-field="{field}"', 1)[1].split("</article>", 1)[0]
    assert shown in item and f"<caption>{label}</caption>" in item  # the item and its table row
    fields = {f["key"]: f for f in client.get(f"/documents/{document}/fields").json()}
    assert fields[SUB_ROW]["name_zh"]["row"] == label
    assert shown in client.get(f"/documents/{document}/view").text


# ---------------------------------------------------------------- undo
def test_undo_appends_a_review_and_puts_the_field_back(client: TestClient, store: Store, tmp_path) -> None:
    document = fill_groups(store, loose=2)["unsure1"]
    key = loose_keys(1)[0]
    field = field_id(store, document, key)
    waiting = client.get("/queue/size").json()["fields"]
    decided = client.post(
        f"/fields/{field}/review", json={"action": "correct", "value": 5, "reviewer": "li"}, headers=AUTH
    )
    assert decided.status_code == 200
    undone = client.post("/reviews/undo", json={"fields": [field], "reviewer": "li"}, headers=AUTH)
    assert undone.status_code == 200, undone.text
    assert undone.json()["fields"] == [{"id": field, "key": key, "value": 0, "status": "pending"}]
    assert undone.json()["waiting"]["fields"] == waiting
    trail = [(r.action, r.old_value, r.new_value) for r in _reviews(store)]
    assert trail == [("correct", 0, 5), ("undo", 5, 0)]  # appended; the decision is still on record
    shown = next(f for f in client.get(f"/documents/{document}/fields").json() if f["id"] == field)
    assert (shown["status"], shown["value"]) == ("pending", 0)
    assert [r["action"] for r in shown["reviews"]] == ["correct", "undo"]
    queued = [f["id"] for d in client.get("/queue").json()["documents"] for f in d["fields"]]
    assert field in queued
    assert export_corrections(store, tmp_path / "labels.jsonl") == 0  # a decision taken back is no label
    again = client.post("/reviews/undo", json={"fields": [field], "reviewer": "li"}, headers=AUTH)
    assert again.status_code == 409 and again.json()["detail"].startswith("E_UNDO")
    # decided again, it counts again
    client.post(f"/fields/{field}/review", json={"action": "accept", "reviewer": "li"}, headers=AUTH)
    assert export_corrections(store, tmp_path / "labels.jsonl") == 1
    others = client.post("/reviews/undo", json={"fields": [field], "reviewer": "wang"}, headers=AUTH)
    assert others.status_code == 409  # only the reviewer's own decision
    assert client.post("/reviews/undo", json={"fields": [field], "reviewer": "li"}).status_code == 401


def test_undo_of_a_group_reopens_every_field_and_survives_re_extraction(
    client: TestClient, store: Store
) -> None:
    document = fill_groups(store)["broken"]
    pending = _group(client, document, OUTCOMES)["pending"]
    _accept(client, document, OUTCOMES)
    undone = client.post("/reviews/undo", json={"fields": pending, "reviewer": "li"}, headers=AUTH)
    assert undone.status_code == 200
    assert {f["status"] for f in undone.json()["fields"]} == {"pending"}
    assert _group(client, document, OUTCOMES)["pending"] == pending  # one group again
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReviewRow)) == 2 * OUTCOMES_FIELDS
    # extracted again: an undone decision is not carried over, the fields still wait
    store.save_extraction(document, broken_record(), {}, "p", "m2")
    assert len(_group(client, document, OUTCOMES)["pending"]) == OUTCOMES_FIELDS


# ---------------------------------------------------------------- one document's page, and the crops
@pytest.fixture
def pdf_client(filled_db, tmp_path: Path) -> Iterator[tuple[TestClient, Store, dict[str, int]]]:
    copy = tmp_path / "pdf.db"
    copy.write_bytes(filled_db[0].read_bytes())
    opened = Store.open(f"sqlite:///{copy}")
    settings = AppSettings(upload_dir=tmp_path / "uploads")
    yield TestClient(create_app(opened, TOKEN, settings), base_url=LOCAL), opened, filled_db[1]
    opened.close()


def _red_and_green(png: bytes) -> tuple[int, int]:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return int(((r > 180) & (g < 80) & (b < 80)).sum()), int(((g > 120) & (r < 80) & (b < 100)).sum())


def test_a_document_page_shows_every_field_its_reviews_and_pages(pdf_client) -> None:
    client, store, ids = pdf_client
    document = ids[".pdf"]
    field = field_id(store, document, "s2.rules.new")
    queue = client.get("/").text
    assert f'href="/documents/{document}/view#f{field}"' in queue  # linked from the field's item
    client.post(
        f"/fields/{field}/review", json={"action": "correct", "value": 41, "reviewer": "li"}, headers=AUTH
    )
    page = client.get(f"/documents/{document}/view").text
    with store.sessions() as session:
        count = session.scalar(
            select(func.count(FieldRow.id)).where(FieldRow.extraction.has(document_id=document))
        )
    assert page.count('<tr id="f') == count  # every field, not only those in doubt
    row = page.split(f'<tr id="f{field}"', 1)[1].split("</tr>", 1)[0]
    assert "reviewed" in row and "0.31" in row and "correct: 2 → 41 · li" in row
    pages = re.findall(rf'src="/documents/{document}/pages/(\d+)\.png"', page)
    assert pages == ["1", "2", "3"]
    first, second = (client.get(f"/documents/{document}/pages/{n}.png") for n in (1, 2))
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert _red_and_green(first.content)[1] > 0  # 规章 · 本年制发件数, reviewed: outlined green
    assert _red_and_green(second.content)[0] > 0  # the broken identity's cells, waiting: red
    assert client.get(f"/documents/{document}/pages/99.png").status_code == 404
    markdown = client.get(f"/documents/{ids['.md']}/view").text
    assert "/pages/" not in markdown and "https://" not in page + markdown and "http://" not in page
    assert client.get(f"/documents/{ids['.md']}/pages/1.png").status_code == 404


def _label_top(page: int, text: str) -> list[float]:
    """Where ``text`` is printed on the sample PDF's page: each match's top, in points from the top."""
    pdf = pdfium.PdfDocument(str(PDF))
    try:
        height = pdf[page - 1].get_size()[1]
        textpage = pdf[page - 1].get_textpage()
        search, tops = textpage.search(text), []
        while found := search.get_next():
            start, length = found
            tops.append(height - max(textpage.get_charbox(i)[3] for i in range(start, start + length)))
        return tops
    finally:
        pdf.close()


def test_the_band_above_the_crop_reaches_the_column_header(pdf_client) -> None:
    client, store, ids = pdf_client
    settings = AppSettings()
    scale, margin = settings.crop_dpi / 72, settings.crop_margin_pt
    deep = field_id(store, ids[".pdf"], "s3.not_processed.duplicate.natural_person")  # far below its header
    with store.sessions() as session:
        row = session.get(FieldRow, deep)
        page, top = row.page, row.top
    (label,) = _label_top(page, S3.columns["natural_person"])  # 自然人, printed once: in the header
    crop_top = top - margin
    assert label < crop_top  # the crop alone does not show which column the cell is in
    band = client.get(f"/fields/{deep}/header.png")
    assert band.status_code == 200 and band.headers["content-type"] == "image/png"
    height = Image.open(io.BytesIO(band.content)).height
    band_top = crop_top - height / scale  # the band ends where the crop begins
    assert label - HEADER_ROWS_PT <= band_top <= label  # from just above the header, not the page's top
    misread = field_id(store, ids[".pdf"], MISREAD_PDF)
    assert f'<img class="above" src="/fields/{misread}/header.png"' in client.get("/").text
    continued = field_id(store, ids[".pdf"], "s3.carried_forward.total")  # page 3: the table goes on
    assert client.get(f"/fields/{continued}/header.png").status_code == 404
    text_form = field_id(store, ids[".md"], "s3.new.total")
    assert client.get(f"/fields/{text_form}/header.png").status_code == 404


def test_a_group_decision_and_its_undo_on_every_database(db_url: str, tmp_path: Path) -> None:
    """The decisions in force are read by a correlated subquery (no undo after them): the same on SQLite
    and PostgreSQL, in the queue's preselection, the fields' reviews and the corrections export."""
    store = Store.open(db_url)
    try:
        document = fill_groups(store)["broken"]
        client = TestClient(create_app(store, TOKEN, AppSettings(threshold=THRESHOLD)), base_url=LOCAL)
        everything = client.get("/queue/size").json()["fields"]
        pending = _group(client, document, OUTCOMES)["pending"]
        assert _accept(client, document, OUTCOMES).status_code == 200
        assert client.get("/queue/size").json()["fields"] == everything - OUTCOMES_FIELDS
        undone = client.post("/reviews/undo", json={"fields": pending, "reviewer": "li"}, headers=AUTH)
        assert undone.status_code == 200, undone.text
        assert client.get("/queue/size").json()["fields"] == everything
        assert export_corrections(store, tmp_path / "labels.jsonl") == 0
    finally:
        store.close()
