"""The OCR engines ``ocr_compare.py`` runs, each meant to run in a fresh process of its own
(``in_fresh_process``): Tesseract through its CLI, RapidOCR with its default pipeline or with our own cuts
(``extraction/ocr.py``'s ``warp`` and ``vertical``), on full pages or on cut-out crops.

Why a process each: per-page time, load time and peak RSS then belong to that engine alone.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image

from nianbao.extraction.ocr import DET_BOX_THRESH, vertical, warp

DIGITS = "0123456789.,-"
# Tesseract is built with OpenMP: on 2 cores a second thread busy-waits against anything else running
# (a page took 37 s instead of 2 s next to another busy process).
TESS_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}
# Our own-cuts pipeline keeps faint lone digits that RapidOCR's defaults drop: the detector's box_thresh
# 0.5 -> 0.3 and no text_score cut-off (0.5 by default); see OCR_COMPARISON.md.
OWN_CUTS_OPTIONS = {"det_box_thresh": DET_BOX_THRESH}


def _cpu_s(who: int) -> float:
    """CPU seconds used so far: unlike wall time, barely moved by other processes on the machine."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _tesseract(args: list[str]) -> str:
    done = subprocess.run(["tesseract", *args], capture_output=True, text=True, env=TESS_ENV, check=True)
    return done.stdout


def _tesseract_load_s(tmp: str) -> float:
    """One call on a blank image: process start plus loading chi_sim, which every CLI call pays again."""
    blank = Path(tmp) / "blank.png"
    Image.new("L", (64, 32), 255).save(blank)
    started = time.perf_counter()
    _tesseract([str(blank), "stdout", "-l", "chi_sim", "--psm", "7"])
    return time.perf_counter() - started


def tesseract_pages(paths: list[str], psm: int) -> dict:
    """Full pages through the CLI, one call per page (what pytesseract does too)."""
    load_s = _tesseract_load_s(os.path.dirname(paths[0]))
    texts, times, cpu = [], [], _cpu_s(resource.RUSAGE_CHILDREN)
    for path in paths:
        started = time.perf_counter()
        texts.append(_tesseract([path, "stdout", "-l", "chi_sim", "--psm", str(psm)]).replace("\f", ""))
        times.append(time.perf_counter() - started)
    cpu = (_cpu_s(resource.RUSAGE_CHILDREN) - cpu) / len(paths)
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest tesseract process
    return {"load_s": load_s, "page_s": times, "cpu_s": cpu, "texts": texts, "boxes": [], "rss_mb": rss_mb}


def tesseract_crops(paths: list[str], whitelist: bool) -> dict:
    """psm 7 on every crop in one process (a list file): chi_sim is loaded once, and netted out."""
    tmp = os.path.dirname(paths[0])
    load_s = _tesseract_load_s(tmp)
    fd, listing = tempfile.mkstemp(suffix=".txt", dir=tmp)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(paths) + "\n")
    extra = ["-c", f"tessedit_char_whitelist={DIGITS}"] if whitelist else []
    started = time.perf_counter()
    out = _tesseract([listing, "stdout", "-l", "chi_sim", "--psm", "7", *extra])
    total = time.perf_counter() - started
    texts = out.split("\f")[: len(paths)]  # tesseract ends every image with a form feed
    if len(texts) != len(paths):
        raise RuntimeError(f"tesseract gave {len(texts)} results for {len(paths)} crops")
    return {"texts": texts, "crop_s": max(total - load_s, 0.0) / len(paths), "load_s": load_s}


def _rapid(threads: int, **options: float):
    """Options go to the constructor: passed to a call instead, they stick to the engine for later calls."""
    from rapidocr_onnxruntime import RapidOCR  # imported here: the parent process never loads onnxruntime

    return RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, **options)


def _rgb(path: str) -> np.ndarray:
    return np.array(Image.open(path).convert("RGB"))


