"""``Store``: the one way into the database for batch runs, the review page, checks and exports.

Why every write goes through it: a document is one row per content hash and an extraction one row per
(document, pipeline version, model version), written in one transaction each (or several documents' in
one, all or none) and retried once when a second writer inserted the same key meanwhile; reviews are
appended under the document's lock (``reviews.py``). Callers never hold a session across those rules.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from nianbao.errors import CodedError
from nianbao.schema import load_schema
from nianbao.store.database import DEFAULT_URL, open_engine
from nianbao.store.extractions import Extracted, save_extractions
from nianbao.store.reviews import (
    UndoRefused,
    checked_meta_value,
    lock_document,
    locked_fields,
    review_label,
)
from nianbao.store.tables import (
    ACTIONS,
    FILE_STATES,
    META_KEYS,
    UNDO,
    DocumentRow,
    ExtractionRow,
    FieldRow,
    FileRow,
    MetaReviewRow,
    MetaValue,
    ReviewRow,
    Value,
    newest_extraction_ids,
    newest_extraction_of,
    standing,
)
from nianbao.stored_fields import stored_fields

if TYPE_CHECKING:
    from nianbao.extraction.record import FieldEvidence

T = TypeVar("T")


@dataclass
class Store:
    """The database behind batch runs, the review page and exports."""

    engine: Engine
    sessions: sessionmaker[Session]
    texts: dict[str, int] = field(default_factory=dict)  # TextRow ids of keys, labels, blocks committed

    @classmethod
    def open(cls, url: str = DEFAULT_URL, create: bool = True) -> Store:
        """The store at ``url``, its schema upgraded; ``create=False`` makes no new SQLite file. A URL,
        folder or server that cannot work is a ``UserError`` (``database.open_engine``)."""
        engine = open_engine(url, create)
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
        return self.add_documents([(digest, path, size, form)])[0]

    def add_documents(self, files: Sequence[tuple[str, str, int, str | None]]) -> list[int]:
        """``add_document`` for (digest, path, size, form) of several files, in one transaction."""
        digests = list({digest for digest, *_ in files})

        def work(session: Session) -> list[int]:
            query = select(DocumentRow).where(DocumentRow.sha256.in_(digests))
            known = {row.sha256: row for row in session.scalars(query)}
            for digest, path, size, form in files:
                row = known.get(digest)
                if row is None:
                    row = known[digest] = DocumentRow(sha256=digest, size=size, form=form)
                    session.add(row)
                row.path = os.path.abspath(path)
            session.flush()
            return [known[digest].id for digest, *_ in files]

        return self._insert_or_get(work)

    def save_extraction(
        self,
        document_id: int,
        record: dict,
        evidence: dict[str, FieldEvidence],
        pipeline_version: str,
        model_version: str,
        state: str | None = None,
    ) -> int:
        """A record and its fields, in one transaction, the document's reviews carried over to them. Saving
        the same key again returns the first id, except that a failed extraction gives way to a new attempt
        (it holds no fields to keep)."""
        item = Extracted(document_id, record, stored_fields(record, evidence), state)
        return self.save_extractions([item], pipeline_version, model_version)[0]

    def save_extractions(
        self, items: Sequence[Extracted], pipeline_version: str, model_version: str
    ) -> list[int]:
        """``save_extraction`` for several documents in one transaction (a group commit): all stored, or
        none. The extraction id of each item."""
        with self.sessions.begin() as session:
            ids, texts = save_extractions(session, items, pipeline_version, model_version, self.texts)
        self.texts.update(texts)  # committed: never deleted, so known for good
        return ids

    def extractions_of(self, document_id: int) -> list[tuple[str, str, str]]:
        """(pipeline version, model version, state) of every extraction of a document, oldest first."""
        return self.extractions_of_documents([document_id])[document_id]

    def extractions_of_documents(self, document_ids: Iterable[int]) -> dict[int, list[tuple[str, str, str]]]:
        """``extractions_of`` each of several documents, in one query."""
        found: dict[int, list[tuple[str, str, str]]] = {document: [] for document in document_ids}
        query = (
            select(
                ExtractionRow.document_id,
                ExtractionRow.pipeline_version,
                ExtractionRow.model_version,
                ExtractionRow.state,
            )
            .where(ExtractionRow.document_id.in_(list(found)))
            .order_by(ExtractionRow.id)
        )
        with self.sessions() as session:
            for document, *rest in session.execute(query):
                found[document].append(tuple(rest))
        return found

    def set_file(
        self,
        path: str,
        state: str,
        document_id: int | None = None,
        error: CodedError | None = None,
        batch_job_id: int | None = None,
    ) -> None:
        """Where a batch stands on one path (kept absolute), and why it failed; the newest state replaces
        the last (progress, not audit)."""
        self.set_files([(path, state, document_id, error)], batch_job_id)

    def set_files(
        self, files: Sequence[tuple[str, str, int | None, CodedError | None]], batch_job_id: int | None = None
    ) -> None:
        """``set_file`` for (path, state, document, error) of several paths, in one transaction."""
        if bad := next((state for _, state, *_ in files if state not in FILE_STATES), None):
            raise ValueError(f"state {bad!r} is not one of {FILE_STATES}")
        files = [(os.path.abspath(path), *rest) for path, *rest in files]

        def work(session: Session) -> None:
            query = select(FileRow).where(FileRow.path.in_({path for path, *_ in files}))
            rows = {row.path: row for row in session.scalars(query)}
            for path, state, document_id, error in files:
                row = rows.get(path)
                if row is None:
                    row = rows[path] = FileRow(path=path)
                    session.add(row)
                row.document_id, row.state, row.batch_job_id = document_id, state, batch_job_id
                row.error, row.error_code = (str(error), error.code) if error else (None, None)
            session.flush()  # a path another batch inserted meanwhile fails here, inside the retry

        self._insert_or_get(work)

    def settle_files(self, document_ids: Iterable[int] | None = None) -> None:
        """Pending files take the state and error of their document's newest extraction, if it has one
        (a duplicate path, a file skipped as already stored, or one whose run was killed mid-way); only the
        files of ``document_ids`` when given, so a running batch's files show its progress."""
        pending = select(FileRow).where(FileRow.state == "pending")
        if document_ids is not None:
            pending = pending.where(FileRow.document_id.in_(list(document_ids)))
        newest = (
            select(
                ExtractionRow.document_id, ExtractionRow.state, ExtractionRow.error, ExtractionRow.error_code
            )
            .where(ExtractionRow.id.in_(newest_extraction_ids()))
            .where(ExtractionRow.document_id.in_(pending.with_only_columns(FileRow.document_id)))
        )
        with self.sessions.begin() as session:
            outcome = {document: rest for document, *rest in session.execute(newest)}
            for row in session.scalars(pending):
                if row.document_id in outcome:
                    row.state, row.error, row.error_code = outcome[row.document_id]

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
            for row in locked_fields(session, field_ids):
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
            for row in locked_fields(session, field_ids):
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
            value = checked_meta_value(key, value)
        with self.sessions.begin() as session:
            if session.scalar(select(DocumentRow.id).where(DocumentRow.id == document_id)) is None:
                raise KeyError(document_id)
            lock_document(session, document_id)
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
                review_label(review, key, path, sha256)
                for review, key, path, sha256 in session.execute(fields)
            ]
            labels += [
                review_label(review, f"meta.{review.key}", path, sha256)
                for review, path, sha256 in session.execute(metas)
            ]
        # one trail in time order; field decisions before meta ones made in the same instant
        yield from sorted(labels, key=lambda label: label.pop("_at"))


__all__ = ["Store"]
