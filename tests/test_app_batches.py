"""Batch jobs of the REST service: a job runs to the end with its files' counts and records in the store,
submissions need the token and stay inside the archive root, and a job a stopped server left unfinished
is failed at the next start."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nianbao.app import AppSettings, create_app
from nianbao.evaluation.synth.corpus import gold_path, write_corpus
from nianbao.store import BatchJobRow, DocumentRow, ExtractionRow, Store
from nianbao.workers import fingerprint

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

TOKEN = "batch-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REPORTS = 4
LOCAL = "http://localhost"  # a host the app allows


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """An archive root holding synthesized Markdown reports (with their gold labels and MANIFEST.json)
    and a link to a file outside the root; beside it, outside, a secret."""
    root = tmp_path / "archive"
    write_corpus(root / "reports", REPORTS, ["md"], seed=8086)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.md").write_text("# 不应读取\n", encoding="utf-8")
    (root / "reports" / "leak.md").symlink_to(tmp_path / "outside" / "secret.md")
    return root


def _client(store: Store, root: Path | None, tmp_path: Path, token: str | None = TOKEN) -> TestClient:
    settings = AppSettings(archive_root=root, upload_dir=tmp_path / "uploads", max_batch_workers=2)
    return TestClient(create_app(store, token, settings), base_url=LOCAL)


def _wait(client: TestClient, job: int, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while (status := client.get(f"/batches/{job}").json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    return status


def _jobs(store: Store) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(BatchJobRow))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    yield opened
    opened.close()


def test_a_job_extracts_its_files_into_the_store_and_keeps_its_counts(
    store: Store, archive: Path, tmp_path: Path
) -> None:
    reports = sorted((archive / "reports").glob("syn_*.md"))
    with _client(store, archive, tmp_path) as client:
        submitted = client.post("/batches", json={"paths": ["reports"], "workers": 1}, headers=AUTH)
        assert submitted.status_code == 202, submitted.text
        assert submitted.json()["state"] in ("queued", "running")
        job = submitted.json()["id"]
        done = _wait(client, job)
        assert done["state"] == "done" and done["error"] is None, done
        counts = done["counts"]
        assert counts["done"] + counts["partial"] == REPORTS
        assert (counts["failed"], counts["pending"]) == (2, 0)  # MANIFEST.json, and the link out
        assert done["summary"].startswith(f"{REPORTS + 1} files: ")  # the link is never walked into
        assert done["paths"] == ["reports"] and done["options"] == {
            "workers": 1,
            "reextract": False,
            "retry_failed": False,
        }
        assert done["started_at"] <= done["finished_at"]

        states = store.file_states()
        assert states[str(archive / "reports" / "MANIFEST.json")] == ("failed", "E_NOT_REPORT")
        assert states[str(archive / "reports" / "leak.md")] == ("failed", "E_OUTSIDE_ARCHIVE")
        with store.sessions() as session:
            agencies = {
                e.document.sha256: e.record["meta"]["agency"] for e in session.scalars(select(ExtractionRow))
            }
            secret = fingerprint(tmp_path / "outside" / "secret.md")[0]
            assert session.scalar(select(DocumentRow).where(DocumentRow.sha256 == secret)) is None
        for report in reports:
            gold = json.loads(gold_path(report).read_text("utf-8"))
            assert agencies[fingerprint(report)[0]] == gold["meta"]["agency"], report.name

        again = client.post("/batches", json={"paths": [str(archive / "reports")]}, headers=AUTH).json()
        rerun = _wait(client, again["id"])
        assert rerun["state"] == "done" and f"{REPORTS + 1} already stored" in rerun["summary"]  # and failed
        assert rerun["counts"] == counts
        assert client.get(f"/batches/{job}").json()["counts"] == counts  # as the first job left them
        listed = client.get("/batches").json()
        assert [j["id"] for j in listed] == [again["id"], job]
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ExtractionRow)) == REPORTS + 1


def test_submitting_a_batch_needs_the_token_and_an_archive_root(
    store: Store, archive: Path, tmp_path: Path
) -> None:
    body = {"paths": ["reports"]}
    client = _client(store, archive, tmp_path)
    assert client.post("/batches", json=body).status_code == 401
    assert client.post("/batches", json=body, headers={"X-Nianbao-Token": "nope"}).status_code == 403
    read_only = _client(store, archive, tmp_path, token=None)
    assert read_only.post("/batches", json=body, headers=AUTH).status_code == 403
    no_root = _client(store, None, tmp_path).post("/batches", json=body, headers=AUTH)
    assert no_root.status_code == 403 and no_root.json()["detail"].startswith("E_NO_ARCHIVE_ROOT:")
    assert _jobs(store) == 0 and client.get("/batches").json() == []


def test_paths_outside_the_archive_root_are_refused(store: Store, archive: Path, tmp_path: Path) -> None:
    (archive / "out").symlink_to(tmp_path / "outside")
    client = _client(store, archive, tmp_path)
    refused = {
        "../outside/secret.md": (403, "E_OUTSIDE_ARCHIVE"),
        str(tmp_path / "outside"): (403, "E_OUTSIDE_ARCHIVE"),
        "out": (403, "E_OUTSIDE_ARCHIVE"),  # a link inside the root to a directory outside it
        "out/secret.md": (403, "E_OUTSIDE_ARCHIVE"),
        "reports/../../outside": (403, "E_OUTSIDE_ARCHIVE"),
        "../no-such-file": (403, "E_OUTSIDE_ARCHIVE"),  # whether it exists is not told
        "/": (403, "E_OUTSIDE_ARCHIVE"),
        "reports/\0": (403, "E_OUTSIDE_ARCHIVE"),
        "reports/no-such-file.md": (422, "E_PATH_MISSING"),
    }
    for path, (status, code) in refused.items():
        response = client.post("/batches", json={"paths": ["reports", path]}, headers=AUTH)
        detail = response.json().get("detail", "")
        assert (response.status_code, str(detail).split(":")[0]) == (status, code), path
    too_many = client.post("/batches", json={"paths": ["reports"], "workers": 3}, headers=AUTH)
    assert too_many.status_code == 422 and too_many.json()["detail"].startswith("E_TOO_MANY_WORKERS:")
    for body in (
        {"paths": []},
        {"paths": ["reports"], "engine": "dask"},
        {"paths": ["reports"], "workers": 0},
    ):
        assert client.post("/batches", json=body, headers=AUTH).status_code == 422, body
    assert _jobs(store) == 0


def test_jobs_a_stopped_server_left_unfinished_fail_at_the_next_start(store: Store, tmp_path: Path) -> None:
    options = {"workers": 1, "reextract": False, "retry_failed": False}
    with store.sessions.begin() as session:
        jobs = {
            state: BatchJobRow(state=state, paths=[str(tmp_path / state)], options=options)
            for state in ("running", "queued", "done")
        }
        jobs["done"].summary, jobs["done"].counts = (
            "1 files: …",
            {"pending": 0, "done": 1, "partial": 0, "failed": 0},
        )
        session.add_all(jobs.values())
    ids = {state: row.id for state, row in jobs.items()}
    store.set_file("a.md", "done", None, None, ids["running"])  # what the stopped run got through
    store.set_file("b.md", "pending", None, None, ids["running"])

    app = create_app(store, TOKEN, AppSettings(archive_root=tmp_path))
    assert (
        TestClient(app, base_url=LOCAL).get(f"/batches/{ids['running']}").json()["state"] == "running"
    )  # not started
    with TestClient(app, base_url=LOCAL) as client:  # the server starts
        for state in ("running", "queued"):
            job = client.get(f"/batches/{ids[state]}").json()
            assert job["state"] == "failed" and job["error"].startswith("E_INTERRUPTED:"), job
            assert job["finished_at"] is not None and job["summary"] is None
        interrupted = client.get(f"/batches/{ids['running']}").json()
        assert interrupted["counts"] == {"pending": 1, "done": 1, "partial": 0, "failed": 0}
        kept = client.get(f"/batches/{ids['done']}").json()
        assert (kept["state"], kept["error"], kept["counts"]["done"]) == ("done", None, 1)
        missing = client.get("/batches/999999")
        assert missing.status_code == 404 and missing.json()["detail"].startswith("E_NO_BATCH:")
    with store.sessions() as session:
        assert session.get(BatchJobRow, ids["running"]).error_code == "E_INTERRUPTED"
