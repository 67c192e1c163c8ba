"""Where extractions and reviews live: a real SQL database (SQLite file by default, PostgreSQL by URL).

Why an audit trail: a value a reviewer changed must still show what the extractor said, who changed it
and when. So nothing is overwritten: a document is one row per content hash, each extraction one row per
(document, pipeline version, model version), each review decision a new row; the value in use is the
newest review's, else the extracted one. The schema is created and upgraded by Alembic migrations
(``migrations/``), never by ``create_all``, so a database made by an older nianbao is upgraded in place.

A review belongs to the document and field, not to one extraction: when the document is extracted again
(a new model), each decision is carried over to the new extraction's field (a review row pointing to the
person's decision by ``carried_from``) if the new extraction reads what the person saw or the value they
set; a field read otherwise waits for review again, with a ``review_conflict`` check flag that names both.
Writers of one document's reviews and extractions are serialized (a row lock; SQLite's write lock), so an
audit trail is a chain: each decision's old value is the previous one's new value.

A decision can be undone: an ``undo`` review is appended (nothing is deleted) and voids every decision
about the field before it, so the field is unreviewed again, its extracted value in use, back in the queue.
``FieldRow.reviews`` holds the decisions in force, ``FieldRow.trail`` every review row, undos included.

A document's agency and year are reviewed the same way (``meta_reviews``: per document, since they are
the content's, not an extractor's). Doubts that a check across documents raises about a field
(``check_flags``, e.g. the cross-year check of ``crossyear.py``) are derived data instead: replaced by each
run of the check, they hold an unreviewed field in the queue.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

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
    UniqueConstraint,
    and_,
    create_engine,
    event,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    aliased,
    mapped_column,
    relationship,
    selectinload,
    sessionmaker,
)

from nianbao.errors import UserError
from nianbao.schema import load_schema

if TYPE_CHECKING:
    from nianbao.extraction.mapping import CellEvidence

DEFAULT_URL = "sqlite:///nianbao.db"
BACKENDS = ("sqlite", "postgresql")  # what the migrations are written and tested for
CONNECT_TIMEOUT_S = 5  # a PostgreSQL server that does not answer is reported after this, not waited for
MIGRATIONS = Path(__file__).with_name("migrations")
STATES = ("done", "partial", "failed")  # of an extraction
FILE_STATES = ("pending", *STATES)
ACTIONS = ("accept", "correct", "not_stated")  # what a reviewer can decide about one field
UNDO = "undo"  # the action of a review row that reverses the decisions about its field before it
META_KEYS = ("agency", "year")  # what a reviewer can set about a document
META_DOUBT_FLAGS = frozenset({"meta_uncertain", "meta_disagrees"})  # record flags that put meta in doubt
FIRST_YEAR, LAST_YEAR = 1990, 2100  # a reviewed report year must lie within
REVIEW_CONFLICT = "review_conflict"  # check flag: a re-extraction read a reviewed field otherwise
Value = int | float | None
MetaValue = str | int | None
T = TypeVar("T")


class StaleField(LookupError):
    """A review of a field of an extraction that is no longer its document's newest: the page that asked
    was loaded before the document was extracted again."""


class UndoRefused(ValueError):
    """An undo of a decision that is not the field's only decision in force by that reviewer: someone
    decided after it, or the field was decided before it (an undo would void their decision too)."""


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict: JSON, list: JSON, datetime: DateTime(timezone=True)}


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
    record: Mapped[dict] = mapped_column(JSON)
    # the record's flags that put its agency or year in doubt (META_DOUBT_FLAGS); SQL NULL when none
    meta_doubts: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    document: Mapped[DocumentRow] = relationship(back_populates="extractions")
    fields: Mapped[list[FieldRow]] = relationship(back_populates="extraction", order_by="FieldRow.id")

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
    __table_args__ = (UniqueConstraint("extraction_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    extraction_id: Mapped[int] = mapped_column(ForeignKey("extractions.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[Value] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Float)
    flags: Mapped[list] = mapped_column(JSON)  # the record's flags that name this field
    source_text: Mapped[str | None] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(Text)  # the printed row label it was filed from
    location: Mapped[str | None] = mapped_column(Text)  # "page 1 table 2 row 3 col 4"
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


def meta_doubts(record: dict) -> list[dict] | None:
    """The record's flags that put its agency or year in doubt; None when there are none."""
    found = [
        f
        for f in record.get("flags", [])
        if f.get("kind") in META_DOUBT_FLAGS and f.get("field") in ("meta.agency", "meta.year")
    ]
    return found or None


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path, chunk: int = 1 << 20) -> str:
    """A file's SHA-256 read in chunks, so an archive's largest files never sit in memory whole."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def database_cause(exc: Exception) -> str:
    """The first line of what the database driver said (else of the error), for a one-line E_DB report."""
    said = str(getattr(exc, "orig", None) or exc).strip()
    return said.splitlines()[0] if said else exc.__class__.__name__


def database_url(url: str) -> URL:
    """``url`` parsed, or E_DB_URL when it is no URL of a database the store runs on (``sqlit:///x.db``,
    a bare path): said before SQLAlchemy's own words, which name a plugin, not the mistake."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UserError("E_DB_URL", url=url) from exc
    if parsed.get_backend_name() not in BACKENDS:
        raise UserError("E_DB_URL", url=parsed.render_as_string(hide_password=True))
    return parsed


