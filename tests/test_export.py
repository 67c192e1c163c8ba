"""Exports: a row per document, every canonical field, and values still waiting for review left empty;
typed columns (counts integers, amounts exact decimals), each value's source, and a codebook beside every
file, whose Chinese labels ``--headers zh`` uses."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from nianbao.cli import main
from nianbao.export import dataset_rows, export
from nianbao.extraction.pipeline import Extractor
from nianbao.schema import load_schema
from nianbao.store import FieldRow, Store
from nianbao.workers import fingerprint

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
CORRECTED, DOUBTFUL = "s3.new.total", "s3.new.commercial"  # keys both templates share
# A 2021 report with blank cells its identities fill with 0, beside cells printed 0.
FILLED_BLANKS = SAMPLES / "syn_txt_1518506451.txt"
SUB_ROW, SUB_ROW_COLUMN = "s3.other.other.natural_person", ("other", "other.other", "natural_person")
BOM = b"\xef\xbb\xbf"
FORMATS = ("parquet", "csv", "jsonl")


@pytest.fixture
def store(tmp_path: Path, extractor: Extractor) -> Store:
    """Two documents; in the first, one confident field corrected by a reviewer and one made doubtful."""
    opened = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    saved = []
    for path in (SAMPLES / "syn_md_705851321.md", SAMPLES / "syn_pdf_370615787.pdf"):
        record, evidence = extractor.extract_with_evidence(path)
        if path.suffix == ".md":
            record["confidence"][DOUBTFUL] = 0.2
        document = opened.add_document(fingerprint(path)[0], str(path), path.stat().st_size)
        saved.append(opened.save_extraction(document, record, evidence, "p", "m"))
    with opened.sessions() as session:
        corrected = session.scalar(
            select(FieldRow.id).where(FieldRow.extraction_id == saved[0], FieldRow.key == CORRECTED)
        )
    opened.review(corrected, "correct", "alice", 12345)
    yield opened
    opened.close()


def test_rows_carry_values_confidence_and_status(store: Store) -> None:
    rows = list(dataset_rows(store, threshold=0.9))
    assert len(rows) == 2
    md = next(r for r in rows if r["document"].endswith(".md"))
    assert md[CORRECTED] == 12345 and md[f"{CORRECTED}:status"] == "reviewed"
    assert md[DOUBTFUL] is None and md[f"{DOUBTFUL}:status"] == "pending"
    assert md[f"{DOUBTFUL}:confidence"] == 0.2
    every = next(r for r in dataset_rows(store, 0.9, include_all=True) if r["document"].endswith(".md"))
    assert every[DOUBTFUL] is not None  # --all shows what the extractor said
    keys = load_schema().all_field_keys()
    other_template = [k for k in keys if k not in load_schema().field_keys(md["format"])]
    assert other_template and all(md[f"{k}:status"] is None for k in other_template)
    statuses = {md[f"{k}:status"] for k in load_schema().field_keys(md["format"])}
    assert statuses <= {"auto", "reviewed", "pending"} and "auto" in statuses


class Zeros(NamedTuple):
    """A store of one document, and keys of its fields: a 0 an identity filled, a 0 printed, and a printed
    value marked repaired from OCR (as a scan's would be)."""

    store: Store
    inferred: str
    printed: str
    repaired: str


@pytest.fixture
def zeros(tmp_path: Path, extractor: Extractor) -> Zeros:
    opened = Store.open(f"sqlite:///{tmp_path / 'zeros.db'}")
    record, evidence = extractor.extract_with_evidence(FILLED_BLANKS)
    kinds: dict[str, set[str]] = {}
    for flag in record["flags"]:
        for key in [flag["field"]] if "field" in flag else flag.get("fields", []):
            kinds.setdefault(key, set()).add(flag["kind"])
    values = record["fields"]
    inferred = next(k for k, v in values.items() if v == 0 and kinds.get(k) == {"inferred"})
    printed = next(k for k, v in values.items() if v == 0 and k not in kinds)
    repaired = next(k for k, v in values.items() if v and k not in kinds)
    record["flags"].append(
        {"field": repaired, "kind": "ocr_repaired", "detail": "OCR read 8; identities give 3"}
    )
    document = opened.add_document(
        fingerprint(FILLED_BLANKS)[0], str(FILLED_BLANKS), FILLED_BLANKS.stat().st_size
    )
    opened.save_extraction(document, record, evidence, "p", "m")
    yield Zeros(opened, inferred, printed, repaired)
    opened.close()


def _read(out: Path, fmt: str) -> pd.DataFrame:
    """An export as pandas reads it."""
    if fmt == "parquet":
        return pd.read_parquet(out)
    if fmt == "csv":
        return pd.read_csv(out, encoding="utf-8-sig")
    return pd.DataFrame([json.loads(line) for line in out.read_text("utf-8").splitlines()])


def _codebook(out: Path) -> list[dict[str, str]]:
    """The codebook beside ``out`` (out.parquet → out.parquet.codebook.csv), read as the BOM'd CSV it is."""
    path = out.with_name(out.name + ".codebook.csv")
    assert path.read_bytes().startswith(BOM)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_back_the_same_dataset(store: Store, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"data.{fmt}"
    assert export(store, out, fmt, threshold=0.9) == 2
    frame = _read(out, fmt)
    expected = pd.DataFrame(list(dataset_rows(store, threshold=0.9)))
    assert list(frame.columns) == list(expected.columns)
    md = frame[frame["document"].str.endswith(".md")].iloc[0]
    assert md[CORRECTED] == 12345 and md[f"{CORRECTED}:status"] == "reviewed"
    assert pd.isna(md[DOUBTFUL])


def test_parquet_counts_are_int64_and_amounts_exact_decimals(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "data.parquet"
    export(store, out, "parquet", threshold=0.9, include_all=True)
    schema, frame = load_schema(), pd.read_parquet(out)
    keys = schema.all_field_keys()
    counts = [k for k in keys if not schema.is_decimal(k)]
    amounts = [k for k in keys if schema.is_decimal(k)]
    assert counts and amounts
    assert all(str(frame[k].dtype) == "Int64" for k in ["year", *counts])  # no 57.0, no 2019.0
    arrow = pq.read_schema(out)
    assert all(pa.types.is_decimal(arrow.field(k).type) for k in amounts)
    expected = {r["sha256"]: r for r in dataset_rows(store, threshold=0.9, include_all=True)}
    for _, row in frame.iterrows():
        given = expected[row["sha256"]]
        assert row["year"] == given["year"] and row[CORRECTED] == given[CORRECTED]
        for key in amounts:
            stated = given[key]
            assert (pd.isna(row[key]) and stated is None) or row[key] == Decimal(str(stated))
    assert any(isinstance(v, Decimal) and v != int(v) for k in amounts for v in frame[k])  # e.g. 184.14


def test_csv_counts_have_no_point_and_amounts_their_exact_text(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "data.csv"
    export(store, out, "csv", threshold=0.9, include_all=True)
    assert out.read_bytes().startswith(BOM)  # Excel reads it as UTF-8
    with out.open(encoding="utf-8-sig", newline="") as handle:
        cells = {row["sha256"]: row for row in csv.DictReader(handle)}
    schema = load_schema()
    for given in dataset_rows(store, threshold=0.9, include_all=True):
        row = cells[given["sha256"]]
        assert row["year"] == str(given["year"])
        for key in schema.all_field_keys():
            if given[key] is None:
                assert row[key] == ""
            elif schema.is_decimal(key):
                assert row[key] == str(given[key])  # 184.14 as read, no float noise, no padding zeros
            else:
                assert re.fullmatch(r"-?\d+", row[key]) and int(row[key]) == given[key]


@pytest.mark.parametrize("fmt", FORMATS)
def test_source_tells_an_inferred_zero_from_a_printed_one(zeros: Zeros, tmp_path: Path, fmt: str) -> None:
    def exported() -> pd.Series:
        out = tmp_path / f"data.{fmt}"
        export(zeros.store, out, fmt, threshold=0.9, include_all=True)
        return _read(out, fmt).iloc[0]

    row = exported()
    assert row[zeros.inferred] == 0 and row[zeros.printed] == 0
    assert row[f"{zeros.inferred}:source"] == "inferred"
    assert row[f"{zeros.printed}:source"] == "printed"
    assert row[f"{zeros.repaired}:source"] == "ocr_repaired"
    with zeros.store.sessions() as session:
        field = session.scalar(select(FieldRow.id).where(FieldRow.key == zeros.inferred))
    zeros.store.review(field, "accept", "alice")
    row = exported()
    assert row[f"{zeros.inferred}:source"] == "reviewed" and row[f"{zeros.inferred}:status"] == "reviewed"
    assert row[f"{zeros.printed}:source"] == "printed"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_codebook_beside_every_format_names_each_column(store: Store, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"data.{fmt}"
    export(store, out, fmt, threshold=0.9)
    book = _codebook(out)
    assert [r["column"] for r in book] == list(_read(out, fmt).columns)
    schema = load_schema()
    section = schema.sections[SUB_ROW.partition(".")[0]]
    parent, row, column = SUB_ROW_COLUMN
    entry = next(r for r in book if r["column"] == SUB_ROW)
    assert entry["row_zh"] == f"{section.rows[parent]} · {section.rows[row]}"  # （六）其他处理 · 3.其他
    assert entry["column_zh"] == section.columns[column]
    assert entry["section_zh"] == section.zh and entry["unit"] == "件" and entry["type"] == "integer"
    assert entry["format"] == "/".join(f for f in schema.formats if SUB_ROW in schema.field_keys(f))
    amount = next(
        r for r in book if r["field"] and schema.is_decimal(r["field"]) and r["column"] == r["field"]
    )
    assert amount["unit"] == "万元" and amount["type"] == "decimal"
    attributes = [r for r in book if r["field"] == SUB_ROW]
    assert [r["column"] for r in attributes] == [
        SUB_ROW,
        *(f"{SUB_ROW}:{a}" for a in ("confidence", "status", "source")),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_zh_headers_are_the_codebooks_unique_chinese_labels(store: Store, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"数据.{fmt}"
    assert export(store, out, fmt, threshold=0.9, headers="zh") == 2
    book = _codebook(out)
    frame = _read(out, fmt)
    headers = [r["header_zh"] for r in book]
    assert list(frame.columns) == headers and len(set(headers)) == len(headers)
    named = {r["column"]: r["header_zh"] for r in book}
    assert all(re.search(r"[\u4e00-\u9fff]", named[r["column"]]) for r in book if r["field"])
    md = frame[frame[named["document"]].str.endswith(".md")].iloc[0]
    assert md[named[CORRECTED]] == 12345 and md[named[f"{CORRECTED}:status"]] == "reviewed"


def test_cli_export_writes_zh_headers_and_the_codebook(store: Store, tmp_path: Path, capsys) -> None:
    out = tmp_path / "dataset.csv"
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert (
        main(
            ["export", "--db", db, "--format", "csv", "--headers", "zh", "-o", str(out), "--threshold", "0.9"]
        )
        == 0
    )
    book = _codebook(out)
    assert list(_read(out, "csv").columns) == [r["header_zh"] for r in book]
    assert str(out.with_name(out.name + ".codebook.csv")) in capsys.readouterr().out
