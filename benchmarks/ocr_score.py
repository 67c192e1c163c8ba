"""How close an OCR reading is to the reference: order-free and aligned character errors, CJK characters
and table labels found, printed numbers found; summed over documents by ``Score``, shown as percentages.

Why normalised first: the engines print NFKC forms (``(,:0`` for ``（，：０``) and space text their own way,
so both sides are compared as glyphs alone (``squash``).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from ocr_reference import CJK, ScanDoc, canonical_numbers
from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq, Levenshtein


def squash(text: str) -> str:
    """Compare glyphs, not spacing: NFKC folds （，０ to (,0 as the engines print them; whitespace goes."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def bag_errors(ref: str, hyp: str) -> int:
    """Order-free edit count: characters missing, extra or substituted, whatever order the lines came in."""
    return max(len(ref), len(hyp)) - sum((Counter(ref) & Counter(hyp)).values())


def label_chars_found(label: str, hyp_cjk: str) -> int:
    """Characters of one label found in order in the best-matching stretch of the engine's CJK text."""
    hit = fuzz.partial_ratio_alignment(label, hyp_cjk)
    return LCSseq.similarity(label, hyp_cjk[hit.dest_start : hit.dest_end]) if hit else 0


@dataclass
class Found:
    """How many of something the reference holds (``of``), and how many of those the reading has too."""

    of: int = 0
    found: int = 0

    def add(self, of: int, found: int) -> None:
        self.of += of
        self.found += found

    def share(self) -> str:
        return pct(self.found, self.of)


@dataclass
class Score:
    """Sums over documents; rates are taken at the end so long documents weigh more."""

    ref_chars: int = 0  # of the reference, squashed
    bag_err: int = 0  # edits from the reference to the reading, in any order
    align_err: int = 0  # edits page by page, in reading order
    cjk: Found = field(default_factory=Found)  # CJK characters
    label_chars: Found = field(default_factory=Found)  # characters of table labels, found in order
    labels: Found = field(default_factory=Found)  # table labels, read whole
    numbers: Found = field(default_factory=Found)  # numbers printed for the gold's fields
    nonzero: Found = field(default_factory=Found)  # the same, zeros left out

    def add_doc(self, doc: ScanDoc, hyp_pages: list[str]) -> None:
        ref, hyp = squash("".join(doc.ref_pages)), squash("".join(hyp_pages))
        self.ref_chars += len(ref)
        self.bag_err += bag_errors(ref, hyp)
        self.align_err += sum(
            Levenshtein.distance(squash(r), squash(h)) for r, h in zip(doc.ref_pages, hyp_pages, strict=True)
        )
        ref_cjk, hyp_cjk = "".join(CJK.findall(ref)), "".join(CJK.findall(hyp))
        self.cjk.add(len(ref_cjk), sum((Counter(ref_cjk) & Counter(hyp_cjk)).values()))
        for label in doc.labels:
            self.labels.add(1, label in hyp_cjk)
            self.label_chars.add(len(label), label_chars_found(label, hyp_cjk))
        found = canonical_numbers("\n".join(hyp_pages)) & doc.numbers
        self.numbers.add(doc.numbers.total(), found.total())
        self.nonzero.add(doc.numbers.total() - doc.numbers["0"], found.total() - found["0"])


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def exact(pairs: list[tuple[str, str]]) -> str:
    return pct(sum(squash(a) == squash(b) for a, b in pairs), len(pairs))


def cer(pairs: list[tuple[str, str]]) -> str:
    errors = sum(Levenshtein.distance(squash(truth), squash(got)) for truth, got in pairs)
    return pct(errors, sum(len(squash(truth)) for truth, _ in pairs))
