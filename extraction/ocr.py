"""Offline OCR of page images: text boxes with their place and the engine's confidence.

Why RapidOCR (PP-OCRv4 det + rec as ONNX): its wheel carries the models, so nothing is downloaded at run
time, and on our synthesized scans it reads Chinese report wording better than Tesseract's chi_sim (see
evaluation/OCR_COMPARISON.md). The engine is loaded once per process, on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@dataclass(frozen=True)
class OcrBox:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@lru_cache(maxsize=1)
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    threads = int(os.environ.get("NIANBAO_OCR_THREADS", "0")) or (os.cpu_count() or 1)
    return RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, use_cls=False)


def page_text_boxes(gray: np.ndarray) -> list[OcrBox]:
    """Every text line the engine finds on a grayscale page, as axis-aligned boxes."""
    result, _ = _engine()(gray)
    boxes = []
    for quad, text, score in result or []:
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        boxes.append(OcrBox(str(text), min(xs), min(ys), max(xs), max(ys), float(score)))
    return boxes


def recognize_lines(crops: list[np.ndarray]) -> list[tuple[str, float]]:
    """Recognition alone on crops that each hold one line (a table cell): no detection pass, which also
    misses lone small glyphs such as a cell's single "0"."""
    if not crops:
        return []
    images = [cv2.cvtColor(c, cv2.COLOR_GRAY2BGR) if c.ndim == 2 else c for c in crops]
    results, _ = _engine().text_rec(images)
    return [(str(text), float(score)) for text, score in results]
