"""A deliberately naive baseline extractor: table cells, fuzzy row labels, values by template position.

Why: the evaluation report sets the trained field mapper beside the first thing a team would write, so
what the mapper adds is measured, not asserted. The baseline is honest but simple: each table row's label
is fuzzy-matched to the official row wording, and the row's numbers fill that row's fields in the
template's column order. It does not read column headers, rebuild rows split over lines, or check sums.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pdfplumber
from pdfplumber.utils.exceptions import PdfminerException
from rapidfuzz import fuzz, process

from nianbao.errors import CodedError, ErrorCode
from nianbao.extraction.document import Document, GridCell, TableBlock, TextBlock
from nianbao.extraction.meta import find_meta
from nianbao.extraction.numbers import is_value, parse_value
from nianbao.extraction.pipeline import empty_record, guarded
from nianbao.extraction.readers import read
from nianbao.schema import Schema, Section, load_schema

# Leading numbering after NFKC: 第二部分, (三), 三、, 1. / 1、 / 1 (circled digits become plain ones).
_NUMBERING = re.compile(
    r"^(?:第[一二三四五六七八九十]+部分|\([一二三四五六七八九十\d]+\)|[一二三四五六七八九十]+[、.]|\d+[、.]?)"
)
_SPACES = re.compile(r"\s+")
_POSITION_ONLY = 0.5  # confidence of the unlabelled single-row section, placed by position alone


def _bare(label: str) -> str:
    """What is compared: NFKC (half-width punctuation), no whitespace, no leading numbering."""
    return _NUMBERING.sub("", _SPACES.sub("", unicodedata.normalize("NFKC", label)))


def _split_line(text: str) -> list[str]:
    """Naive cells of a plain text line: runs of 2+ spaces separate cells, and so does the space before
    every value token; the words of a label stay together."""
    cells: list[str] = []
    for chunk in re.split(r"\s{2,}", text.strip()):
        start = len(cells)
        for token in chunk.split():
            if len(cells) > start and not is_value(token) and not is_value(cells[-1]):
                cells[-1] += token
            else:
                cells.append(token)
    return cells


def _rows(document: Document) -> Iterator[list[str]]:
    """Every row as cell texts: table rows without span copies, tab-separated lines, split plain lines."""
    for block in document.blocks:
        if isinstance(block, TableBlock):
            for row in block.grid:
                yield [cell.text for cell in row if not cell.copy]
        elif block.cells is not None:
            yield list(block.cells)
        else:
            yield _split_line(block.text)


def _label_and_values(cells: list[str]) -> tuple[str | None, list[str]]:
    """The label is the last text cell before the first value (the one nearest the numbers: spanning
    group labels come first); the values are the run of value cells from there. Empty cells before
    the first value are taken as padding of a spanning label, not as nulls."""
    texts = [c.strip() for c in cells]
    first = next((i for i, t in enumerate(texts) if t and is_value(t)), len(texts))
    labels = [t for t in texts[:first] if not is_value(t)]
    values: list[str] = []
    for text in texts[first:]:
        if not is_value(text):
            break
        values.append(text)
    return (labels[-1] if labels else None), values


def _read_pdf(path: Path) -> Document:
    """pdfplumber's tables and the text lines outside them, in page order top to bottom."""
    blocks: list[tuple[int, float, TableBlock | TextBlock]] = []
    try:
        with pdfplumber.open(path) as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                where = f"page {number}"
                tables = page.find_tables()
                for table in tables:
                    grid = [[GridCell(c or "", copy=c is None) for c in row] for row in table.extract()]
                    blocks.append((number, table.bbox[1], TableBlock(grid, where)))
                for line in page.extract_text_lines():
                    if not any(_inside(line, table.bbox) for table in tables):
                        blocks.append((number, line["top"], TextBlock(line["text"], where)))
    except PdfminerException as exc:
        raise CodedError(ErrorCode.E_CORRUPT, f"not a readable PDF ({exc})") from exc
    if not blocks:
        raise CodedError(ErrorCode.E_NO_TEXT, "the PDF has no text layer (scanned or image-only)")
    blocks.sort(key=lambda b: (b[0], b[1]))
    return Document(str(path), "pdf", [b for _, _, b in blocks])


