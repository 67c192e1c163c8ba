"""Content hashes: a document is known by the SHA-256 of its bytes, so the same file under two paths is one
document and a renamed file is not extracted again."""

from __future__ import annotations

import hashlib
from pathlib import Path


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path, chunk: int = 1 << 20) -> str:
    """A file's SHA-256 read in chunks, so an archive's largest files never sit in memory whole."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["content_hash", "file_hash"]
