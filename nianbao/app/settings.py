"""Tunables of the review service, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nianbao.extraction.pipeline import MAX_BYTES


@dataclass(frozen=True)
class AppSettings:
    """How the review service behaves; the dataclass itself refuses unknown keys."""

    # Fields below this confidence wait for a person. One number for now: a calibrated review policy
    # (issue 7) will supply it.
    threshold: float = 0.9
    upload_dir: Path = Path("nianbao-uploads")  # uploaded files, named by content hash
    max_upload_bytes: int = MAX_BYTES  # the extractor refuses larger files anyway
    crop_dpi: float = 100.0  # page images for evidence: enough to read a cell, small to send
    crop_margin_pt: float = 40.0  # page kept above and below the cell, in PDF points
    context_rows: int = 2  # source rows shown either side of a text form's cell
    queue_documents: int = 20  # documents on one queue page

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1:
            raise ValueError("threshold must be within [0, 1]")
        if self.max_upload_bytes < 1 or self.crop_dpi <= 0 or self.queue_documents < 1:
            raise ValueError("max_upload_bytes, crop_dpi and queue_documents must be positive")
