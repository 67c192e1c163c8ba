"""The sections pipeline at run time: spaCy (blank zh, jieba segmenter) with a trained textcat that
names the report section of a heading or text block, and an entity ruler for agency and year.

Why spaCy here: section headings arrive renumbered, reordered and OCR-damaged, which a text classifier
over words handles better than matching the six template wordings; agency names and years in titles are
token patterns (place + organ suffix, digits + 年), which an entity ruler states as data
(training/meta_patterns.jsonl) rather than code.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from nianbao.extraction.meta import Meta
from nianbao.models import ARTIFACTS

SECTIONS_PIPELINE = ARTIFACTS / "sections"
SECTION_LABELS = ("s1", "s2", "s3", "s4", "s5", "s6")
NONE_LABEL = "none"
_SPACE = re.compile(r"[\s#*]+")
_YEAR = re.compile(r"(?:19|20)\d{2}")


class SectionReader:
    """Holds the loaded spaCy pipeline; knows nothing of file formats (it reads text lines)."""

    def __init__(self, nlp) -> None:
        self.nlp = nlp
        self.ruler = nlp.get_pipe("entity_ruler")

    @classmethod
    def load(cls, path: str | Path | None = None) -> SectionReader:
        return _load(str(path or SECTIONS_PIPELINE))

    def classify(self, texts: list[str]) -> list[tuple[str, float]]:
        """The most probable label (s1 … s6 or none) of each text, with its probability."""
        out = []
        with self.nlp.select_pipes(enable=["textcat"]):
            for doc in self.nlp.pipe(texts, batch_size=64):
                label = max(doc.cats, key=doc.cats.__getitem__)
                out.append((label, float(doc.cats[label])))
        return out

    def meta(self, lines: list[str]) -> Meta:
        """Agency and year named by the title (its first lines, up to the one saying 报告), else by the
        opening sentence (本报告由…) and the statistics period (统计期限自…年)."""
        head = [_SPACE.sub("", line) for line in lines[:60] if line.strip()][:30]
        end = next((i for i, line in enumerate(head[:4]) if "报告" in line), None)
        title = "".join(head[: end + 1]) if end is not None else ""
        opening = next((line for line in head if "本报告" in line), "")
        period = next((line for line in head if "统计期" in line), "")
        agency = self._first(title, "AGENCY") or self._first(opening, "AGENCY")
        year = self._first(title, "YEAR") or self._first(period, "YEAR")
        match = _YEAR.search(year or "")
        return Meta(agency, int(match.group()) if match else None)

    def _first(self, text: str, label: str) -> str | None:
        if not text:
            return None
        doc = self.ruler(self.nlp.make_doc(text[:300]))
        return next((ent.text for ent in doc.ents if ent.label_ == label), None)


@cache
def _load(path: str) -> SectionReader:
    import spacy

    return SectionReader(spacy.load(path))
