"""Uploads extracted out of the server's process, the way a batch extracts a file.

Why: extraction of a hostile or merely huge upload can take minutes and gigabytes; inside the server it
took the server with it. Here a worker process of the batch's local engine extracts the upload under the
batch's per-file time limit (E_TIMEOUT) and its address-space limit, and a worker that dies (of that limit
or anything else) fails only its upload (E_CRASH). One
upload is extracted at a time, each by a fresh worker that ends with it: what one upload made a worker
grow to is given back, never kept by the server (a worker costs a few seconds to start and load the model).
"""

from __future__ import annotations

import threading
from pathlib import Path

from nianbao.batch import LocalEngine, Outcome, extract_file

_one_at_a_time = threading.Lock()


def extract_upload(path: Path, model: str | None, timeout_s: float, memory_limit_gib: float) -> Outcome:
    """The upload's record and evidence, or a record whose error says why there is none; blocks its
    caller (a request's thread), never the server."""
    with _one_at_a_time:
        engine = LocalEngine(1)
        try:
            (outcome,) = engine.run([(str(path), model, timeout_s, memory_limit_gib)], extract_file)
        finally:
            engine.close()
    return outcome
