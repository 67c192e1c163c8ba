"""Tunables of the review service, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.extraction.pipeline import MAX_BYTES
from nianbao.models import review_policy


@dataclass(frozen=True)
class AppSettings:
    """How the review service behaves; the dataclass itself refuses unknown keys."""

    # Fields below this calibrated confidence wait for a person (as do fields with a doubt flag).
    threshold: float = field(default_factory=lambda: review_policy().threshold)
    upload_dir: Path = Path("nianbao-uploads")  # uploaded files, named by content hash
    max_upload_bytes: int = MAX_BYTES  # the extractor refuses larger files anyway
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
        if min(self.max_upload_bytes, self.queue_documents, self.max_batch_workers) < 1 or self.crop_dpi <= 0:
            raise ValueError(
                "max_upload_bytes, crop_dpi, queue_documents and max_batch_workers must be positive"
            )
