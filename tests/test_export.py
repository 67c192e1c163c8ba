"""Exports: a row per document, every canonical field, and values still waiting for review left empty."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from nianbao.export import dataset_rows, export
from nianbao.extraction.pipeline import Extractor
from nianbao.schema import load_schema
from nianbao.store import FieldRow, Store, file_hash

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
CORRECTED, DOUBTFUL = "s3.new.total", "s3.new.commercial"  # keys both templates share


@pytest.fixture
def store(tmp_path: Path, extractor: Extractor) -> Store:
    """Two documents; in the first, one confident field corrected by a reviewer and one made doubtful."""
    opened = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    saved = []
    for path in (SAMPLES / "syn_md_705851321.md", SAMPLES / "syn_pdf_370615787.pdf"):
        record, evidence = extractor.extract_with_evidence(path)
        if path.suffix == ".md":
            record["confidence"][DOUBTFUL] = 0.2
        document = opened.add_document(file_hash(path), str(path), path.stat().st_size)
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


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_every_format_reads_back_the_same_dataset(store: Store, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"data.{fmt}"
    assert export(store, out, fmt, threshold=0.9) == 2
    if fmt == "parquet":
        frame = pd.read_parquet(out)
    elif fmt == "csv":
        frame = pd.read_csv(out, encoding="utf-8-sig")
    else:
        frame = pd.DataFrame([json.loads(line) for line in out.read_text("utf-8").splitlines()])
    expected = pd.DataFrame(list(dataset_rows(store, threshold=0.9)))
    assert list(frame.columns) == list(expected.columns)
    md = frame[frame["document"].str.endswith(".md")].iloc[0]
    assert md[CORRECTED] == 12345 and md[f"{CORRECTED}:status"] == "reviewed"
    assert pd.isna(md[DOUBTFUL])
