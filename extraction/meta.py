"""Report meta: the publishing agency and the year reported on, from the title or the opening text."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass

_SUFFIX = r"政府信息公开(?:工作)?(?:年度)?(?:工作)?报告"
_AGENCY_FIRST = re.compile(
    r"(?P<agency>[\u4e00-\u9fff（）()·]{2,40}?)(?:关于)?(?P<year>(?:19|20)\d{2})年(?:度)?(?:的)?" + _SUFFIX
)
_YEAR_FIRST = re.compile(
    r"(?P<year>(?:19|20)\d{2})年(?:度)?(?P<agency>[\u4e00-\u9fff（）()·]{2,40}?)" + _SUFFIX
)
_AGENCY_ONLY = re.compile(r"(?P<agency>[\u4e00-\u9fff（）()·]{2,40}?)" + _SUFFIX)
_OPENING = re.compile(r"本报告(?:由|是)(?P<agency>[\u4e00-\u9fff（）()·]{2,40}?)(?:根据|按照|依据|编制|依照)")
_PERIOD = re.compile(r"(?:统计期限|统计期间|数据统计)[^。]{0,6}?自?(?P<year>(?:19|20)\d{2})年")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_LEAD_NOISE = re.compile(r"^(?:关于|印发|公布|发布|\d+)+")


@dataclass(frozen=True)
class Meta:
    agency: str | None
    year: int | None


def _clean_agency(agency: str) -> str | None:
    agency = _LEAD_NOISE.sub("", agency).strip("（）() ·")
    return agency if len(agency) >= 2 else None


def _title_lines(lines: list[str]) -> list[str]:
    """Each line and each pair of neighbours: titles are often split over two lines."""
    compact = [re.sub(r"[\s#*]+", "", line) for line in lines]
    return compact + [a + b for a, b in itertools.pairwise(compact)]


def find_meta(lines: list[str]) -> Meta:
    head = [line for line in lines[:80] if line.strip()][:40]
    for candidate in _title_lines(head):
        for pattern in (_AGENCY_FIRST, _YEAR_FIRST):
            match = pattern.search(candidate)
            if match:
                return Meta(_clean_agency(match["agency"]), int(match["year"]))
    text = re.sub(r"\s+", "", "\n".join(lines[:200]))
    agency = None
    for pattern in (_AGENCY_ONLY, _OPENING):
        match = pattern.search("".join(_title_lines(head[:6])) if pattern is _AGENCY_ONLY else text)
        if match:
            agency = _clean_agency(match["agency"])
            break
    period = _PERIOD.search(text)
    if period:
        return Meta(agency, int(period["year"]))
    years = Counter(int(y) for y in _YEAR.findall(text[:3000]))
    return Meta(agency, years.most_common(1)[0][0] if years else None)


def reconcile(found: Meta, candidate: Meta) -> tuple[Meta, list[dict]]:
    """The title rules' reading, gaps filled by a second reader's ``candidate`` (the spaCy entity ruler);
    where both read a value and differ, the rules' stays and a ``meta_disagrees`` flag asks for review."""
    flags = [
        {
            "field": f"meta.{name}",
            "kind": "meta_disagrees",
            "detail": f"title rules read {mine!r}, the entity ruler {theirs!r}",
        }
        for name, mine, theirs in (
            ("agency", found.agency, candidate.agency),
            ("year", found.year, candidate.year),
        )
        if mine is not None and theirs is not None and mine != theirs
    ]
    return Meta(found.agency or candidate.agency, found.year or candidate.year), flags
