"""Uploads go into the store the way a batch's files do (``ingest``), extracted out of the server's process.

Why: extraction of a hostile or merely huge upload can take minutes and gigabytes; inside the server it
took the server with it. Here a worker process of the batch's local engine extracts the upload under the
batch's per-file time limit (E_TIMEOUT) and its address-space limit, and a worker that dies (of that limit
or anything else) fails only its upload (E_CRASH). One upload is extracted at a time, each by a fresh
worker that ends with it: what one upload made a worker grow to is given back, never kept by the server (a
worker forked from the engine's fork server costs only the loading of its model). The file is kept under
the data directory by its content hash, so a client's file name never becomes a path.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

from nianbao.app.settings import AppSettings
from nianbao.ingest import Key, Redo, ingest, model_key
from nianbao.store import Store
from nianbao.workers import Limits, LocalEngine

SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
# An upload is extracted with the server's model whatever extracted its content before, and an upload
# whose extraction failed is tried again when it is sent again.
UPLOAD_REDO = Redo(reextract=True, retry_failed=True)

_one_at_a_time = threading.Lock()


class UploadKey:
    """(pipeline, model version) uploads are stored under: the server's model's, loaded once for its card,
    at the first upload that needs it."""

    def __init__(self, model: str | None) -> None:
        self.model, self.key, self.lock = model, None, threading.Lock()

    def __call__(self) -> Key:
        with self.lock:
            if self.key is None:
                self.key = model_key(self.model)
            return self.key


class _UploadEngine(LocalEngine):
    """One fresh worker, held by one upload at a time from its start to its end."""

    def __init__(self) -> None:
        _one_at_a_time.acquire()
        try:
            super().__init__(1)
        except BaseException:
            _one_at_a_time.release()
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            _one_at_a_time.release()


def keep_upload(root: Path, digest: str, filename: str | None, data: bytes) -> Path:
    """``root/ab/abcdef….pdf``: named by content, the client's suffix kept only when it is a plain one."""
    suffix = Path(filename or "").suffix.lower()
    folder = (root / digest[:2]).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}{suffix if SAFE_SUFFIX.match(suffix) else ''}"
    if not target.exists():
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, target)
    return target


def ingest_upload(store: Store, path: Path, key: Key, settings: AppSettings, digest: str) -> int:
    """The kept upload's document (its content's SHA-256 ``digest``, taken as it arrived), extracted once
    per content and key and stored; blocks its caller (a request's thread), never the server. No worker is
    started for an upload stored already."""
    limits = Limits(settings.model, settings.upload_timeout_s, settings.upload_memory_limit_gib)
    known = {str(path): (digest, path.stat().st_size)}
    (document,) = ingest(store, [path], key, limits, _UploadEngine, UPLOAD_REDO, known=known)
    return document
