"""read → layout → grid → field mapping → validation → record, for one file at a time."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import cv2
import numpy as np

from nianbao.errors import CodedError, ErrorCode
from nianbao.extraction.document import Document
from nianbao.extraction.grid import document_rows, unread_ink_rows
from nianbao.extraction.mapping import Decoder, MappingSettings
from nianbao.extraction.meta import find_meta, reconcile
from nianbao.extraction.meta_ner import ner_meta
from nianbao.extraction.narrative import NarrativeCheck, cross_check, read_figures
from nianbao.extraction.numbers import parse_value
from nianbao.extraction.readers import read, regular_size
from nianbao.extraction.record import FieldEvidence, Flag, FlagKind, Record, RecordMeta
from nianbao.extraction.rows import MappingResult
from nianbao.extraction.scorer import LabelScorer
from nianbao.extraction.validation import Validated, ValidationSettings, validate
from nianbao.models import decoder_settings, load_calibrator, load_field_mapper
from nianbao.models.calibration import FieldStructure, field_features
from nianbao.models.sections import SECTIONS_PIPELINE, SectionReader
from nianbao.schema import Schema, load_schema

MAX_BYTES = 50 * 1024 * 1024
T = TypeVar("T")
OCR_FORMS = {"scan"}  # document forms whose text is an OCR reading, not printed characters
LOST_CELL_FLAGS = frozenset({FlagKind.POSITION_UNCERTAIN, FlagKind.ROW_NOT_FOUND})
_GARBLED = re.compile(r"\(cid:\d+\)|[\u0080-\u024f\ue000-\uf8ff]")


@dataclass(frozen=True)
class PipelineSettings:
    """How sure the pipeline is of a field beyond the decoder's confidence in its cell, and when a file is
    no report at all. Unknown keys are refused (a frozen dataclass takes none)."""

    min_cells: int = 4  # fewer mapped cells and no report title: the file is something else
    printed_blank_trust: float = 0.85  # a blank cell in a row that was found
    lost_row_blank_trust: float = 0.7  # a blank cell of a row not found: the row may have been lost
    ocr_blank_trust: float = 0.5  # times a blank's trust where OCR read it: a faint glyph may be missed
    inexact_value_trust: float = 0.6  # times the confidence of a value whose text reads as a number in doubt
    unsigned_negative_trust: float = 0.5  # times the confidence of a negative count or amount
    lost_cell_trust: float = 0.5  # times the confidence of a blank where a row or a cell may have been lost
    narrative_mismatch_trust: float = 0.5  # times the confidence of a field the report's prose contradicts
    # Glyphs a text layer could not map (pdfminer's "(cid:N)", stray Latin-1 letters for CJK codes) in a
    # text a converter made: past this share of the text its labels cannot be read, and no field is
    # trusted more than ``garbled_trust`` times its confidence.
    garbled_share: float = 0.05
    garbled_trust: float = 0.3
    validation: ValidationSettings = field(default_factory=ValidationSettings)  # what the identities do


class Calibrator(Protocol):
    """models.calibration.ConfidenceCalibrator, or a stand-in that records what it is shown."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


def garbled_share(text: str) -> float:
    """Share of the visible text that is unmapped glyphs: ``(cid:N)`` codes and stray Latin-1 letters."""
    visible = sum(1 for ch in text if not ch.isspace())
    return sum(len(m.group()) for m in _GARBLED.finditer(text)) / visible if visible else 0.0


def empty_record(path: str | Path) -> dict:
    """The contract's record before anything is known about the document."""
    return Record(str(path)).to_json()


def guarded(record: dict, work: Callable[[], T]) -> T | None:
    """Run one document's work; a failure becomes the record's error, so one bad file never stops a batch."""
    try:
        return work()
    except CodedError as exc:
        record["error"] = str(exc)
    except Exception as exc:
        if out_of_memory(exc):  # past the address space a batch worker may use (workers.MEMORY_LIMIT_GIB)
            record["error"] = ErrorCode.E_TOO_LARGE.message(
                "the file needs more memory than this process may use"
            )
        else:
            record["error"] = ErrorCode.E_INTERNAL.message(f"{exc.__class__.__name__}: {exc}")
    return None


def _guarded(record: Record, work: Callable[[], dict[str, FieldEvidence]]) -> dict[str, FieldEvidence]:
    """``guarded`` for a typed record: a failure becomes its error, and no field has evidence."""
    outcome: dict = {"error": None}
    evidence = guarded(outcome, work)
    record.error = outcome["error"]
    return evidence or {}


