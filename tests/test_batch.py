"""Batch runs: every file ends with its own state, reruns skip what is stored, nothing is extracted twice."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import probes
import pytest
from bad_inputs import BAD_INPUTS, blank_pdf
from sqlalchemy import func, select

from nianbao.batch import Summary, run_batch
from nianbao.extraction.pipeline import empty_record
from nianbao.runs import BatchSettings, archive_files
from nianbao.schema import load_schema
from nianbao.store import ExtractionRow, Store
from nianbao.stored_fields import extraction_state
from nianbao.workers import DaskEngine, LocalEngine, Outcome, extract_file

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
GOOD = ["syn_md_705851321.md", "syn_txt_1298476811.txt", "syn_pdf_370615787.pdf"]


def _encrypted_pdf() -> bytes:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=StandardEncryption("secret", canPrint=0))
    c.drawString(100, 700, "secret report")
    c.save()
    return buf.getvalue()


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """Good reports, a duplicate under another name, a GBK copy, and every kind of bad file."""
    root = tmp_path / "archive"
    (root / "bad").mkdir(parents=True)
    for name in GOOD:
        shutil.copy(SAMPLES / name, root / name)
    shutil.copy(SAMPLES / GOOD[0], root / "bad" / "same-as-md.md")
    gbk = (SAMPLES / GOOD[1]).read_text("utf-8").encode("gb18030")
    (root / "gbk-report.txt").write_bytes(gbk)
    for name, content, _ in BAD_INPUTS:
        (root / "bad" / name).write_bytes(content)
    (root / "bad" / "locked.pdf").write_bytes(_encrypted_pdf())
    (root / "bad" / "archive-dump.pdf").write_bytes(blank_pdf(301))
    (root / "bad" / "gone.md").symlink_to(root / "nowhere.md")  # listed, then not there to read
    return root


EXPECTED_ERRORS = {
    **{f"bad/{name}": code for name, _, code in BAD_INPUTS},
    "bad/locked.pdf": "E_ENCRYPTED",
    "bad/archive-dump.pdf": "E_TOO_LARGE",
    "bad/gone.md": "E_IO",
}


def _states(store: Store, root: Path) -> dict[str, tuple[str, str | None]]:
    return {str(Path(p).relative_to(root)): s for p, s in store.file_states().items()}


def _extractions(store: Store) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(ExtractionRow))


def test_every_file_ends_with_its_own_state_and_a_rerun_does_nothing(archive: Path, tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'batch.db'}")
    files = list(archive_files([archive]))
    first = run_batch(files, store, BatchSettings(workers=2))
    states = _states(store, archive)
    assert set(states) == {str(p.relative_to(archive)) for p in files}
    for name, code in EXPECTED_ERRORS.items():
        assert states[name] == ("failed", code), name
    for name in [*GOOD, "gbk-report.txt", "bad/same-as-md.md"]:
        assert states[name][0] in ("done", "partial"), (name, states[name])
    assert first.duplicates == 1 and first.counts["failed"] == len(EXPECTED_ERRORS)
    assert first.extracted == len(files) - 1
    assert set(first.errors) == {str(archive / n) for n in EXPECTED_ERRORS}
    assert first.peak_worker_rss_mb > 0
    stored = _extractions(store)
    assert stored == len(files) - 2  # the duplicate and the unreadable file have no extraction of their own

    again = run_batch(files, store, BatchSettings(workers=1))
    assert again.skipped == len(files) - 2 and _extractions(store) == stored
    assert again.counts == {"done": 0, "partial": 0, "failed": 1}  # only the unreadable path, looked at again

    retried = run_batch(files, store, BatchSettings(workers=1, retry_failed=True))
    assert retried.counts["failed"] == len(EXPECTED_ERRORS) and retried.counts["done"] == 0
    assert _extractions(store) == stored  # a failed attempt is replaced, not piled up
    assert _states(store, archive) == states
    store.close()


def test_a_file_over_its_time_limit_fails_alone(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'batch.db'}")
    slow = SAMPLES / GOOD[2]  # a PDF takes far more than a millisecond
    summary = run_batch([slow], store, BatchSettings(workers=1, timeout_s=0.001))
    assert summary.errors[str(slow)].startswith("E_TIMEOUT")
    assert run_batch([slow], store, BatchSettings(workers=1, retry_failed=True)).counts["failed"] == 0
    store.close()


def test_a_timer_whose_exception_was_lost_still_times_the_file_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python drops an exception a signal handler raises inside a finaliser; the limit holds anyway."""
    import nianbao.workers

    monkeypatch.setattr(nianbao.workers, "_on_timer", lambda _signum, _frame: None)  # the raise is lost
    slow = str(SAMPLES / GOOD[2])  # a PDF takes far more than a millisecond
    assert (
        extract_file(slow, None, timeout_s=0.001, memory_limit_gib=0).record["error"].startswith("E_TIMEOUT")
    )
    assert extract_file(slow, None, timeout_s=600, memory_limit_gib=0).record["error"] is None


