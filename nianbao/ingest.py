"""How a file enters the store, for a batch's archive and an upload alike: hash → key → extract once → store.

Why one path: a document is stored once per content, pipeline version and model version (its key), and
what counts as stored already, or as worth another try, must not differ between ``nianbao batch``, a REST
batch job and an upload. The calling process alone writes the database; workers only read, hash and
extract (``workers.py``). So a run killed at any moment leaves whole transactions or nothing, and the same
call again skips what is stored.

Why two passes over the files, both in the workers: the parent must know each file's content hash before
anything is extracted, or a rerun could not skip a stored document without extracting it, nor two paths
of the same content be extracted once. So the workers first hash the paths (a chunk of HASH_CHUNK paths a
job, in parallel), and the parent, per chunk in path order, adds the documents, looks up their earlier
extractions and plans, in one transaction each; then the workers extract what was planned, each file read
again (from the page cache, mostly). Why group commits: a document's extraction is stored whole or not at
all, but several documents finished together share one transaction (at most GROUP_MAX), all or none, so a
parent that fell behind its workers catches up in fewer commits; it never waits to fill a group, so a
document is stored as soon as the parent is free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nianbao.errors import CodedError
from nianbao.keys import Key, extraction_key
from nianbao.store import Extracted, Store
from nianbao.workers import Engine, Hashed, Limits, Outcome, extract_file, hash_files, hashing_lost

HASH_CHUNK = 64  # paths a hashing job reads, and a planning transaction adds
GROUP_MAX = 16  # documents' extractions at most in one commit


def model_key(model: str | None) -> Key:
    """The key extractions by ``model`` (the shipped one when None) are stored under, from the card of the
    model loaded in this process (a batch's workers say it instead: ``Engine.warm``)."""
    from nianbao.models import load_field_mapper

    return extraction_key(load_field_mapper(model)[1])


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

    def stored(self, document: int, outcome: Outcome) -> None:
        """One document's extraction is stored (its state, ``outcome.state``: done, partial or failed)."""

    def flush(self) -> None:
        """A chunk of paths is planned, or a group of extractions stored: a subclass writes what it heard
        of them here, in one transaction rather than one a path."""


def _batched(items: Sequence, size: int) -> Iterator[Sequence]:
    return (items[start : start + size] for start in range(0, len(items), size))


def _hashed(
    runner: Callable[[], Engine], names: list[str], known: Mapping[str, Hashed]
) -> Iterator[list[tuple[str, Hashed]]]:
    """(path, hash or refusal) of every path, a chunk at a time in the order given: ``known`` when it
    holds every path (an upload, hashed as it arrived), else hashed by the workers."""
    chunks = [tuple(chunk) for chunk in _batched(names, HASH_CHUNK)]
    if all(name in known for name in names):
        yield from ([(name, known[name]) for name in chunk] for chunk in chunks)
        return
    finished: dict[int, list[Hashed]] = {}  # chunks hashed before those ahead of them
    following = 0
    for index, hashed in runner().run(enumerate(chunks), hash_files, hashing_lost):
        finished[index] = hashed
        while following in finished:
            yield list(zip(chunks[following], finished.pop(following), strict=True))
            following += 1


def _form(name: str) -> str | None:
    return Path(name).suffix.lower().lstrip(".") or None


def ingest(
    store: Store,
    paths: Iterable[Path],
    key: Key | None,
    limits: Limits,
    engine: Callable[[], Engine],
    redo: Redo = Redo(),
    watch: Watch | None = None,
    known: Mapping[str, Hashed] | None = None,
) -> list[int | None]:
    """Hash every path (``known``: (SHA-256, size) of paths hashed already) and add its document; extract
    each document not stored under ``key`` (``redo`` says which stored ones again) once, on an engine made
    when first needed, under ``limits``, and store the extractions, each whole (module docstring). ``key``
    None: the key of the model the workers load, which they say once they have loaded it (before any
    hashing). The document of each path in order (None: refused)."""
    watch = watch or Watch()
    names = [str(path) for path in paths]
    documents: list[int | None] = []
    seen: set[int] = set()
    todo: dict[str, int] = {}  # path → document, in the order they are extracted
    made: list[Engine] = []

    def runner() -> Engine:
        if not made:
            made.append(engine())
        return made[0]

    try:
        if key is None:
            key = runner().warm(limits)
        for chunk in _hashed(runner, names, known or {}):
            hashed = [(h[0], name, h[1], _form(name)) for name, h in chunk if not isinstance(h, CodedError)]
            added = store.add_documents(hashed) if hashed else []
            document_of = dict(zip((name for _, name, _, _ in hashed), added, strict=True))
            earlier = store.extractions_of_documents(added)
            for name, h in chunk:
                if isinstance(h, CodedError):  # not a file, vanished or unreadable: no document
                    documents.append(None)
                    watch.refused(name, h)
                    continue
                document = document_of[name]
                documents.append(document)
                watch.added(name, document)
                if document in seen or not redo.wanted(earlier[document], key):
                    watch.skipped(name, duplicate=document in seen)
                else:
                    todo[name] = document
                seen.add(document)
            watch.flush()
        watch.planned(len(todo))
        if todo:
            _extract(store, runner(), todo, key, limits, watch)
    finally:
        for made_engine in made:
            made_engine.close()
    return documents


def _extract(
    store: Store, runner: Engine, todo: dict[str, int], key: Key, limits: Limits, watch: Watch
) -> None:
    """Extract the planned documents on ``runner`` and store what finished together in group commits."""
    for ready in runner.run_ready((limits.job(name) for name in todo), extract_file):
        for group in _batched(ready, GROUP_MAX):
            store.save_extractions(
                [Extracted(todo[o.path], o.record, o.fields, o.state) for o in group],
                *key,
            )
            for outcome in group:
                watch.stored(todo[outcome.path], outcome)
            watch.flush()