def out_of_memory(exc: Exception) -> bool:
    """An allocation that failed: Python's MemoryError, OpenCV's StsNoMem, or a C++ std::bad_alloc that a
    binding passed on as an error of its own (onnxruntime's Fail)."""
    return (
        isinstance(exc, MemoryError)
        or (isinstance(exc, cv2.error) and getattr(exc, "code", None) == cv2.Error.StsNoMem)
        or "bad_alloc" in str(exc)
    )


@dataclass
class Extractor:
    """Holds the loaded model and schema; ``extract`` turns one file into one record."""

    decoder: Decoder
    schema: Schema
    model_card: dict
    # spaCy's entity ruler reads agency/year where the title rules found none; loaded on first need, so a
    # worker whose reports all have readable titles never pays its memory (~100 MB) or load time.
    sections: bool = False
    calibrator: Calibrator | None = None  # raw confidence → P(right); None: the raw confidence is reported
    settings: PipelineSettings = field(default_factory=PipelineSettings)

    @classmethod
    def load(cls, model_path: str | None = None, settings: MappingSettings | None = None) -> Extractor:
        model, card = load_field_mapper(model_path)
        schema = load_schema()
        calibrated = load_calibrator()
        calibrator = calibrated[0] if calibrated else None
        settings = settings or MappingSettings.from_dict(decoder_settings())
        decoder = Decoder(LabelScorer(model), schema, settings)
        return cls(decoder, schema, card, SECTIONS_PIPELINE.is_dir(), calibrator)

    def extract(self, path: str | Path, data: bytes | None = None) -> dict:
        return self.extract_with_evidence(path, data)[0]

    def extract_with_evidence(
        self, path: str | Path, data: bytes | None = None
    ) -> tuple[dict, dict[str, FieldEvidence]]:
        """The record as JSON, and for each field read from a cell the cell's label, raw text and place."""
        record, evidence = self.extract_record(path, data)
        return record.to_json(), evidence

    def extract_record(
        self, path: str | Path, data: bytes | None = None
    ) -> tuple[Record, dict[str, FieldEvidence]]:
        """The record (its ``to_json`` is what is written and stored) and each field's cell evidence."""
        record = Record(str(path))
        return record, _guarded(record, lambda: self._extract(self.read_file(Path(path), data), record))

    def extract_document(self, document: Document) -> tuple[dict, dict[str, FieldEvidence]]:
        """``extract_with_evidence`` of a document already read: for a caller that also shows what the
        reader made of it (``nianbao inspect``) without reading (and OCR-ing) the file twice."""
        record = Record(str(document.path))
        evidence = _guarded(record, lambda: self._extract(document, record))
        return record.to_json(), evidence

    @staticmethod
    def read_file(path: Path, data: bytes | None = None) -> Document:
        """The file read as the extractor reads it: over MAX_BYTES refused before any reading."""
        size = regular_size(path) if data is None else 0  # an upload's size is the server's to limit
        if size > MAX_BYTES:
            raise CodedError(ErrorCode.E_TOO_LARGE, f"{size} bytes is over the {MAX_BYTES}-byte limit")
        return read(path, data)

    def _extract(self, document: Document, record: Record) -> dict[str, FieldEvidence]:
        text = document.text()
        lines = text.splitlines()
        rows = document_rows(document)
        meta = find_meta(lines)  # title, opening, signature, page rules; the ner only where they are doubtful
        ner = ner_meta(SectionReader.load_ner(), lines) if self.sections and meta.doubtful else None
        meta, meta_flags = reconcile(meta, ner)  # meta_uncertain flags: unknown, disagreeing or unconfirmed
        mapping = self.decoder.decode(rows, text, meta.year)
        if len(mapping.cells) < self.settings.min_cells and meta.agency is None:
            raise CodedError(
                ErrorCode.E_NOT_REPORT, "no 政府信息公开 statistics table and no report title found"
            )
        fmt = mapping.format
        values: dict[str, int | float | None] = {}
        confidence: dict[str, float] = {}
        flags: list[Flag] = list(mapping.flags) + meta_flags
        ocr = document.form in OCR_FORMS
        trust = self.settings
        filed = {cell.where for cell in mapping.cells.values()}
        orphaned = {where for ink, row in unread_ink_rows(document) if not ink & filed for where in row}
        for key in self.schema.field_keys(fmt):
            cell = mapping.cells.get(key)
            if cell is None:
                values[key] = None
                # A blank cell in a row that was found is a printed blank; a row not found may be a row lost.
                found = self.schema.row_of(key) in mapping.rows_found
                # A blank read by OCR may be a faint glyph the engine missed: less sure than a printed blank.
                confidence[key] = (trust.printed_blank_trust if found else trust.lost_row_blank_trust) * (
                    trust.ocr_blank_trust if ocr else 1
                )
                continue
            if not cell.raw:  # a blank cell the scan reader measured
                values[key] = None
                # No ink in it: as sure as any OCR blank (the calibrator weighs it so). Ink that OCR read as
                # nothing, in it or elsewhere in its row: only as sure as that reading, and a person looks.
                confidence[key] = (
                    trust.printed_blank_trust * trust.ocr_blank_trust * (cell.probability if cell.ink else 1)
                )
                if cell.ink:
                    detail = f"ink at {cell.where} that OCR read as nothing"
                    flags.append(Flag.on_field(FlagKind.INK_UNREAD, key, detail))
                elif cell.where in orphaned:
                    detail = f"blank at {cell.where}: its row holds unread ink that no field took"
                    flags.append(Flag.on_field(FlagKind.INK_UNREAD, key, detail))
                continue
            parsed = parse_value(cell.raw, decimal=self.schema.is_decimal(key), unit_yuan=cell.unit_yuan)
            values[key] = parsed.value
            confidence[key] = cell.probability * (1.0 if parsed.exact else trust.inexact_value_trust)
            detail = None if parsed.exact else f"{cell.raw!r} at {cell.where} read as {parsed.value}"
            if parsed.value is not None and parsed.value < 0 and not self.schema.is_signed(key):
                # A count or an amount is never negative: an OCR "minus" here is a speck before the digits.
                values[key] = abs(parsed.value) if ocr else parsed.value
                confidence[key] *= trust.unsigned_negative_trust
                detail = f"{cell.raw!r} at {cell.where}: a negative value where none can be" + (
                    f", read as {values[key]}" if ocr else ""
                )
            if detail is not None and parsed.value is None and ocr:  # "：O": neither a number nor a blank
                flags.append(Flag.on_field(FlagKind.INK_UNREAD, key, f"{detail}: OCR read no value"))
            elif detail is not None:
                flags.append(Flag.on_field(FlagKind.VALUE_UNCERTAIN, key, detail))
        for flag in mapping.flags:  # a blank where a row or a cell may have been lost is no printed blank
            for key in flag.keys:
                if flag.kind in LOST_CELL_FLAGS and key in values and values[key] is None:
                    confidence[key] *= trust.lost_cell_trust
        garbled = garbled_share(text)
        if garbled > trust.garbled_share:  # every field goes to a person
            confidence = {k: c * trust.garbled_trust for k, c in confidence.items()}
            detail = f"{garbled:.0%} of the text is glyphs without a Unicode map: unreadable labels"
            flags.append(Flag.on_fields(FlagKind.TEXT_GARBLED, list(values), detail))
        if document.repaired:  # a character of any label or cell may be the one lost
            detail = f"{document.repaired} undecodable byte sequence(s) replaced by U+FFFD"
            flags.append(Flag.on_fields(FlagKind.ENCODING_REPAIRED, list(values), detail))
        checked = validate(
            values,
            confidence,
            self.schema,
            fmt,
            {k for k, c in mapping.cells.items() if c.raw} if ocr else None,
            trust.validation,
        )
        narrative = cross_check(read_figures(lines, year=meta.year), checked.values, fmt)
        for flag in narrative.flags:  # the report's prose states another figure: one of the two is wrong
            for key in flag.keys:
                checked.confidence[key] *= trust.narrative_mismatch_trust
        record.meta = RecordMeta(meta.agency, meta.year, fmt)
        record.fields = checked.values
        record.confidence = checked.confidence
        record.flags = flags + checked.flags + narrative.flags
        if self.calibrator is not None and record.fields:
            structure = self._structure(mapping, checked, narrative)
            keys, features = field_features(record.to_json(), ocr, structure)
            calibrated = self.calibrator.predict_proba(features)[:, 1]
            record.confidence = dict(zip(keys, map(float, calibrated), strict=True))
        record.confidence = {k: round(v, 4) for k, v in record.confidence.items()}
        return mapping.cells

    def _structure(
        self, mapping: MappingResult, checked: Validated, narrative: NarrativeCheck
    ) -> dict[str, FieldStructure]:
        """How each field's row was found and what the report's prose says of it, for the calibrator."""
        out = {}
        for key in checked.values:
            row, section = self.schema.row_of(key), self.schema.section_of(key)
            out[key] = FieldStructure(
                row_found=row in mapping.rows_found,
                order_margin=mapping.order_margins.get(row),
                unplaced_rows=mapping.unplaced.get(section, 0),
                null_evidence=checked.null_evidence.get(key, 0),
                narrative=int(np.sign(narrative.agreement.get(key, 0))),
            )
        return out
