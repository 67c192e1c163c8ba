"""Label examples from labelled documents: gold files beside documents, and reviewers' corrections.

A gold record says which value each field has, not which printed label names which field, so labels
are aligned through the values: a table row whose numbers are, as a multiset, those of exactly one
canonical row names that row; a column whose numbers match exactly one canonical column across the
aligned rows names that column (column order may differ from the template's). Rows of zeros are
ambiguous and give nothing; a fully printed row matching no canonical row is table furniture
("none": an extra row a province adds). Only what the values decide becomes an example.

Corrections (JSON Lines, one object per line; the review workflow exports them)::

    {"document": "reports/a.html", "field": "s3.granted.natural_person", "value": 12,
     "reviewer": "li.wei", "time": "2025-03-02T10:15:00+08:00"}

``document`` is relative to the corrections file (or absolute); ``field`` a canonical key of
data/schema.yaml, or ``meta.agency`` / ``meta.year`` / ``meta.format``; ``value`` a number (a string
for meta.agency and meta.format) or null for "not stated"; ``time`` ISO 8601. A document's corrections
override the current extractor's record, which then serves as that document's gold; only rows and
columns that a corrected field belongs to give examples (the rest is what the model already did).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nianbao.errors import CodedError, ErrorCode
from nianbao.extraction.grid import Row, document_rows
from nianbao.extraction.numbers import parse_value
from nianbao.extraction.readers import read
from nianbao.schema import Schema, load_schema

CORRECTION_KEYS = ("document", "field", "value", "reviewer", "time")
META_FIELDS = ("meta.agency", "meta.year", "meta.format")
MIN_NONE_VALUES = 3  # a row must print this many numbers before matching nothing makes it furniture
AMBIGUOUS = "|"  # between the candidate concepts of one printed label
MIN_MATCHED_FOR_NONE = 5  # ... in a table where this many rows did match the gold


class CorrectionError(CodedError, ValueError):
    """A corrections file the trainer refuses, with its stable code; the detail starts with the line."""


@dataclass(frozen=True)
class Correction:
    document: Path
    field: str
    value: int | float | str | None
    reviewer: str
    time: datetime


@dataclass
class Harvest:
    """Label examples taken from labelled documents, with what could not be used and why."""

    examples: list[tuple[str, str]] = field(default_factory=list)
    documents: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # document → reason

    def extend(self, other: Harvest) -> None:
        self.examples += other.examples
        self.documents += other.documents
        self.skipped |= other.skipped


def _check_value(name: str, value: object, schema: Schema) -> bool:
    if value is None:
        return True
    if name in ("meta.agency", "meta.format"):
        return isinstance(value, str) and (name == "meta.agency" or value in schema.formats)
    if name == "meta.year":
        return isinstance(value, int) and not isinstance(value, bool)
    try:
        schema.check_value(name, value)
    except ValueError:
        return False
    return True


def _refuse_constant(name: str) -> None:
    """json.loads reads NaN and Infinity, which are no JSON and no value of any field."""
    raise ValueError(f"{name} is not JSON")


def parse_corrections(path: Path, schema: Schema | None = None) -> list[Correction]:
    """Every line of a corrections file, validated; the first bad line raises CorrectionError."""
    schema = schema or load_schema()
    known = {k for fmt in schema.formats for k in schema.field_keys(fmt)} | set(META_FIELDS)
    out: list[Correction] = []
    for n, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            item = json.loads(line, parse_constant=_refuse_constant)
        except ValueError as exc:  # a JSONDecodeError, or a constant refused
            raise CorrectionError(
                ErrorCode.E_CORRECTION_JSON, f"{where}: {getattr(exc, 'msg', exc)}"
            ) from exc
        if not isinstance(item, dict):
            raise CorrectionError(ErrorCode.E_CORRECTION_JSON, f"{where}: a line must be one JSON object")
        missing = [k for k in CORRECTION_KEYS if k not in item]
        extra = sorted(set(item) - set(CORRECTION_KEYS))
        if missing or extra:
            raise CorrectionError(
                ErrorCode.E_CORRECTION_KEYS,
                f"{where}: missing {missing or 'none'}, unknown {extra or 'none'}",
            )
        if item["field"] not in known:
            raise CorrectionError(
                ErrorCode.E_CORRECTION_FIELD, f"{where}: no field {item['field']!r} in the schema"
            )
        if not _check_value(item["field"], item["value"], schema):
            raise CorrectionError(
                ErrorCode.E_CORRECTION_VALUE, f"{where}: {item['value']!r} for {item['field']}"
            )
        for key, code in (
            ("document", ErrorCode.E_CORRECTION_DOCUMENT),
            ("reviewer", ErrorCode.E_CORRECTION_REVIEWER),
        ):
            if not isinstance(item[key], str) or not item[key].strip():
                raise CorrectionError(code, f"{where}: must be a non-empty string")
        try:
            time = datetime.fromisoformat(str(item["time"]))
        except ValueError as exc:
            raise CorrectionError(
                ErrorCode.E_CORRECTION_TIME, f"{where}: {item['time']!r} is not ISO 8601"
            ) from exc
        document = Path(item["document"])
        document = document if document.is_absolute() else Path(path).resolve().parent / document
        out.append(Correction(document, item["field"], item["value"], item["reviewer"], time))
    return out


def _split_key(key: str) -> tuple[str, str, str]:
    """ "s3.withheld.state_secret.total" → ("s3", "withheld.state_secret", "total")."""
    section, rest = key.split(".", 1)
    row, column = rest.rsplit(".", 1)
    return section, row, column


def _gold_rows(fields: dict, schema: Schema) -> dict[tuple[str, str], dict[str, float]]:
    """(section, row) → {column: value} of the stated values; single-row sections are left out."""
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for key, value in fields.items():
        section, row, column = _split_key(key)
        if value is not None and not schema.sections[section].single_row:
            rows.setdefault((section, row), {})[column] = float(value)
    return rows


def _sub_multiset(small: Counter, big: Counter) -> bool:
    return all(big[v] >= n for v, n in small.items())


def _leaf_headers(header_rows: list[Row]) -> dict[int, str]:
    """Grid position → the lowest header text printed at it (the column's own name)."""
    names: dict[int, str] = {}
    for row in header_rows:
        for piece in row.texts:
            if not piece.copy:
                names[piece.pos] = piece.text
    return names


def _tables(rows: list[Row]) -> Iterator[tuple[list[Row], list[Row]]]:
    """(header rows, data rows) of each table; free-text rows come as tables without a header."""
    by_table: dict[object, list[Row]] = {}
    for i, row in enumerate(rows):
        if not row.sentence:
            by_table.setdefault(row.table if row.table is not None else f"text{i}", []).append(row)
    for members in by_table.values():
        first = next((i for i, r in enumerate(members) if r.has_values), None)
        if first is not None:
            yield members[:first], [r for r in members[first:] if r.has_values]


def align_examples(rows: list[Row], fields: dict, schema: Schema) -> list[tuple[str, str]]:
    """Printed label → concept for every row and column label the gold values decide (see module doc)."""
    gold = _gold_rows(fields, schema)
    bags = {concept: Counter(values.values()) for concept, values in gold.items()}
    examples: list[tuple[str, str]] = []
    for header_rows, data_rows in _tables(rows):
        matched: list[tuple[Row, tuple[str, str], dict[int, float]]] = []
        unmatched: list[str] = []
        for row in data_rows:
            own = [p for p in row.texts if not p.copy]
            label = own[-1].text if own else ""
            parsed = {v.pos: parse_value(v.text).value for v in row.values if v.text}
            numbers = {pos: float(x) for pos, x in parsed.items() if x is not None}
            if not label or not numbers:
                continue
            bag = Counter(numbers.values())
            fits = [
                c
                for c, gold_bag in bags.items()
                if _sub_multiset(bag, gold_bag) and len(numbers) >= len(gold[c]) - (len(gold[c]) >= 3)
            ]
            if len(fits) == 1:
                matched.append((row, fits[0], numbers))
                examples.append((label, f"row:{fits[0][0]}.{fits[0][1]}"))
            elif (
                not fits
                and len(numbers) >= MIN_NONE_VALUES
                and not any(_sub_multiset(bag, b) for b in bags.values())
            ):
                unmatched.append(label)
        if len(matched) >= MIN_MATCHED_FOR_NONE:  # a statistics table whose other rows the gold explains
            examples += [(label, "none") for label in unmatched]
        if not (matched and header_rows and all(r.positional for r, _, _ in matched)):
            continue
        names = _leaf_headers(header_rows)
        for section in {c[0] for _, c, _ in matched}:
            aligned = [(c, numbers) for _, c, numbers in matched if c[0] == section]
            positions = sorted(set.intersection(*(set(numbers) for _, numbers in aligned)) & set(names))
            fits = {
                pos: set.intersection(
                    *({col for col, v in gold[c].items() if v == numbers[pos]} for c, numbers in aligned)
                )
                for pos in positions
            }
            for pos, columns in _eliminate(fits).items():
                examples.append((names[pos], AMBIGUOUS.join(f"col:{section}.{c}" for c in sorted(columns))))
    return examples


def _eliminate(fits: dict[int, set[str]]) -> dict[int, set[str]]:
    """Columns one position surely has are no other position's: repeat until nothing changes. Positions
    left with several columns keep them all (``harvest`` intersects them across documents)."""
    fits = {pos: set(columns) for pos, columns in fits.items() if columns}
    changed = True
    while changed:
        changed = False
        sure = {next(iter(c)): pos for pos, c in fits.items() if len(c) == 1}
        for pos, columns in fits.items():
            other = {c for c, p in sure.items() if p != pos and c in columns}
            if other and len(columns) > 1:
                columns -= other
                changed = True
    return fits


def resolve(examples: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Settle examples with several candidate concepts (a column of zeros: ``a|b``): a text keeps the
    concepts every place it was printed allows, and becomes an example when exactly one is left."""
    allowed: dict[str, set[str]] = {}
    for text, concepts in examples:
        options = set(concepts.split(AMBIGUOUS))
        left = allowed.get(text, options) & options
        allowed[text] = left or allowed.get(text, options)  # a disagreement (a coincidence) does not erase
    out = []
    for text, concepts in examples:
        if AMBIGUOUS not in concepts:
            out.append((text, concepts))
        elif len(allowed[text]) == 1:
            out.append((text, next(iter(allowed[text]))))
    return out


def document_examples(document: Path, fields: dict, schema: Schema) -> list[tuple[str, str]]:
    return align_examples(document_rows(read(document)), fields, schema)


def gold_documents(directory: Path) -> Iterator[tuple[Path, dict]]:
    """(document, gold) for every NAME.gold.json under ``directory`` with its document beside it."""
    from nianbao.evaluation.synth.corpus import find_labelled

    for document, gold in find_labelled(Path(directory)):
        yield document, json.loads(gold.read_text("utf-8"))


def harvest_gold(directory: Path, schema: Schema | None = None) -> Harvest:
    schema = schema or load_schema()
    harvest = Harvest()
    for document, gold in gold_documents(directory):
        try:
            harvest.examples += document_examples(document, gold["fields"], schema)
            harvest.documents += 1
        except CodedError as exc:
            harvest.skipped[str(document)] = str(exc)
    return harvest


def _touched(examples: Iterable[tuple[str, str]], corrected: list[str]) -> list[tuple[str, str]]:
    """Examples of the rows and columns the corrected fields belong to."""
    concepts = set()
    for key in corrected:
        if not key.startswith("meta."):
            section, row, column = _split_key(key)
            concepts |= {f"row:{section}.{row}", f"col:{section}.{column}"}
    return [(text, concept) for text, concept in examples if concept in concepts]


def harvest_corrections(path: Path, schema: Schema | None = None, extractor=None) -> Harvest:
    """Examples from a corrections file: each available document's record, corrected, as its gold."""
    from nianbao.extraction.pipeline import Extractor

    schema = schema or load_schema()
    harvest = Harvest()
    by_document: dict[Path, list[Correction]] = {}
    for correction in parse_corrections(path, schema):
        by_document.setdefault(correction.document, []).append(correction)
    extractor = extractor or Extractor.load()
    for document, corrections in by_document.items():
        if not document.is_file():
            harvest.skipped[str(document)] = ErrorCode.E_IO.message("the corrected document is not available")
            continue
        record = extractor.extract(document)
        if record["error"]:
            harvest.skipped[str(document)] = record["error"]
            continue
        fields = dict(record["fields"])
        latest = sorted(corrections, key=lambda c: c.time)  # a later review of one field wins
        fields.update({c.field: c.value for c in latest if not c.field.startswith("meta.")})
        examples = document_examples(document, fields, schema)
        harvest.examples += _touched(examples, [c.field for c in latest])
        harvest.documents += 1
    return harvest


def harvest(paths: Iterable[str | Path], schema: Schema | None = None) -> Harvest:
    """Label examples from every --data source: gold directories and corrections files."""
    schema = schema or load_schema()
    total = Harvest()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            total.extend(harvest_gold(path, schema))
        elif path.suffix == ".jsonl":
            total.extend(harvest_corrections(path, schema))
        else:
            raise CorrectionError(
                ErrorCode.E_DATA_SOURCE, f"{path} is neither a directory of gold files nor a .jsonl"
            )
    total.examples = resolve(total.examples)
    return total