def sqlite_path(url: URL) -> Path | None:
    """The file a SQLite URL names (``sqlite:///file:PATH?uri=true`` too); None for another database or an
    in-memory one."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if str(url.query.get("uri", "")).lower() in ("true", "1"):
        if url.query.get("mode") == "memory":
            return None
        database = database.removeprefix("file:").split("?", 1)[0]
    return None if database in ("", ":memory:") else Path(database)


def error_code(error: str | None) -> str | None:
    """The stable code at the front of a record's error ("E_CORRUPT: …" → "E_CORRUPT")."""
    return error.split(":", 1)[0].strip() if error else None


def upgrade(engine: Engine) -> None:
    """Bring the database's schema to the newest migration."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores REFERENCES without it
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the review page) never block the writer
    cursor.execute("PRAGMA busy_timeout=30000")  # several batch workers write the same file
    cursor.close()


@dataclass
class Store:
    """The database behind batch runs, the review page and exports."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def open(cls, url: str = DEFAULT_URL, create: bool = True) -> Store:
        """The store at ``url``, its schema upgraded. ``create=False`` refuses a SQLite file that does not
        exist (E_DB_MISSING): a command that only reads would otherwise make an empty database and report
        nothing in it. A URL, folder or server that cannot work is a ``UserError``, found before it fails."""
        parsed = database_url(url)
        shown = parsed.render_as_string(hide_password=True)
        connect_args: dict[str, int] = {}
        path = sqlite_path(parsed)
        if path is not None and not path.exists():
            if not create:
                raise UserError("E_DB_MISSING", url=shown)
            if not path.parent.is_dir():
                raise UserError("E_DB_DIR", folder=path.parent, url=shown)
        if parsed.get_driver_name() in ("psycopg", "psycopg2") and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_S  # libpq's own default is to wait forever
        try:
            engine = create_engine(parsed, connect_args=connect_args)
        except NoSuchModuleError as exc:  # postgresql+nosuchdriver://
            raise UserError("E_DB_URL", url=shown) from exc
        except ImportError as exc:  # a known driver that is not installed (postgresql+psycopg2://)
            raise UserError("E_DB_DRIVER", url=shown, said=exc) from exc
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            try:
                engine.connect().close()  # the pool keeps it for the migrations
            except OperationalError as exc:
                engine.dispose()
                raise UserError("E_DB_CONNECT", url=shown, said=database_cause(exc)) from exc
        upgrade(engine)
        return cls(engine, sessionmaker(engine, expire_on_commit=False))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _insert_or_get(self, work: Callable[[Session], T]) -> T:
        """``work`` in a transaction; once more when another writer (a second batch on the database)
        inserted the same unique key between its look-up and its insert: the second look-up finds it."""
        try:
            with self.sessions.begin() as session:
                return work(session)
        except IntegrityError:
            with self.sessions.begin() as session:
                return work(session)

    def add_document(self, digest: str, path: str, size: int, form: str | None = None) -> int:
        """The document's id, adding it the first time its content (SHA-256 ``digest``) is seen. The path is
        kept absolute, so a server started in another directory than the batch still finds the file."""
        path = os.path.abspath(path)

        def work(session: Session) -> int:
            row = session.scalar(select(DocumentRow).where(DocumentRow.sha256 == digest))
            if row is None:
                row = DocumentRow(sha256=digest, path=path, size=size, form=form)
                session.add(row)
                session.flush()
            else:
                row.path = path
            return row.id

        return self._insert_or_get(work)

    def save_extraction(
        self,
        document_id: int,
        record: dict,
        evidence: dict[str, CellEvidence],
        pipeline_version: str,
        model_version: str,
        state: str | None = None,
    ) -> int:
        """A record and its fields, in one transaction, the document's reviews carried over to them. Saving
        the same key again returns the first id, except that a failed extraction gives way to a new attempt
        (it holds no fields to keep)."""
        state = state or ("failed" if record["error"] else "done")
        if state not in STATES:
            raise ValueError(f"state {state!r} is not one of {STATES}")
        meta = record["meta"]
        flags_of: dict[str, list[dict]] = {}
        for flag in record["flags"]:
            for key in flag_fields(flag):
                flags_of.setdefault(key, []).append(flag)
        with self.sessions.begin() as session:
            _lock_document(session, document_id)
            found = session.scalar(
                select(ExtractionRow).where(
                    ExtractionRow.document_id == document_id,
                    ExtractionRow.pipeline_version == pipeline_version,
                    ExtractionRow.model_version == model_version,
                )
            )
            if found is not None and found.state != "failed":
                return found.id
            if found is not None:
                session.delete(found)
                session.flush()
            extraction = ExtractionRow(
                document_id=document_id,
                pipeline_version=pipeline_version,
                model_version=model_version,
                state=state,
                error_code=error_code(record["error"]),
                error=record["error"],
                agency=meta.get("agency"),
                year=meta.get("year"),
                format=meta.get("format"),
                record=record,
                meta_doubts=meta_doubts(record),
                fields=[
                    _field_row(
                        key, value, record["confidence"].get(key, 0.0), flags_of.get(key, []), evidence
                    )
                    for key, value in record["fields"].items()
                ],
            )
            session.add(extraction)
            session.flush()
            _carry_reviews(session, extraction)
            return extraction.id

    def extractions_of(self, document_id: int) -> list[tuple[str, str, str]]:
        """(pipeline version, model version, state) of every extraction of a document, oldest first."""
        query = (
            select(ExtractionRow.pipeline_version, ExtractionRow.model_version, ExtractionRow.state)
            .where(ExtractionRow.document_id == document_id)
            .order_by(ExtractionRow.id)
        )
        with self.sessions() as session:
            return [tuple(row) for row in session.execute(query)]

    def set_file(
        self,
        path: str,
        state: str,
        document_id: int | None = None,
        error: str | None = None,
        batch_job_id: int | None = None,
    ) -> None:
        """Where a batch stands on one path (kept absolute); the newest state replaces the last (progress,
        not audit)."""
        if state not in FILE_STATES:
            raise ValueError(f"state {state!r} is not one of {FILE_STATES}")
        path = os.path.abspath(path)

        def work(session: Session) -> None:
            row = session.scalar(select(FileRow).where(FileRow.path == path))
            if row is None:
                row = FileRow(path=path)
                session.add(row)
            row.document_id, row.state, row.batch_job_id = document_id, state, batch_job_id
            row.error, row.error_code = error, error_code(error)
            session.flush()  # a path another batch inserted meanwhile fails here, inside the retry

        self._insert_or_get(work)

    def settle_files(self, document_id: int | None = None) -> None:
        """Pending files take the state and error of their document's newest extraction, if it has one
        (a duplicate path, a file skipped as already stored, or one whose run was killed mid-way); only the
        files of ``document_id`` when given, so a running batch's files show its progress."""
        pending = select(FileRow).where(FileRow.state == "pending")
        if document_id is not None:
            pending = pending.where(FileRow.document_id == document_id)
        with self.sessions.begin() as session:
            for row in session.scalars(pending):
                newest = session.scalar(newest_extraction_of(row.document_id))
                if newest is not None:
                    row.state, row.error, row.error_code = newest.state, newest.error, newest.error_code

    def file_states(self) -> dict[str, tuple[str, str | None]]:
        """path → (state, error code) of every file a batch has seen."""
        with self.sessions() as session:
            return {
                p: (s, c)
                for p, s, c in session.execute(select(FileRow.path, FileRow.state, FileRow.error_code))
            }

    def file_counts(self, batch_job_id: int) -> dict[str, int]:
        """How many of the paths a batch job last looked at are in each file state (all of FILE_STATES)."""
        query = (
            select(FileRow.state, func.count())
            .where(FileRow.batch_job_id == batch_job_id)
            .group_by(FileRow.state)
        )
        with self.sessions() as session:
            return {state: 0 for state in FILE_STATES} | dict(session.execute(query).all())

    def review(self, field_id: int, action: str, reviewer: str, value: Value = None) -> ReviewRow:
        """Record a decision: ``accept`` keeps the value in use, ``correct`` sets ``value`` (ValueError when
        the field cannot hold it: ``Schema.check_value``), ``not_stated`` sets null. KeyError for no such
        field, StaleField for a field of an extraction its document no longer uses."""
        return self.review_fields([field_id], action, reviewer, value)[0]

    def review_fields(
        self,
        field_ids: list[int],
        action: str,
        reviewer: str,
        value: Value = None,
        unreviewed_only: bool = False,
    ) -> list[ReviewRow]:
        """One decision about fields of one document (a broken identity accepted as printed): a review per
        field, all in one transaction, or none. ``unreviewed_only``: skip the fields someone decided
        meanwhile. Errors as ``review``'s; ValueError for fields of several documents."""
        if action not in ACTIONS:
            raise ValueError(f"action {action!r} is not one of {ACTIONS}")
        with self.sessions.begin() as session:
            made = []
            for row in _locked_fields(session, field_ids):
                if unreviewed_only and row.reviews:
                    continue
                new = row.current
                if action == "correct":
                    new = load_schema().check_value(row.key, value)
                elif action == "not_stated":
                    new = None
                made.append(
                    ReviewRow(
                        field=row, action=action, old_value=row.current, new_value=new, reviewer=reviewer
                    )
                )
            session.add_all(made)
        return made

    def undo(self, field_ids: list[int], reviewer: str) -> list[ReviewRow]:
        """Reverse ``reviewer``'s decision about each field (one decision: a field, or the fields of one
        document decided together) by appending an ``undo`` review per field, in one transaction: the
        fields are unreviewed again, back in the queue. UndoRefused unless each field's only decision in
        force is the reviewer's own (not carried over); other errors as ``review_fields``'."""
        with self.sessions.begin() as session:
            made = []
            for row in _locked_fields(session, field_ids):
                decisions = row.reviews
                if len(decisions) != 1 or decisions[0].reviewer != reviewer or decisions[0].carried_from:
                    raise UndoRefused(f"field {row.id} has no decision of {reviewer}'s alone to undo")
                made.append(
                    ReviewRow(
                        field=row, action=UNDO, old_value=row.current, new_value=row.value, reviewer=reviewer
                    )
                )
            session.add_all(made)
        return made

    def review_meta(
        self, document_id: int, key: str, action: str, reviewer: str, value: MetaValue = None
    ) -> MetaReviewRow:
        """Record a decision about a document's ``agency`` (a name) or ``year`` (the report's year):
        ``accept`` keeps the value in use, ``correct`` sets ``value``, ``not_stated`` sets null (unknown)."""
        if key not in META_KEYS:
            raise ValueError(f"meta key {key!r} is not one of {META_KEYS}")
        if action not in ACTIONS:
            raise ValueError(f"action {action!r} is not one of {ACTIONS}")
        if action == "correct":
            value = _meta_value(key, value)
        with self.sessions.begin() as session:
            if session.scalar(select(DocumentRow.id).where(DocumentRow.id == document_id)) is None:
                raise KeyError(document_id)
            _lock_document(session, document_id)
            document = session.get(DocumentRow, document_id, options=[selectinload(DocumentRow.meta_reviews)])
            extraction = session.scalar(newest_extraction_of(document_id))
            earlier = document.meta_review(key)
            old = extraction.meta(key) if extraction else earlier.new_value if earlier else None
            new = {"accept": old, "correct": value, "not_stated": None}[action]
            review = MetaReviewRow(
                document=document, key=key, action=action, old_value=old, new_value=new, reviewer=reviewer
            )
            session.add(review)
        return review

    def corrections(self) -> Iterator[dict]:
        """Every review decision as a label: document, field (a field key, or meta.agency / meta.year),
        value, reviewer, time (oldest first). A decision carried over to a later extraction is the same
        decision: it is given once. An undone decision is no label (the person took it back)."""
        fields = (
            select(ReviewRow, FieldRow.key, DocumentRow.path, DocumentRow.sha256)
            .join(FieldRow, ReviewRow.field_id == FieldRow.id)
            .join(ExtractionRow, FieldRow.extraction_id == ExtractionRow.id)
            .join(DocumentRow, ExtractionRow.document_id == DocumentRow.id)
            .where(ReviewRow.carried_from.is_(None), standing(ReviewRow))
            .order_by(ReviewRow.id)
        )
        metas = (
            select(MetaReviewRow, DocumentRow.path, DocumentRow.sha256)
            .join(DocumentRow, MetaReviewRow.document_id == DocumentRow.id)
            .order_by(MetaReviewRow.id)
        )
        with self.sessions() as session:
            labels = [
                _label(review, key, path, sha256) for review, key, path, sha256 in session.execute(fields)
            ]
            labels += [
                _label(review, f"meta.{review.key}", path, sha256)
                for review, path, sha256 in session.execute(metas)
            ]
        # one trail in time order; field decisions before meta ones made in the same instant
        yield from sorted(labels, key=lambda label: label.pop("_at"))


