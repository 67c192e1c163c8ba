"""The extractor's output as types: a ``Record`` of one document, its ``Flag``s, and the cell evidence behind
each field (``FieldEvidence``).

The JSON contract (README, "Output") is what ``Record.to_json`` writes: the store, the review app, the
export and the calibrator's features read that dict, so its keys and their order are part of it. A flag is
made by one of ``Flag``'s constructors, one per shape the contract knows (a field, several fields, an
identity's fields, a figure of the prose), never by writing the dict by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from nianbao.extraction.document import PageBox

Value = int | float | None


class FlagKind(StrEnum):
    """Why a field (or several) is flagged: the ``kind`` of a record's flag."""

    # The row decoder (mapping)
    POSITION_UNCERTAIN = "position_uncertain"  # which column a value stands in is not certain
    VALUE_UNCERTAIN = "value_uncertain"  # the printed text reads as a number only in doubt
    PLACED_BY_IDENTITIES = "placed_by_identities"  # the identities chose the columns of a short row
    ORDER_DOUBT = "order_doubt"  # a row placed by order where the table gives reason to doubt that order
    ROW_NOT_FOUND = "row_not_found"  # a template row missing where value rows were left unplaced
    DUPLICATE_TABLE = "duplicate_table"  # the report prints a section's table twice with other values
    UNMAPPED_ROW = "unmapped_row"  # a row of the other template's: its values are not filed
    # The pipeline
    INK_UNREAD = "ink_unread"  # a scanned cell with ink that OCR read as nothing
    TEXT_GARBLED = "text_garbled"  # the text layer's glyphs have no Unicode map: labels unreadable
    ENCODING_REPAIRED = "encoding_repaired"  # undecodable bytes replaced by U+FFFD
    # Validation (the identities)
    INFERRED = "inferred"  # not printed; an identity gives the value
    OCR_REPAIRED = "ocr_repaired"  # one misread OCR digit changed so that the identities hold
    SOURCE_INCONSISTENT = "source_inconsistent"  # the printed values break an identity
    IDENTITY_GAP = "identity_gap"  # blanks that must hold what an identity's printed cells lack
    # The prose and the metadata
    NARRATIVE_MISMATCH = "narrative_mismatch"  # the report's prose states another figure
    META_UNCERTAIN = "meta_uncertain"  # agency or year unknown, disputed or unconfirmed


@dataclass(frozen=True)
class Flag:
    """One doubt about one field or a group of fields, with a human-readable ``detail``.

    It names one ``field`` or several ``fields``; an identity's flag names the identity
    (``<identity id>:<where>``), a prose figure's the ``line`` it was read on.
    """

    kind: FlagKind
    detail: str
    field: str | None = None
    fields: tuple[str, ...] | None = None
    identity: str | None = None
    line: int | None = None

    @classmethod
    def on_field(cls, kind: FlagKind, key: str, detail: str) -> Flag:
        return cls(kind, detail, field=key)

    @classmethod
    def on_fields(cls, kind: FlagKind, keys: list[str], detail: str) -> Flag:
        return cls(kind, detail, fields=tuple(keys))

    @classmethod
    def on_identity(cls, kind: FlagKind, identity: str, keys: list[str], detail: str) -> Flag:
        return cls(kind, detail, fields=tuple(keys), identity=identity)

    @classmethod
    def narrative_mismatch(cls, keys: list[str], detail: str, line: int) -> Flag:
        return cls(FlagKind.NARRATIVE_MISMATCH, detail, fields=tuple(keys), line=line)

    @property
    def keys(self) -> list[str]:
        """The fields the flag names."""
        return [self.field] if self.field is not None else list(self.fields or ())

    def to_json(self) -> dict:
        out: dict = {}
        if self.identity is not None:
            out["identity"] = self.identity
        if self.field is not None:
            out["field"] = self.field
        if self.fields is not None:
            out["fields"] = list(self.fields)
        out["kind"] = self.kind.value
        out["detail"] = self.detail
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass
class RecordMeta:
    agency: str | None = None
    year: int | None = None
    format: str | None = None

    def to_json(self) -> dict:
        return {"agency": self.agency, "year": self.year, "format": self.format}


@dataclass
class Record:
    """One document's extraction: its meta, field values, confidences and flags, or the error that
    stopped it."""

    document: str
    meta: RecordMeta = field(default_factory=RecordMeta)
    fields: dict[str, Value] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict:
        return {
            "document": self.document,
            "meta": self.meta.to_json(),
            "fields": self.fields,
            "confidence": self.confidence,
            "flags": [f.to_json() for f in self.flags],
            "error": self.error,
        }


@dataclass(frozen=True)
class FieldEvidence:
    """The printed cell a field was read from: its key, raw text, place and label, and how sure the
    decoder is of the label → row and slot → column decisions (times the reader's trust in the text)."""

    key: str
    raw: str
    where: str
    label: str
    probability: float
    unit_yuan: bool = False
    box: PageBox | None = None  # the cell on its page, for paged inputs
    ink: bool | None = None  # a blank cell a scan reader measured: ink in it (unread), or none
