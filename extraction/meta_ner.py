"""Report meta as the sections pipeline's NER reads it: the agency names it tags in the regions the
rules read (`regions`: title, opening sentence, signature, page heading), made into readings that
`reconcile` (extraction/meta.py) weighs with the rules'. The tagger is passed in (models/sections.py's
`SectionReader`), so the model knows nothing of regions or readings."""

from __future__ import annotations

from typing import Protocol

from nianbao.extraction.meta import SOURCES, Meta, Reading, regions, title_year

_LAST = {"signature", "page"}  # where the agency is the last name read (a breadcrumb's deepest crumb)


class AgencyTagger(Protocol):
    """What `ner_meta` needs of the sections pipeline (models/sections.py's `SectionReader`)."""

    def agencies(self, texts: list[str]) -> list[list[str]]: ...


def pick_agency(source: str, spans: list[str]) -> str | None:
    """The agency of a region from the names tagged in it: the first, or in a signature or page heading
    the last."""
    if not spans:
        return None
    return spans[-1] if source in _LAST else spans[0]


def ner_meta(tagger: AgencyTagger, lines: list[str]) -> Meta:
    """The NER's agency readings of the title, opening sentence, signature and page heading (`regions`);
    its agency is the first by source, its year the title's or the statistics period's. `reconcile`
    combines them with the rules' readings."""
    texts = regions(lines)
    found = tagger.agencies([texts[s] for s in SOURCES])
    readings = tuple(
        Reading("agency", source, name, "ner")
        for source, spans in zip(SOURCES, found, strict=True)
        if (name := pick_agency(source, spans)) is not None
    )
    head = "\n".join(line for line in lines[:60] if line.strip())
    year = title_year(texts["title"]) or title_year(head)
    return Meta(str(readings[0].value) if readings else None, year, readings)
