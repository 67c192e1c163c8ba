"""A synthesized report printed and scanned: rasterized, degraded as an archive scanner degrades pages,
saved as an image-only PDF (no text layer).

Every choice comes from the caller's ``random.Random`` and Pillow writes with a fixed date, so one rng
state gives byte-identical files.
"""

from __future__ import annotations

import io
import math
import random
import time
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageFilter

SCAN_DATE = time.gmtime(946684800)  # 2000-01-01, as reportlab's invariant mode: Pillow stamps the clock


@dataclass(frozen=True)
class Scanner:
    """One scanner's settings for a whole document."""

    dpi: int
    quality: int  # JPEG
    blur: float  # Gaussian sigma, px
    gamma: float  # > 1 thins strokes, < 1 thickens them
    black: float  # darkest grey the scan reaches
    white: float  # paper tone
    noise: float  # additive Gaussian sigma, grey levels


def _scanner(rng: random.Random) -> Scanner:
    return Scanner(
        dpi=rng.randint(150, 200),
        quality=rng.randint(35, 75),
        blur=rng.uniform(0.0, 1.0),
        gamma=rng.uniform(0.75, 1.3),
        black=rng.uniform(0, 40),
        white=rng.uniform(222, 252),
        noise=rng.uniform(1.5, 8.0),
    )


def _speckle(a: np.ndarray, rng: random.Random, gen: np.random.Generator) -> None:
    """Dust on the glass: a few dark specks of one to three pixels, in place."""
    count = int(a.size * rng.uniform(2e-6, 2e-5))
    ys, xs = gen.integers(0, a.shape[0] - 3, count), gen.integers(0, a.shape[1] - 3, count)
    sizes, tones = gen.integers(1, 4, count), gen.integers(0, 120, count)
    for y, x, s, tone in zip(ys, xs, sizes, tones, strict=True):
        a[y : y + s, x : x + s] = np.minimum(a[y : y + s, x : x + s], tone)


def _shadow(a: np.ndarray, rng: random.Random) -> None:
    """Sometimes the grey edge a lid that does not close leaves along one side of the page, in place."""
    if rng.random() >= 0.3:
        return
    side, depth = rng.choice("lrtb"), rng.uniform(0.35, 0.8)
    along = a.shape[1] if side in "lr" else a.shape[0]
    width = max(2, int(along * rng.uniform(0.01, 0.04)))
    ramp = np.linspace(depth, 1.0, width, dtype=np.float32)
    if side == "l":
        a[:, :width] = a[:, :width] * ramp
    elif side == "r":
        a[:, -width:] = a[:, -width:] * ramp[::-1]
    elif side == "t":
        a[:width] = a[:width] * ramp[:, None]
    else:
        a[-width:] = a[-width:] * ramp[::-1, None]


def _blur(sigma: float) -> ImageFilter.Kernel:
    """A 3x3 Gaussian: for a sigma up to one pixel close to GaussianBlur, at a third of its cost."""
    w = math.exp(-1 / (2 * sigma * sigma))
    row = [w, 1.0, w]
    return ImageFilter.Kernel((3, 3), [a * b for a in row for b in row])


def _tone(sc: Scanner) -> list[int]:
    """Paper tone, toner black and stroke weight as one grey-level lookup table."""
    return [round(sc.black + (sc.white - sc.black) * (v / 255) ** sc.gamma) for v in range(256)]


def _noise(sigma: float) -> np.ndarray:
    """Gaussian quantiles indexed by a random byte: sensor noise without drawing normals per pixel."""
    dist = NormalDist(0, sigma)
    return np.array([round(dist.inv_cdf((i + 0.5) / 256)) for i in range(256)], dtype=np.int16)


def _degrade(page: Image.Image, sc: Scanner, rng: random.Random, gen: np.random.Generator) -> Image.Image:
    """One grey page scanned: specks, skew, blur, tone curve, edge shadow, noise."""
    a = np.array(page, dtype=np.uint8)
    _speckle(a, rng, gen)
    img = Image.fromarray(a).rotate(rng.uniform(-1.5, 1.5), Image.Resampling.BILINEAR, fillcolor=255)
    if sc.blur > 0.2:
        img = img.filter(_blur(sc.blur))
    grey = np.array(img.point(_tone(sc)), dtype=np.int16)
    _shadow(grey, rng)
    grey += _noise(sc.noise)[gen.integers(0, 256, grey.shape, dtype=np.uint8)]
    return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))


def _image_pdf(pages: list[Image.Image], sc: Scanner) -> bytes:
    """An image-only PDF, one JPEG (DCTDecode) per page, sized by the scan's dpi; no font, no text."""
    buf = io.BytesIO()
    pages[0].save(
        buf,
        "PDF",
        save_all=True,
        append_images=pages[1:],
        resolution=float(sc.dpi),
        quality=sc.quality,
        creationDate=SCAN_DATE,
        modDate=SCAN_DATE,
    )
    return buf.getvalue()


def render_scan(pdf: bytes, rng: random.Random) -> bytes:
    """The PDF printed and scanned: rasterized, degraded, saved as an image-only PDF (no text layer).

    Works from any PDF, but pdfium draws a non-embedded font (STSong-Light) with whatever CJK font the
    system offers and blank glyphs where it offers none; so scan a PDF drawn with an embedded font.
    """
    sc = _scanner(rng)
    gen = np.random.default_rng(rng.getrandbits(32))
    doc = pdfium.PdfDocument(pdf)
    try:
        pages = [_degrade(p.render(scale=sc.dpi / 72, grayscale=True).to_pil(), sc, rng, gen) for p in doc]
    finally:
        doc.close()
    return _image_pdf(pages, sc)