def _locked_fields(session: Session, field_ids: list[int]) -> list[FieldRow]:
    """The fields (each once, in the order given) with their document locked for the transaction: KeyError
    for one that does not exist, ValueError for fields of several documents, StaleField for one of an
    extraction its document no longer uses."""
    field_ids = list(dict.fromkeys(field_ids))
    query = (
        select(FieldRow.id, ExtractionRow.document_id)
        .join(ExtractionRow, FieldRow.extraction_id == ExtractionRow.id)
        .where(FieldRow.id.in_(field_ids))
    )
    document_of = dict(session.execute(query).all())
    if not field_ids:
        raise ValueError("a decision is about at least one field")
    missing = [i for i in field_ids if i not in document_of]
    if missing:
        raise KeyError(missing[0])
    if len(set(document_of.values())) > 1:
        raise ValueError("one decision is about fields of one document")
    document_id = document_of[field_ids[0]]
    _lock_document(session, document_id)
    newest = session.scalar(
        select(func.max(ExtractionRow.id)).where(ExtractionRow.document_id == document_id)
    )
    rows = [session.get(FieldRow, i, options=[selectinload(FieldRow.reviews)]) for i in field_ids]
    stale = next((row.id for row in rows if row.extraction_id != newest), None)
    if stale is not None:
        raise StaleField(stale)
    return rows


