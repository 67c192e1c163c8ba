"""Content hashes: a document is known by the SHA-256 of its bytes, so the same file under two paths is one
document and a renamed file is not extracted again. A file is hashed where it is read, by a worker
(``workers.fingerprint``); here the bytes the process holds (an upload, a text)."""

from __future__ import annotations

import hashlib


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


__all__ = ["content_hash"]
