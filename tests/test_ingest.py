"""``ingest``: files hashed by the workers, the parent only planning and writing; what finished together
stored in group commits; a rerun hashes but extracts nothing."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from nianbao.ingest import GROUP_MAX, ingest, model_key
from nianbao.keys import Key
from nianbao.store import Store
from nianbao.workers import Limits, extraction_lost, fingerprint, warm

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
LIMITS = Limits(None, timeout_s=120, memory_limit_gib=0)  # in this process: no address-space limit


class InlineEngine:
    """Every job run here, in order, and all of them given as finished together; remembers what ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def run_ready(self, jobs: Iterable[tuple], work: Callable, lost=extraction_lost) -> Iterator[list]:
        self.ran.append(work.__name__)
        yield [work(*job) for job in jobs]

    def run(self, jobs: Iterable[tuple], work: Callable, lost=extraction_lost) -> Iterator:
        for ready in self.run_ready(jobs, work, lost):
            yield from ready

    def warm(self, limits: Limits) -> Key:
        self.ran.append("warm")
        return warm(limits.model, limits.memory_limit_gib)

    def close(self) -> None:
        pass


def test_the_workers_hash_duplicates_are_extracted_once_and_a_rerun_extracts_nothing(
    tmp_path: Path, monkeypatch
) -> None:
    reports = sorted(SAMPLES.glob("*.md")) + sorted(SAMPLES.glob("*.html"))
    count = GROUP_MAX + 3  # more documents than one group holds, each its own content (trailing newlines)
    paths = []
    for i in range(count):
        report = reports[i % len(reports)]
        paths.append(tmp_path / f"{i}{report.suffix}")
        paths[-1].write_bytes(report.read_bytes() + b"\n" * (i + 1))
    paths.append(Path(shutil.copy(paths[0], tmp_path / "copy.md")))  # the same content under a second path
    paths.append(tmp_path / "gone.md")
    store = Store.open(f"sqlite:///{tmp_path / 'ingest.db'}")
    groups: list[int] = []
    save = store.save_extractions
    monkeypatch.setattr(
        store, "save_extractions", lambda items, *key: groups.append(len(items)) or save(items, *key)
    )
    engine = InlineEngine()
    documents = ingest(store, paths, ("p", "m"), LIMITS, lambda: engine)
    assert engine.ran == ["hash_files", "extract_file"]  # the key given: the first file loads the model
    assert documents[-1] is None and documents[-2] == documents[0]
    assert len(set(documents[:-1])) == count
    assert groups == [GROUP_MAX, 3]  # all finished together: stored GROUP_MAX a commit
    again = InlineEngine()
    assert ingest(store, paths, ("p", "m"), LIMITS, lambda: again) == documents
    assert again.ran == ["hash_files"]  # hashed, found stored, not extracted
    store.close()


def test_a_path_hashed_already_starts_no_worker_when_it_is_stored(tmp_path: Path) -> None:
    report = Path(shutil.copy(sorted(SAMPLES.glob("*.md"))[0], tmp_path / "report.md"))
    store = Store.open(f"sqlite:///{tmp_path / 'ingest.db'}")
    (document,) = ingest(store, [report], ("p", "m"), LIMITS, InlineEngine)
    started: list[InlineEngine] = []

    def engine() -> InlineEngine:
        started.append(InlineEngine())
        return started[-1]

    known = {str(report): fingerprint(report)}
    assert ingest(store, [report], ("p", "m"), LIMITS, engine, known=known) == [document]
    assert started == []
    store.close()


def test_without_a_key_the_workers_say_it_once_they_hold_the_model(tmp_path: Path) -> None:
    report = Path(shutil.copy(sorted(SAMPLES.glob("*.md"))[0], tmp_path / "report.md"))
    store = Store.open(f"sqlite:///{tmp_path / 'ingest.db'}")
    engine = InlineEngine()
    (document,) = ingest(store, [report], None, LIMITS, lambda: engine)
    assert engine.ran == ["warm", "hash_files", "extract_file"]  # the model loaded before anything else
    assert store.extractions_of(document) == [(*model_key(None), "done")]
    again = InlineEngine()
    assert ingest(store, [report], None, LIMITS, lambda: again) == [document]
    assert again.ran == ["warm", "hash_files"]  # the same key: found stored, not extracted
    store.close()
