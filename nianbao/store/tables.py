"""The store's tables (SQLAlchemy rows) and the queries several readers of them share.

Why rows know a little of their meaning (``current``, ``meta``, ``open_checks``): the value in use is the
newest review's, else the extracted one, and every reader of a row (review page, export, checks) must
agree on that, so it is said once, on the row. The schema itself is made by the migrations
(``migrations/``), never by ``create_all``: a change here needs a migration beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Select,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    exists,
    func,
    select,
)
from sqlalchemy.orm import (
    ColumnProperty,
    DeclarativeBase,
    Mapped,
    aliased,
    column_property,
    mapped_column,
    relationship,
    selectinload,
)
from sqlalchemy.sql import operators

from nianbao.locations import join_location
from nianbao.store.hashing import content_hash

STATES = ("done", "partial", "failed")  # of an extraction
FILE_STATES = ("pending", *STATES)
ACTIONS = ("accept", "correct", "not_stated")  # what a reviewer can decide about one field
UNDO = "undo"  # the action of a review row that reverses the decisions about its field before it
META_KEYS = ("agency", "year")  # what a reviewer can set about a document
META_DOUBT_FLAGS = frozenset({"meta_uncertain", "meta_disagrees"})  # record flags that put meta in doubt
REVIEW_CONFLICT = "review_conflict"  # check flag: a re-extraction read a reviewed field otherwise
Value = int | float | None
MetaValue = str | int | None


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict: JSON, list: JSON, datetime: DateTime(timezone=True)}


class FlagList(TypeDecorator):
    """A JSON list kept as SQL NULL when empty (most fields have no flag) and read back as []."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def process_bind_param(self, value: list | None, _dialect: object) -> list | None:
        return value or None

    def process_result_value(self, value: list | None, _dialect: object) -> list:
        return value or []


class TextRow(Base):
    """A field's key, a printed row label or a block's name ("table 5"), once for the whole database: every
    report of an archive has the same keys and prints the same few hundred labels, so a field names them
    by number. Found by its SHA-256 (an index on a long label itself would break PostgreSQL's index row
    limit). Never deleted, so no foreign key points here."""

    __tablename__ = "texts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)

    @staticmethod
    def digest(text: str) -> str:
        """What a text is found by (``sha256``)."""
        return content_hash(text.encode())


class _ByTextId(ColumnProperty.Comparator):
    """``==`` and ``in_`` of texts compare the row's TextRow id (``<name>_id``) with those of the texts,
    found once by SHA-256, not the text of each row (a subquery per row of a scan)."""

    def operate(self, op: operators.OperatorType, *other: object, **kwargs: object) -> ColumnElement:
        wanted = [other[0]] if op is operators.eq else other[0] if op is operators.in_op else None
        if not isinstance(wanted, list | tuple | set | dict) or not all(isinstance(t, str) for t in wanted):
            return super().operate(op, *other, **kwargs)
        column = self.prop.parent.c[f"{self.prop.key}_id"]
        ids = select(TextRow.id).where(TextRow.sha256.in_([TextRow.digest(t) for t in wanted]))
        return (self.adapter(column) if self.adapter else column).in_(ids)


def _text_of(text_id: Mapped[int | None]) -> Mapped:
    """The text a TextRow id names, read with the row (``_ByTextId`` compares it)."""
    text = select(TextRow.text).where(TextRow.id == text_id).correlate_except(TextRow).scalar_subquery()
    return column_property(text, comparator_factory=_ByTextId)


class DocumentRow(Base):
    """A file's content, once: the same bytes under two paths are one document."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(Text)  # where it was last seen
    size: Mapped[int] = mapped_column(Integer)
    form: Mapped[str | None] = mapped_column(String(16))
    pages: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    extractions: Mapped[list[ExtractionRow]] = relationship(back_populates="document")
    meta_reviews: Mapped[list[MetaReviewRow]] = relationship(
        back_populates="document", order_by="MetaReviewRow.id"
    )

    def meta_review(self, key: str) -> MetaReviewRow | None:
        """The newest decision about the document's ``agency`` or ``year``, if a person made one."""
        return next((r for r in reversed(self.meta_reviews) if r.key == key), None)