def _lock_document(session: Session, document_id: int) -> None:
    """Hold off the other writers of a document's reviews and extractions until the transaction ends, so
    what it reads next is what its write follows: PostgreSQL locks the document's row; SQLite, without row
    locks, takes the database's write lock now (BEGIN IMMEDIATE; nothing may have been written before)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))
    else:
        session.execute(select(DocumentRow.id).where(DocumentRow.id == document_id).with_for_update())


def _carry_reviews(session: Session, extraction: ExtractionRow) -> None:
    """The newest decision about each field of the document, carried over to its new ``extraction``: kept
    when the new extraction reads what the person saw or the value they set, else the field waits for
    review again with a ``review_conflict`` flag naming both."""
    earlier = (
        select(ReviewRow, FieldRow.key)
        .join(FieldRow, ReviewRow.field_id == FieldRow.id)
        .join(ExtractionRow, FieldRow.extraction_id == ExtractionRow.id)
        .where(
            ExtractionRow.document_id == extraction.document_id,
            ExtractionRow.id != extraction.id,
            standing(ReviewRow),
        )
        .order_by(ReviewRow.id)
    )
    newest = {key: review.carried_from or review.id for review, key in session.execute(earlier)}
    if not newest:
        return
    own = select(ReviewRow).options(selectinload(ReviewRow.field)).where(ReviewRow.id.in_(newest.values()))
    decisions = {review.id: review for review in session.scalars(own)}
    for row in extraction.fields:
        if row.key not in newest:
            continue
        decision = decisions[newest[row.key]]
        seen = decision.field.value  # what the extraction the person reviewed read
        if row.value in (seen, decision.new_value):
            session.add(
                ReviewRow(
                    field=row,
                    action=decision.action,
                    old_value=row.value,
                    new_value=decision.new_value,
                    reviewer=decision.reviewer,
                    created_at=decision.created_at,
                    carried_from=decision.id,
                )
            )
        else:
            detail = (
                f"reviewed as {_shown(decision.new_value)} by {decision.reviewer} when read as "
                f"{_shown(seen)}; this extraction reads {_shown(row.value)}"
            )
            session.add(
                CheckFlagRow(field=row, other_field_id=decision.field_id, kind=REVIEW_CONFLICT, detail=detail)
            )


def _shown(value: Value) -> str:
    return "not stated" if value is None else str(value)


def _label(review: ReviewRow | MetaReviewRow, field: str, path: str, sha256: str) -> dict:
    return {
        "document": path,
        "sha256": sha256,
        "field": field,
        "value": review.new_value,
        "action": review.action,
        "reviewer": review.reviewer,
        "time": review.created_at.isoformat(),
        "_at": review.created_at,
    }


def _meta_value(key: str, value: MetaValue) -> MetaValue:
    """A corrected agency (a non-blank name, kept as written but trimmed) or year (an integer in range)."""
    if key == "agency":
        if not isinstance(value, str) or not value.strip():
            raise ValueError("an agency is a non-blank name")
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int) or not FIRST_YEAR <= value <= LAST_YEAR:
        raise ValueError(f"a year is an integer from {FIRST_YEAR} to {LAST_YEAR}")
    return value


def flag_fields(flag: dict) -> list[str]:
    """The fields a record flag is about: its own field, or every field of a broken identity."""
    return [flag["field"]] if "field" in flag else list(flag.get("fields", []))


def _field_row(
    key: str, value: Value, confidence: float, flags: list[dict], evidence: dict[str, CellEvidence]
) -> FieldRow:
    cell = evidence.get(key)
    box = cell.box if cell else None
    return FieldRow(
        key=key,
        value=value,
        confidence=confidence,
        flags=flags,
        source_text=cell.raw if cell else None,
        label=cell.label if cell else None,
        location=cell.where if cell else None,
        page=box.page if box else None,
        x0=box.x0 if box else None,
        top=box.top if box else None,
        x1=box.x1 if box else None,
        bottom=box.bottom if box else None,
    )
