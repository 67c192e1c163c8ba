"""The sections pipeline at run time: spaCy (blank zh, jieba segmenter) with a trained textcat that
names the report section of a heading or text block, and a trained ner that finds agency names (AGENCY).

Why spaCy here: section headings arrive renumbered, reordered and OCR-damaged, which a text classifier
over words handles better than matching the six template wordings. Agency names come in shapes no list
of suffixes covers (XX综合实验区, XX片区管理局, 市发改委, names in a breadcrumb or a signature): the ner
learns them from their context in titles, opening sentences, signatures and page headings
(training/agency_examples.py synthesizes these from training/meta_patterns.json). It reads one token per
character, so a name never has to agree with jieba's words, and extraction never loads jieba for it.

The reader returns plain labels and spans; which region a text is and what its spans make of the report's
agency and year is the extraction step's business (extraction/meta.py: `regions`, `ner_meta`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from nianbao.models import ARTIFACTS

SECTIONS_PIPELINE = ARTIFACTS / "sections"
SECTION_LABELS = ("s1", "s2", "s3", "s4", "s5", "s6")
NONE_LABEL = "none"
AGENCY_LABEL = "AGENCY"


class SectionReader:
    """Holds the loaded spaCy pipeline; knows nothing of file formats (it reads text lines)."""

    def __init__(self, nlp) -> None:
        self.nlp = nlp
        self.ner = nlp.get_pipe("ner") if "ner" in nlp.pipe_names else None

    @classmethod
    def load(cls, path: str | Path | None = None) -> SectionReader:
        """The whole pipeline (textcat and ner; jieba's dictionary is loaded with it)."""
        return _load(str(path or SECTIONS_PIPELINE))

    @classmethod
    def load_ner(cls, path: str | Path | None = None) -> SectionReader:
        """The ner alone, for report meta: no textcat, no jieba (about 60 MB less than `load`)."""
        return _load_ner(str(path or SECTIONS_PIPELINE))

    def classify(self, texts: list[str]) -> list[tuple[str, float]]:
        """The most probable label (s1 … s6 or none) of each text, with its probability."""
        out = []
        with self.nlp.select_pipes(enable=["textcat"]):
            for doc in self.nlp.pipe(texts, batch_size=64):
                label = max(doc.cats, key=doc.cats.__getitem__)
                out.append((label, float(doc.cats[label])))
        return out

    def agencies(self, texts: list[str]) -> list[list[str]]:
        """The AGENCY spans of each text, in order, read one character per token."""
        if self.ner is None:
            return [[] for _ in texts]
        from spacy.tokens import Doc

        docs = [Doc(self.nlp.vocab, words=list(t), spaces=[False] * len(t)) if t else None for t in texts]
        done = iter(self.ner.pipe([d for d in docs if d is not None], batch_size=32))
        out = []
        for doc in docs:
            ents = next(done).ents if doc is not None else ()
            out.append([e.text.strip() for e in ents if e.label_ == AGENCY_LABEL and e.text.strip()])
        return out


@cache
def _load(path: str) -> SectionReader:
    import spacy

    return SectionReader(spacy.load(path))


@cache
def _load_ner(path: str) -> SectionReader:
    """spaCy's zh tokenizer built with jieba initialises jieba's whole dictionary; the ner reads characters,
    so it is built in a blank zh pipeline (character segmenter) and its weights read from ``path``."""
    import spacy
    from spacy.util import load_config

    components = load_config(Path(path) / "config.cfg")["components"]
    nlp = spacy.blank("zh")
    if "ner" in components:
        settings = {k: v for k, v in components["ner"].items() if k != "factory"}
        nlp.add_pipe("ner", config=settings)
        nlp.vocab.from_disk(Path(path) / "vocab")
        nlp.get_pipe("ner").from_disk(Path(path) / "ner", exclude=["vocab"])
    return SectionReader(nlp)