class ExtractionRow(Base):
    """One extraction of a document by one pipeline and model version, with the record it gave."""

    __tablename__ = "extractions"
    __table_args__ = (UniqueConstraint("document_id", "pipeline_version", "model_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    pipeline_version: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))  # one of STATES
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    agency: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(8))
    # the record with ``fields`` and ``confidence`` null where the field rows hold them: ``full_record``
    record: Mapped[dict] = mapped_column(JSON)
    # the record's flags that put its agency or year in doubt (META_DOUBT_FLAGS); SQL NULL when none
    meta_doubts: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    document: Mapped[DocumentRow] = relationship(back_populates="extractions")
    fields: Mapped[list[FieldRow]] = relationship(back_populates="extraction", order_by="FieldRow.id")

    def full_record(self) -> dict:
        """The record as extracted, its fields and confidences back from the field rows."""
        full = dict(self.record)
        stored = self.record.get("fields"), self.record.get("confidence")
        full["fields"] = dict(stored[0]) if stored[0] is not None else {r.key: r.value for r in self.fields}
        full["confidence"] = (
            dict(stored[1]) if stored[1] is not None else {r.key: r.confidence for r in self.fields}
        )
        return full

    def meta(self, key: str) -> MetaValue:
        """The document's agency or year in use: the newest meta review's, else the extracted one."""
        review = self.document.meta_review(key)
        return review.new_value if review else getattr(self, key)

    def meta_status(self, key: str) -> str:
        """reviewed (a person decided), pending (a doubt flag names it, no decision yet) or auto."""
        if self.document.meta_review(key) is not None:
            return "reviewed"
        return "pending" if any(f["field"] == f"meta.{key}" for f in self.meta_doubts or []) else "auto"

    def open_meta_doubts(self) -> list[dict]:
        """The meta doubt flags no meta review has answered yet."""
        doubts = self.meta_doubts or []
        return [f for f in doubts if self.meta_status(f["field"].removeprefix("meta.")) == "pending"]


class FieldRow(Base):
    """One canonical field as extracted, with its confidence, flags and where it was read."""

    __tablename__ = "field_values"
    # one index: a key once per extraction, by TextRow id (a few bytes), which finds an extraction's fields
    __table_args__ = (UniqueConstraint("extraction_id", "key_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    extraction_id: Mapped[int] = mapped_column(ForeignKey("extractions.id"))
    key_id: Mapped[int] = mapped_column(Integer)  # TextRow: the field's key ("s3.new.total")
    key: Mapped[str] = _text_of(key_id)
    value: Mapped[Value] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Float)
    flags: Mapped[list] = mapped_column(FlagList, nullable=True)  # the record's flags that name this field
    source_text: Mapped[str | None] = mapped_column(Text)
    label_id: Mapped[int | None] = mapped_column(Integer)  # TextRow: the printed row label it was filed from
    # where it was read (``location``): a block (TextRow), its row and column
    block_id: Mapped[int | None] = mapped_column(Integer)
    cell_row: Mapped[int | None] = mapped_column(Integer)
    cell_col: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str | None] = _text_of(label_id)
    block: Mapped[str | None] = _text_of(block_id)
    page: Mapped[int | None] = mapped_column(Integer)
    x0: Mapped[float | None] = mapped_column(Float)  # cell box in PDF points, top-down
    top: Mapped[float | None] = mapped_column(Float)
    x1: Mapped[float | None] = mapped_column(Float)
    bottom: Mapped[float | None] = mapped_column(Float)
    extraction: Mapped[ExtractionRow] = relationship(back_populates="fields")
    # the decisions in force (none undone); ``trail``: every review row, for the audit
    reviews: Mapped[list[ReviewRow]] = relationship(
        primaryjoin=lambda: and_(FieldRow.id == ReviewRow.field_id, standing(ReviewRow)),
        order_by="ReviewRow.id",
        viewonly=True,
    )
    trail: Mapped[list[ReviewRow]] = relationship(back_populates="field", order_by="ReviewRow.id")
    checks: Mapped[list[CheckFlagRow]] = relationship(
        back_populates="field", foreign_keys="CheckFlagRow.field_id", order_by="CheckFlagRow.id"
    )

    @property
    def location(self) -> str | None:
        """Where it was read: "page 1 table 2 row 3 col 4"."""
        return join_location(self.block, self.cell_row, self.cell_col)

    @property
    def current(self) -> Value:
        """The value in use: the newest review's, else the extracted one."""
        return self.reviews[-1].new_value if self.reviews else self.value

    @property
    def open_checks(self) -> list[CheckFlagRow]:
        """Check flags still asking for review: a review answers them, as it answers any other flag."""
        return [] if self.reviews else list(self.checks)

    @property
    def all_flags(self) -> list[dict]:
        """The extraction's flags of this field, then the checks' (as record flags: field, kind, detail)."""
        return [*self.flags, *(c.as_flag(self.key) for c in self.checks)]


class ReviewRow(Base):
    """One reviewer decision; appended, never edited."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("field_values.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # one of ACTIONS, or UNDO
    old_value: Mapped[Value] = mapped_column(JSON)
    new_value: Mapped[Value] = mapped_column(JSON)
    reviewer: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    # set on a decision carried over from an earlier extraction: the person's own decision it repeats
    carried_from: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))
    field: Mapped[FieldRow] = relationship(back_populates="trail")


def standing(review: type[ReviewRow]) -> ColumnElement[bool]:
    """SQL: ``review`` (the class or an alias) is a decision in force: no undo, and no undo of its field
    after it."""
    undo = aliased(ReviewRow)
    later_undo = exists().where(undo.field_id == review.field_id, undo.action == UNDO, undo.id > review.id)
    return and_(review.action != UNDO, ~later_undo)


class CheckFlagRow(Base):
    """A doubt a check across documents raised about one field, e.g. ``cross_year_mismatch``: each run of
    the check replaces its flags (a flag raised again is kept as it was); or a re-extraction that read a
    reviewed field otherwise (``review_conflict``, against the reviewed field). An unreviewed field with
    one waits for review; a review answers it as it answers any other flag."""

    __tablename__ = "check_flags"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("field_values.id"), index=True)
    # the field of the other document it was checked against, if any
    other_field_id: Mapped[int | None] = mapped_column(ForeignKey("field_values.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    field: Mapped[FieldRow] = relationship(back_populates="checks", foreign_keys=[field_id])

    def as_flag(self, key: str) -> dict:
        return {"field": key, "kind": self.kind, "detail": self.detail}


class MetaReviewRow(Base):
    """One reviewer decision about a document's agency or year; appended, never edited. Kept per document,
    not per extraction: which agency and year a report is does not change with the extractor."""

    __tablename__ = "meta_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    key: Mapped[str] = mapped_column(String(16))  # one of META_KEYS
    action: Mapped[str] = mapped_column(String(16))  # one of ACTIONS
    old_value: Mapped[MetaValue] = mapped_column(JSON)
    new_value: Mapped[MetaValue] = mapped_column(JSON)
    reviewer: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    document: Mapped[DocumentRow] = relationship(back_populates="meta_reviews")


class BatchJobRow(Base):
    """A batch submitted to the REST service: what it was asked to do, and how it stands or ended. Kept in
    the database so a job's outcome outlives the server process that ran it."""

    __tablename__ = "batch_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # queued, running, done or failed
    paths: Mapped[list] = mapped_column(JSON)  # resolved, inside the server's archive root
    options: Mapped[dict] = mapped_column(JSON)  # workers, reextract, retry_failed
    summary: Mapped[str | None] = mapped_column(Text)  # the batch's summary line, once it ended
    counts: Mapped[dict | None] = mapped_column(JSON)  # file states when it ended (live from files before)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class FileRow(Base):
    """A path of a batch run and how it ended: the state of a file, whatever its content turned out to be
    (a file that vanished or could not be read has no document)."""

    __tablename__ = "files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    # the REST batch job that last looked at the path; null when that was the command line
    batch_job_id: Mapped[int | None] = mapped_column(ForeignKey("batch_jobs.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))  # one of FILE_STATES
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)


def newest_extraction_ids() -> Select:
    """The id of each document's newest extraction: the one in use."""
    return select(func.max(ExtractionRow.id)).group_by(ExtractionRow.document_id)


def newest_extraction_of(document_id: int) -> Select:
    return (
        select(ExtractionRow)
        .where(ExtractionRow.document_id == document_id)
        .order_by(ExtractionRow.id.desc())
        .limit(1)
    )


def with_fields(query: Select) -> Select:
    """Extractions loaded with their document and its meta reviews, fields, and the fields' reviews and
    check flags, in a few queries."""
    return query.options(
        selectinload(ExtractionRow.document).selectinload(DocumentRow.meta_reviews),
        selectinload(ExtractionRow.fields).selectinload(FieldRow.reviews),
        selectinload(ExtractionRow.fields).selectinload(FieldRow.trail),
        selectinload(ExtractionRow.fields).selectinload(FieldRow.checks),
    )


__all__ = [
    "ACTIONS",
    "FILE_STATES",
    "META_DOUBT_FLAGS",
    "META_KEYS",
    "REVIEW_CONFLICT",
    "STATES",
    "UNDO",
    "Base",
    "BatchJobRow",
    "CheckFlagRow",
    "DocumentRow",
    "ExtractionRow",
    "FieldRow",
    "FileRow",
    "MetaReviewRow",
    "MetaValue",
    "ReviewRow",
    "TextRow",
    "Value",
    "newest_extraction_ids",
    "newest_extraction_of",
    "standing",
    "with_fields",
]
