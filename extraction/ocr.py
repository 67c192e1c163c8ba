"""Offline OCR of page images: text boxes with their place and the engine's confidence.

Why RapidOCR (PP-OCRv4 det + rec as ONNX): its wheel carries the models, so nothing is downloaded at run
time, and it recognises a table cell's crop without a detection pass. The comparison with Tesseract's
chi_sim (Debian) is `python -m nianbao.evaluation.ocr_compare`. The engine is loaded once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

BAND_HEIGHT = 400  # pixels of page given to the detector at once
BAND_MARGIN = 60  # more than a text line is tall at 200 dpi
DET_SCALE = 0.6  # detection needs less resolution than recognition
MIN_SCORE = 0.5  # the engine's own default: lower scores are mostly noise


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

    # "max": never upscale a band to a minimum side, which is what costs memory on a wide, short image.
    engine = RapidOCR(det_limit_type="max")
    # One line at a time: a batch pads every line to the widest, and a paragraph line is 1,500 px wide.
    engine.text_rec.rec_batch_num = 1
    return engine


def page_text_boxes(gray: np.ndarray, band: int = BAND_HEIGHT, margin: int = BAND_MARGIN) -> list[OcrBox]:
    """Every text line on a grayscale page, as axis-aligned boxes with the recogniser's score.

    The detector's memory grows with the pixels it sees (about 300 bytes a pixel), so it sees the page
    in horizontal bands at DET_SCALE; the recogniser reads each found line from the full-resolution
    page. A band reaches ``margin`` beyond its core on both sides and keeps the lines centred in its
    core, so a line on a band edge is read whole, once.
    """
    engine = _engine()
    boxes: list[OcrBox] = []
    height = gray.shape[0]
    for top in range(0, height, band):
        lo, hi = max(0, top - margin), min(height, top + band + margin)
        part = cv2.cvtColor(gray[lo:hi], cv2.COLOR_GRAY2BGR)
        small = cv2.resize(part, None, fx=DET_SCALE, fy=DET_SCALE, interpolation=cv2.INTER_AREA)
        quads, _ = engine.text_det(small)
        if quads is None or len(quads) == 0:
            continue
        quads = [np.asarray(q, np.float32) / DET_SCALE for q in quads]
        quads = [q for q in quads if top <= lo + q[:, 1].mean() < top + band]
        read, _ = engine.text_rec(engine.get_crop_img_list(part, quads))
        for quad, (text, score) in zip(quads, read, strict=True):
            if score >= MIN_SCORE and str(text).strip():
                xs, ys = quad[:, 0], quad[:, 1] + lo
                boxes.append(OcrBox(str(text), xs.min(), ys.min(), xs.max(), ys.max(), float(score)))
    return boxes


def recognize_lines(crops: list[np.ndarray]) -> list[tuple[str, float]]:
    """Recognition alone on crops that each hold one line (a table cell): no detection pass, which also
    misses lone small glyphs such as a cell's single "0"."""
    if not crops:
        return []
    images = [cv2.cvtColor(c, cv2.COLOR_GRAY2BGR) if c.ndim == 2 else c for c in crops]
    results, _ = _engine().text_rec(images)
    return [(str(text), float(score)) for text, score in results]
