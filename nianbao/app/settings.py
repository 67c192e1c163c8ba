"""Tunables of the review service, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.extraction.pipeline import MAX_BYTES
from nianbao.models import review_policy
from nianbao.workers import MEMORY_LIMIT_GIB, TIMEOUT_S

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")  # as the Host header names them


def host_name(host: str) -> str:
    """A bound address as a ``Host`` header names it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True)
class AppSettings:
    """How the review service behaves; the dataclass itself refuses unknown keys."""

    # Fields below this calibrated confidence wait for a person (as do fields with a doubt flag).
    threshold: float = field(default_factory=lambda: review_policy().threshold)
    upload_dir: Path = Path("nianbao-uploads")  # uploaded files, named by content hash
    max_upload_bytes: int = MAX_BYTES  # the extractor refuses larger files anyway
    # An upload's extraction is bounded as a batch's file is: in time (E_TIMEOUT) and address space.
    upload_timeout_s: float = TIMEOUT_S
    upload_memory_limit_gib: float = MEMORY_LIMIT_GIB  # 0: no limit
    model: str | None = None  # field mapper artifact uploads are extracted with; the shipped one when None
    # Host header values a request may carry (DNS rebinding): ``nianbao serve`` adds the bound host.
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    crop_dpi: float = 100.0  # page images for evidence: enough to read a cell, small to send
    crop_margin_pt: float = 40.0  # page kept above and below the cell, in PDF points
    context_rows: int = 2  # source rows shown either side of a text form's cell
    queue_documents: int = 20  # documents on one queue page
    # The only directory batch jobs (POST /batches) may read, symlinks followed; None refuses every batch.
    archive_root: Path | None = None
    max_batch_workers: int = max(1, os.cpu_count() or 1)  # worker processes one batch job may ask for

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1:
            raise ValueError("threshold must be within [0, 1]")
        if (
            min(self.max_upload_bytes, self.queue_documents, self.max_batch_workers) < 1
            or min(self.crop_dpi, self.upload_timeout_s) <= 0
            or self.upload_memory_limit_gib < 0
        ):
            raise ValueError(
                "max_upload_bytes, crop_dpi, queue_documents, max_batch_workers and upload_timeout_s must be "
                "positive, upload_memory_limit_gib not negative"
            )
