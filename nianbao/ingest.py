"""How a file enters the store, for a batch's archive and an upload alike: hash → key → extract once → store.

Why one path: a document is stored once per content, pipeline version and model version (its key), and
what counts as stored already, or as worth another try, must not differ between ``nianbao batch``, a REST
batch job and an upload. The calling process alone writes the database, one transaction per document;
workers only read and extract (``workers.py``). So a run killed at any moment leaves whole documents or
nothing, and the same call again skips what is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from nianbao import __version__
from nianbao.errors import CodedError
from nianbao.extraction.pipeline import Extractor
from nianbao.extraction.readers import cannot_read, regular_size
from nianbao.schema import load_schema
from nianbao.store import Store, file_hash
from nianbao.workers import Engine, Limits, Outcome, extract_file

Key = tuple[str, str]  # (pipeline version, model version)


def model_version(card: dict) -> str:
    """A short fingerprint of the model card: two artifacts made differently never share it."""
    digest = hashlib.sha256(json.dumps(card, sort_keys=True, default=str).encode()).hexdigest()
    return f"{card.get('component', 'field_mapper')}:{digest[:16]}"


def extraction_key(card: dict) -> Key:
    """(pipeline version, model version) under which an extraction by this model is stored."""
    return __version__, model_version(card)


def model_key(model: str | None) -> Key:
    """The key extractions by ``model`` (the shipped one when None) are stored under; loads the model."""
    return extraction_key(Extractor.load(model).model_card)


def extraction_state(record: dict, schema_sections: Callable[[str], str]) -> str:
    """done, failed (an error), or partial: a whole section came out empty (a table missing or cut off)."""
    if record["error"]:
        return "failed"
    by_section: dict[str, list] = {}
    for key, value in record["fields"].items():
        by_section.setdefault(schema_sections(key), []).append(value)
    if any(all(v is None for v in values) for values in by_section.values()):
        return "partial"
    return "done"


def fingerprint(path: Path) -> tuple[str, int]:
    """(SHA-256, size) of a regular file. Anything else is refused (E_NOT_FILE) before it is opened: hashing
    a FIFO would wait for a writer for ever, before any per-file timer runs."""
    size = regular_size(path)
    try:
        return file_hash(path), size
    except OSError as exc:
        raise cannot_read(exc) from exc


@dataclass(frozen=True)
class Redo:
    """Which documents stored already are extracted again; by default none (each key once, failures too)."""

    reextract: bool = False  # documents only an older pipeline or model extracted
    retry_failed: bool = False  # documents whose extraction under this key failed

    def wanted(self, earlier: list[tuple[str, str, str]], key: Key) -> bool:
        """Whether a document with these stored (pipeline, model, state) extractions is extracted now."""
        stored = [(pv, mv) for pv, mv, state in earlier if state != "failed"]
        failed_now = any((pv, mv) == key and state == "failed" for pv, mv, state in earlier)
        kept = key in stored or (stored and not self.reextract)
        return not (kept or (failed_now and not self.retry_failed))


class Watch:
    """What a caller of ``ingest`` hears of each path, in order; every method does nothing unless a
    subclass says otherwise."""

    def refused(self, path: str, error: CodedError) -> None:
        """``path`` could not be hashed (not a file, vanished, unreadable): it has no document."""

    def added(self, path: str, document: int) -> None:
        """``path`` holds ``document``'s content, new to the store or known."""

    def skipped(self, path: str, duplicate: bool) -> None:
        """Not extracted: an earlier path of this call holds the same content (``duplicate``), or the
        document is stored already."""

    def planned(self, count: int) -> None:
        """Every path is hashed: ``count`` documents are to be extracted."""

    def stored(self, document: int, outcome: Outcome, state: str) -> None:
        """One document's extraction is stored (state: done, partial or failed)."""


def ingest(
    store: Store,
    paths: Iterable[Path],
    key: Key,
    limits: Limits,
    engine: Callable[[], Engine],
    redo: Redo = Redo(),
    watch: Watch | None = None,
) -> list[int | None]:
    """Hash every path and add its document; extract each document not stored under ``key`` (``redo``
    says which stored ones again) once, on an engine made for them, under ``limits``, and store each
    extraction in its own transaction. The document of each path in order (None: refused)."""
    watch = watch or Watch()
    documents: list[int | None] = []
    seen: set[int] = set()
    todo: dict[str, int] = {}  # path → document, in the order they are extracted
    for path in paths:
        name = str(path)
        try:
            digest, size = fingerprint(path)
        except CodedError as exc:  # not a file, vanished or unreadable before it could be hashed: no document
            documents.append(None)
            watch.refused(name, exc)
            continue
        document = store.add_document(digest, name, size, path.suffix.lower().lstrip(".") or None)
        documents.append(document)
        watch.added(name, document)
        if document in seen or not redo.wanted(store.extractions_of(document), key):
            watch.skipped(name, duplicate=document in seen)
        else:
            todo[name] = document
        seen.add(document)
    watch.planned(len(todo))
    if not todo:
        return documents
    section_of = load_schema().section_of
    runner = engine()
    try:
        for outcome in runner.run((limits.job(name) for name in todo), extract_file):
            state = extraction_state(outcome.record, section_of)
            document = todo[outcome.path]
            store.save_extraction(document, outcome.record, outcome.evidence, *key, state)
            watch.stored(document, outcome, state)
    finally:
        runner.close()
    return documents
