"""The codebook written beside every export: what each column of the dataset holds, in the report's words.

Why: a column named ``s3.other.other.natural_person`` means nothing to an analyst without the printed
table. The codebook gives each column its row label (with the row it sits under), column label, section,
unit, the templates that have it and its type; ``--headers zh`` takes its Chinese headers from here, so
the file and its codebook never disagree.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from nianbao.schema import ROW_LABEL_SEP, Schema, load_schema
from nianbao.store import STATES

CODEBOOK_SUFFIX = ".codebook.csv"  # after the export's whole name: out.parquet → out.parquet.codebook.csv
BOM_UTF8 = "utf-8-sig"  # the BOM tells spreadsheet programs a CSV is UTF-8
INTEGER, DECIMAL, NUMBER, TEXT = "integer", "decimal", "number", "text"  # a column's type
# Amounts are in 万元, and the extractor divides a sum printed in 元 by 10,000: a yuan amount to the fen
# (12,345.67 元) is 1.234567 万元, six places — two more than a reviewer may set (schema.MONEY_PLACES). So
# scale 6 holds every amount exactly, and decimal128's widest precision leaves 32 digits before the point.
MONEY_SCALE = 6
MONEY_PRECISION = 38
COUNT_UNIT, MONEY_UNIT = "件", "万元"
STATUSES = ("reviewed", "auto", "pending")
SOURCES = ("printed", "inferred", "ocr_repaired", "reviewed")
VALUES_SEP = "/"  # between the values a column may take, and between the templates a field is in
ATTRIBUTE_SEP = ":"  # KEY:confidence, and its Chinese header 行 · 列:置信度
COUNT_MEANING = "count (Parquet int64)"
MONEY_MEANING = f"amount in {MONEY_UNIT}, exact (Parquet decimal128({MONEY_PRECISION}, {MONEY_SCALE}))"
VALUE_MEANING = (
    "; the value in use (a reviewer's, else the extracted one); empty when not stated, not in the "
    "report's template, or pending review (unless --all)"
)
META_STATUS_MEANING = "reviewed: a person decided; pending: a flag puts it in doubt; auto: as extracted"
# What the export gives per field after its value: each column's Chinese name, type, values and meaning.
ATTRIBUTES = {
    "confidence": ("置信度", NUMBER, "", "calibrated probability (0–1) that the extracted value is right"),
    "status": (
        "状态",
        TEXT,
        VALUES_SEP.join(STATUSES),
        "reviewed: a person decided; auto: confident and in no broken identity; pending: waits for review",
    ),
    "source": (
        "来源",
        TEXT,
        VALUES_SEP.join(SOURCES),
        "where the value in use comes from — printed: read from the report; inferred: not printed, an "
        "identity (勾稽关系) gives it; ocr_repaired: an OCR digit the identities corrected; reviewed: a "
        "person decided; empty: no value",
    ),
}


@dataclass(frozen=True, kw_only=True)
class Column:
    """One column of the export, as a row of the codebook: its fields are the codebook's columns, in order."""

    column: str  # the export's header with --headers key
    header_zh: str  # with --headers zh
    field: str = ""  # the canonical field a per-field column belongs to
    section: str = ""
    section_zh: str = ""
    row_zh: str = ""  # the printed row label, after the row it sits under
    column_zh: str = ""  # the printed column label
    unit: str = ""
    format: str = ""  # the templates that have the field
    type: str  # INTEGER, DECIMAL, NUMBER or TEXT
    values: str = ""  # what a column of a few values may hold
    description: str


CODEBOOK_COLUMNS = tuple(f.name for f in fields(Column))


def codebook_path(out: Path) -> Path:
    return out.with_name(out.name + CODEBOOK_SUFFIX)


def _attribute(of: str, of_zh: str, name: str, **labels: str) -> Column:
    """Column ``name`` of ATTRIBUTES about column ``of``: ``of:name``, in Chinese ``of_zh:名``."""
    zh, kind, allowed, meaning = ATTRIBUTES[name]
    return Column(
        column=f"{of}{ATTRIBUTE_SEP}{name}",
        header_zh=f"{of_zh}{ATTRIBUTE_SEP}{zh}",
        type=kind,
        values=allowed,
        description=meaning,
        **labels,
    )


def _document_columns(schema: Schema) -> list[Column]:
    zh = schema.meta_zh
    return [
        Column(column="document", header_zh="文件", type=TEXT, description="path of the report file"),
        Column(column="sha256", header_zh="SHA-256", type=TEXT, description="the file's content hash"),
        Column(column="agency", header_zh=zh["agency"], type=TEXT, description="issuing agency in use"),
        replace(_attribute("agency", zh["agency"], "status"), description=META_STATUS_MEANING),
        Column(column="year", header_zh=zh["year"], type=INTEGER, description="year reported on, in use"),
        replace(_attribute("year", zh["year"], "status"), description=META_STATUS_MEANING),
        Column(
            column="format",
            header_zh=zh["format"],
            type=TEXT,
            values=VALUES_SEP.join(schema.formats),
            description="the report's template",
        ),
        Column(
            column="state",
            header_zh="提取状态",
            type=TEXT,
            values=VALUES_SEP.join(STATES),
            description="how the extraction ended (partial: a whole section came out empty)",
        ),
        Column(column="error", header_zh="错误", type=TEXT, description="why the extraction failed"),
        Column(
            column="flags",
            header_zh="标记",
            type=TEXT,
            description="JSON list of the record's flags and the cross-document checks'",
        ),
    ]


def _field_columns(schema: Schema, key: str, formats: str) -> list[Column]:
    """The value of field ``key`` and its ATTRIBUTES, each with the field's labels."""
    section = schema.section_of(key)
    labels = {
        "field": key,
        "section": section,
        "section_zh": schema.sections[section].zh,
        "row_zh": schema.row_label(key),
        "column_zh": schema.column_label(key),
        "format": formats,
    }
    header = f"{labels['row_zh']}{ROW_LABEL_SEP}{labels['column_zh']}"
    decimal = schema.is_decimal(key)
    value = Column(
        column=key,
        header_zh=header,
        unit=MONEY_UNIT if decimal else COUNT_UNIT,
        type=DECIMAL if decimal else INTEGER,
        description=(MONEY_MEANING if decimal else COUNT_MEANING) + VALUE_MEANING,
        **labels,
    )
    return [value, *(_attribute(key, header, name, **labels) for name in ATTRIBUTES)]


def export_columns(schema: Schema | None = None) -> list[Column]:
    """Every column of the export, in its order. ValueError if two would share a Chinese header (the
    schema's labels changed): ``--headers zh`` must name each column once."""
    schema = schema or load_schema()
    keys_of = {fmt: set(schema.field_keys(fmt)) for fmt in schema.formats}
    found = _document_columns(schema)
    for key in schema.all_field_keys():
        found += _field_columns(schema, key, VALUES_SEP.join(f for f in schema.formats if key in keys_of[f]))
    repeated = [h for h, n in Counter(c.header_zh for c in found).items() if n > 1]
    if repeated:
        raise ValueError(f"Chinese headers name more than one column: {repeated}")
    return found


def write_codebook(out: Path, columns: list[Column]) -> Path:
    """The codebook of the export written to ``out``, beside it; returns its path."""
    path = codebook_path(out)
    with path.open("w", encoding=BOM_UTF8, newline="") as handle:
        writer = csv.DictWriter(handle, CODEBOOK_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(asdict(c) for c in columns)
    return path
