"""Page images (PNG, JPEG, single- and multi-page TIFF), read by OCR like scanned PDF pages."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from nianbao.extraction.document import Document, ReadError
from nianbao.extraction.readers.scan import MAX_PIXELS, ScanSettings, read_scan

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
MAX_FRAMES = 300


def read_image(path: str, data: bytes) -> Document:
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise ReadError(
                "E_TOO_LARGE", f"{image.width}x{image.height} pixels is over the {MAX_PIXELS} limit"
            )
        if getattr(image, "n_frames", 1) > MAX_FRAMES:
            raise ReadError("E_TOO_LARGE", f"{image.n_frames} pages is over the {MAX_FRAMES}-page limit")
        dpi = float(image.info.get("dpi", (200, 200))[0]) or 200.0
        return read_scan(path, _frames(image), ScanSettings(dpi=dpi))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ReadError("E_CORRUPT", f"not a readable image ({exc.__class__.__name__})") from exc
    except Image.DecompressionBombError as exc:
        raise ReadError("E_TOO_LARGE", "the image declares too many pixels (a decompression bomb?)") from exc


def _frames(image: Image.Image) -> Iterator[np.ndarray]:
    for frame in ImageSequence.Iterator(image):
        yield np.asarray(frame.convert("L"))