def _inside(line: dict, bbox: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = bbox
    return line["x0"] >= x0 and line["x1"] <= x1 and line["top"] >= top and line["bottom"] <= bottom


@dataclass
class NaiveExtractor:
    """Table cells + fuzzy match of each row label to the official wording, values by template position."""

    schema: Schema
    min_score: float = 80.0  # rapidfuzz score below which a label is left unmatched
    # format -> section -> {(section, row): bare official wording}, and the union per format; built once
    _choices: dict[str, dict[str, dict[tuple[str, str], str]]] = field(init=False, repr=False)
    _all: dict[str, dict[tuple[str, str], str]] = field(init=False, repr=False)
    _titles: dict[str, str] = field(init=False, repr=False)  # section -> bare heading
    _single: Section = field(init=False, repr=False)  # the section printed as one unlabelled row

    def __post_init__(self) -> None:
        sections = self.schema.sections.values()
        self._choices = {
            fmt: {s.name: {(s.name, r): _bare(s.rows[r]) for r in s.row_order(fmt)} for s in sections}
            for fmt in self.schema.formats
        }
        self._all = {
            f: {k: v for pool in by.values() for k, v in pool.items()} for f, by in self._choices.items()
        }
        self._titles = {s.name: _bare(s.zh) for s in sections}
        self._single = next(s for s in sections if s.single_row)

    @classmethod
    def load(cls) -> NaiveExtractor:
        return cls(load_schema())

    def extract(self, path: str | Path) -> dict:
        """Same record shape as ``Extractor.extract``; a file that cannot be read gives ``error``."""
        record = empty_record(path)
        guarded(record, lambda: self._extract(Path(path), record))
        return record

    def _extract(self, path: Path, record: dict) -> None:
        document = _read_pdf(path) if path.suffix.lower() == ".pdf" else read(path)
        text = document.text()
        meta = find_meta(text.splitlines())
        fmt = next(
            (f for f, marks in self.schema.format_markers.items() if any(m in text for m in marks)),
            self.schema.format_of_year(meta.year or 0),  # no year: the oldest template
        )
        fields: dict[str, int | float | None] = dict.fromkeys(self.schema.field_keys(fmt))
        confidence = dict.fromkeys(fields, 0.0)
        section: str | None = None
        for cells in _rows(document):
            label, values = _label_and_values(cells)
            if not values:
                section = self._heading(label) or section
                continue
            match = self._match(label, fmt, section) if label else None
            if match is not None:
                sec, row, score = match
                keys = [sec.key(row, c) for c in sec.columns_of(fmt, row)]
            elif len(values) >= len(self._single.cells[fmt]):
                keys = [self._single.key(r, c) for r, c in self._single.cells[fmt]]
                score = _POSITION_ONLY
            else:
                continue
            for key, raw in zip(keys, values, strict=False):
                if fields[key] is None:  # the first row that fills a field keeps it
                    fields[key] = parse_value(raw, decimal=self.schema.is_decimal(key)).value
                    confidence[key] = score if fields[key] is not None else 0.0
        record["meta"] = {"agency": meta.agency, "year": meta.year, "format": fmt}
        record["fields"] = fields
        record["confidence"] = confidence

    def _heading(self, label: str | None) -> str | None:
        """The section whose title this text line is, if any."""
        if not label:
            return None
        hit = process.extractOne(_bare(label), self._titles, scorer=fuzz.ratio, score_cutoff=self.min_score)
        return hit[2] if hit else None

    def _match(self, label: str, fmt: str, section: str | None) -> tuple[Section, str, float] | None:
        """Best official row for ``label`` and its score in 0..1: in the current section if one scores
        enough, else anywhere."""
        query = _bare(label)
        pools = [self._choices[fmt][section]] if section else []
        for pool in [*pools, self._all[fmt]]:
            hit = process.extractOne(query, pool, scorer=fuzz.WRatio, score_cutoff=self.min_score)
            if hit:
                (name, row), score = hit[2], hit[1]
                return self.schema.sections[name], row, score / 100
        return None
