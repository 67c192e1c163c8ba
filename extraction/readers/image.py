"""Page images (PNG, JPEG, single- and multi-page TIFF), read by OCR like scanned PDF pages."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from nianbao.errors import CodedError, ErrorCode
from nianbao.extraction.document import Document
from nianbao.extraction.readers.scan import MAX_PIXELS, ScanSettings, read_scan

MAX_FRAMES = 300


def read_image(path: str, data: bytes, settings: ScanSettings | None = None) -> Document:
    """A page image read by OCR with ``settings``, at the resolution the image declares (else theirs)."""
    settings = settings or ScanSettings()
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise CodedError(
                ErrorCode.E_TOO_LARGE, f"{image.width}x{image.height} pixels is over the {MAX_PIXELS} limit"
            )
        if getattr(image, "n_frames", 1) > MAX_FRAMES:
            raise CodedError(
                ErrorCode.E_TOO_LARGE, f"{image.n_frames} pages is over the {MAX_FRAMES}-page limit"
            )
        return read_scan(path, page_frames(image), replace(settings, dpi=image_dpi(image, settings.dpi)))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise CodedError(ErrorCode.E_CORRUPT, f"not a readable image ({exc.__class__.__name__})") from exc
    except Image.DecompressionBombError as exc:
        raise CodedError(
            ErrorCode.E_TOO_LARGE, "the image declares too many pixels (a decompression bomb?)"
        ) from exc


def image_dpi(image: Image.Image, default: float = ScanSettings().dpi) -> float:
    """The resolution an image declares, else ``default`` (the scan resolution): how its pixels become
    points."""
    return float(image.info.get("dpi", (0, 0))[0]) or default


def page_frames(image: Image.Image) -> Iterator[np.ndarray]:
    """Each page (frame) of an image as grayscale pixels."""
    for frame in ImageSequence.Iterator(image):
        yield np.asarray(frame.convert("L"))