def _timed_pages(paths: list[str], threads: int, read: Callable, **options: float) -> dict:
    """Load RapidOCR, then read(engine, image) -> [(quad, text)] on every page, timing each page."""
    started = time.perf_counter()
    engine = _rapid(threads, **options)
    load_s = time.perf_counter() - started
    times, boxes, cpu = [], [], 0.0
    for path in paths:
        image = _rgb(path)
        started, cpu_started = time.perf_counter(), _cpu_s(resource.RUSAGE_SELF)
        boxes.append(read(engine, image))
        times.append(time.perf_counter() - started)
        cpu += _cpu_s(resource.RUSAGE_SELF) - cpu_started
    texts = ["\n".join(text for _, text in page) for page in boxes]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the whole worker, Python included
    return {
        "load_s": load_s,
        "page_s": times,
        "cpu_s": cpu / len(paths),
        "texts": texts,
        "boxes": boxes,
        "rss_mb": rss_mb,
    }


def _read_default(engine, image: np.ndarray) -> list:
    result, _ = engine(image)
    return [(quad, text) for quad, text, _ in result or []]  # None, not [], when nothing is detected


def _read_own_cuts(engine, image: np.ndarray) -> list:
    """RapidOCR's detector, our own cuts (only vertical text turned), recognition in batches; no cls.

    Every recognized box is kept: a table reader checks a cell against its column anyway.
    """
    quads, _ = engine(image, use_cls=False, use_rec=False)
    quads = [np.array(q, dtype=np.float32) for q in quads or []]
    if not quads:
        return []
    recs, _ = engine.text_rec([warp(image, q, t) for q, t in zip(quads, vertical(quads), strict=True)])
    return [(q.tolist(), r[0]) for q, r in zip(quads, recs, strict=True)]


def rapid_pages(paths: list[str], threads: int) -> dict:
    """Full pages, default det + cls + rec; boxes kept for the per-cell test."""
    return _timed_pages(paths, threads, _read_default)


def rapid_own_cuts_pages(paths: list[str], threads: int) -> dict:
    """Full pages, RapidOCR's detector and recognizer but our cuts: what a table reader would run."""
    return _timed_pages(paths, threads, _read_own_cuts, **OWN_CUTS_OPTIONS)


def rapid_crops(cuts: dict[str, list[str]], threads: int) -> dict[str, dict]:
    """Recognition only per cut: one ``engine(crop, use_det=False)`` call per crop, then ``text_rec`` batches.

    The two differ beyond speed: the call path resizes any crop under 30 px to multiples of 32 on both
    sides, squashing a lone digit.
    """
    engine, out = _rapid(threads), {}
    for cut, paths in cuts.items():
        images = [_rgb(p) for p in paths]
        single, times = [], []
        for image in images:
            started = time.perf_counter()
            result, _ = engine(image, use_det=False, use_cls=False, use_rec=True)
            times.append(time.perf_counter() - started)
            single.append(result[0][0] if result else "")
        started = time.perf_counter()
        batch = [r[0] for r in engine.text_rec(images)[0]]
        batch_s = (time.perf_counter() - started) / len(images)
        out[cut] = {"single": single, "single_s": statistics.mean(times), "batch": batch, "batch_s": batch_s}
    return out


def in_fresh_process(fn: Callable[..., dict], *args: object) -> dict:
    """Run fn in a new spawned process: its RSS and thread pools are its own, and it exits afterwards."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def versions() -> str:
    """Tesseract's, the libraries' and the machine's, for the head of the results."""
    tess = _tesseract(["--version"]).splitlines()[0]
    libs = ", ".join(
        f"{p} {version(p)}" for p in ("rapidocr-onnxruntime", "onnxruntime", "pypdfium2", "pdfminer.six")
    )
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?")
    return f"{tess}; {libs}; Python {platform.python_version()}; {os.cpu_count()} cores ({cpu})"