def test_a_section_that_came_out_empty_makes_the_extraction_partial() -> None:
    section_of = load_schema().section_of
    record = {"error": None, "fields": {"s2.rules.new": 1, "s3.new.total": None, "s3.new.commercial": None}}
    assert extraction_state(record, section_of) == "partial"
    record["fields"]["s3.new.total"] = 0
    assert extraction_state(record, section_of) == "done"
    assert extraction_state({**record, "error": "E_CORRUPT: x"}, section_of) == "failed"


def test_settings_refuse_what_they_do_not_know() -> None:
    with pytest.raises(TypeError):
        BatchSettings(wrokers=2)
    with pytest.raises(ValueError):
        BatchSettings(engine="spark")
    assert Summary().extracted == 0


def _text_archive(root: Path) -> list[Path]:
    root.mkdir()
    files = [p for p in sorted(SAMPLES.iterdir()) if p.suffix in (".md", ".html", ".txt", ".docx")]
    for path in files:
        shutil.copy(path, root / path.name)
    return [root / p.name for p in files]


def _batch_command(root: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "nianbao.cli", "batch", str(root), "--db", url, "--workers", "1"]


def test_kill_9_mid_run_then_rerun_extracts_every_file_exactly_once(tmp_path: Path) -> None:
    files = _text_archive(tmp_path / "archive")
    url = f"sqlite:///{tmp_path / 'batch.db'}"
    Store.open(url).close()  # the schema exists before we watch it fill
    run = subprocess.Popen(
        _batch_command(tmp_path / "archive", url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes the workers too
    )
    store = Store.open(url)
    deadline = time.monotonic() + 240
    while _extractions(store) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run.poll() is None, "the batch ended before it could be killed"
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    killed_at = _extractions(store)
    assert 2 <= killed_at < len(files)

    subprocess.run(_batch_command(tmp_path / "archive", url), check=True, capture_output=True, timeout=600)
    with store.sessions() as session:
        extractions = session.scalars(select(ExtractionRow)).all()
        by_document = Counter(e.document_id for e in extractions)
        schema = load_schema()
        whole = all(len(e.fields) == len(schema.field_keys(e.format)) > 0 for e in extractions)
    assert len(extractions) == len(files) and set(by_document.values()) == {1}
    assert whole  # no record without its fields, none with half of them
    assert {state for state, _ in store.file_states().values()} <= {"done", "partial"}
    store.close()


def test_the_dask_engine_gives_the_local_engine_s_records(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    files = [SAMPLES / GOOD[0], SAMPLES / GOOD[1]]
    records = {}
    for engine in ("local", "dask"):
        store = Store.open(f"sqlite:///{tmp_path / engine}.db")
        summary = run_batch(files, store, BatchSettings(workers=1, engine=engine))
        assert summary.counts["failed"] == 0
        with store.sessions() as session:
            records[engine] = {
                e.document.path: e.full_record() for e in session.scalars(select(ExtractionRow))
            }
        store.close()
    assert records["dask"] == records["local"] and len(records["local"]) == 2


def _profiles(dask_worker) -> bool:
    return "profile" in dask_worker.periodic_callbacks


def test_the_dask_engine_s_own_workers_run_without_the_profiler() -> None:
    pytest.importorskip("dask.distributed")
    engine = DaskEngine(1, None)
    try:
        profiling = engine.client.run(_profiles)
    finally:
        engine.close()
    assert list(profiling.values()) == [False]


def _running(pid: int) -> bool:
    """Whether a process runs (an exited one nobody reaped yet is a zombie, not running)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_end_when_their_batch_is_killed() -> None:
    """Only the batch's own process is killed, as an out-of-memory kill or a crashed server would."""
    started = "from nianbao.workers import LocalEngine; import os, sys; e = LocalEngine(1)"
    report = "print(next(e.run([()], os.getpid)), flush=True); sys.stdin.read()"
    batch = subprocess.Popen(
        [sys.executable, "-c", f"{started}; {report}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        worker = int(batch.stdout.readline())
        assert _running(worker)
    finally:
        batch.kill()
        batch.wait()
    deadline = time.monotonic() + 15
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(worker), "the worker outlived its batch"


def test_a_local_worker_is_forked_from_a_server_that_imported_the_pipeline_once() -> None:
    """Not spawned to import it again: a batch's workers, an upload's fresh worker and the one that
    replaces a dead worker start with the pipeline imported (the model is theirs to load)."""
    engine = LocalEngine(1)
    try:
        assert list(engine.run([("nianbao.extraction.pipeline",)], probes.loaded)) == [True]
        assert list(engine.run([("sqlalchemy",)], probes.loaded)) == [False]  # a worker never writes
        assert list(engine.run([()], os.getppid)) != [os.getpid()]  # the fork server's child, not ours
    finally:
        engine.close()


def _fails_on_b(path: str, model: str | None, timeout_s: float) -> Outcome:
    if path == "b.md":
        raise MemoryError("what a worker killed over its memory limit comes back as")
    return Outcome(path, empty_record(path), [], "failed", 0.0, 0.0)


def test_a_dask_task_that_fails_fails_its_file_only() -> None:
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    )
    engine = DaskEngine(1, cluster.scheduler_address)
    try:
        assert engine.window() == 4  # two per thread of the cluster, whatever the workers asked for
        outcomes = {
            o.path: o for o in engine.run([(n, None, 1.0) for n in ("a.md", "b.md", "c.md")], _fails_on_b)
        }
    finally:
        engine.close()
        cluster.close()
    assert (
        outcomes["b.md"]
        .record["error"]
        .startswith("E_CRASH: the worker failed while extracting (MemoryError)")
    )
    assert outcomes["a.md"].record["error"] is None and outcomes["c.md"].record["error"] is None


START_ORDER = """
import sys
import nianbao.fork_server
real = nianbao.fork_server.fork_server
said = []
def fork_server():
    said.append("sqlalchemy" in sys.modules)
    return real()
nianbao.fork_server.fork_server = fork_server
from nianbao.cli import main
sys.argv = ["nianbao", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(said[0], "sklearn" in sys.modules, "nianbao.extraction.pipeline" in sys.modules)
"""


def test_a_batch_starts_its_workers_imports_first_and_never_imports_the_pipeline(tmp_path: Path) -> None:
    """The fork server (the workers' imports, a batch's start) is started before the batch's process
    imports SQLAlchemy, and that process imports neither the pipeline nor scikit-learn: the workers hold
    them."""
    shutil.copy(SAMPLES / GOOD[0], tmp_path / GOOD[0])
    argv = ["batch", str(tmp_path / GOOD[0]), "--db", f"sqlite:///{tmp_path / 'b.db'}", "--workers", "1"]
    ran = subprocess.run(
        [sys.executable, "-c", START_ORDER, *argv], capture_output=True, text=True, timeout=120, check=True
    )
    assert ran.stdout.split()[-3:] == ["False", "False", "False"], ran.stdout + ran.stderr
