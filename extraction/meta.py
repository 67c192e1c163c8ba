"""Report meta: the publishing agency and the year reported on.

Readings (`Reading`), cheapest first — `find_meta`, regular expressions over the text:

- title: the text before ``YYYY年…政府信息公开…报告`` (or between the year and it);
- opening: ``本报告由X根据/按照…``;
- signature: the agency line over the closing date (only a name of a known organ shape);
- page: a web page's breadcrumb crumb or ``来源：X`` line (a known organ shape; used only where the
  title, opening and signature name no agency, since a portal's crumbs may name its owner);
- year: the title's, else the statistics period's (统计期限自YYYY年), else the years the text names outside
  dates. A publication date (the signature's, 发布时间) is not the report year — a 2023 report is published
  in 2024 — and only stands in, as its year − 1, flagged.

Where the rules leave the agency unknown or read one of no known organ shape (`Meta.doubtful`: 综合实验区,
XX街道, a breadcrumb crumb), the sections pipeline's NER reads the same `regions` (extraction/meta_ner.py)
and `reconcile` combines all readings: by source (title, opening, signature, page; the rules before the
NER within a source) the first stands, and a ``meta_uncertain`` flag asks for review where the agency or
year stays unknown, where two readings disagree (after normalising whitespace and brackets; one contained
in the other, as 市发改委 in 市发展和改革委员会, is no disagreement), or where an agency of no known organ
shape has no second reading.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from nianbao.extraction.record import Flag, FlagKind

_NAME = r"[\u4e00-\u9fff（）()·]"
_SUFFIX = r"政府信息公开(?:工作)?(?:年度)?(?:工作)?报告"
_AGENCY_FIRST = re.compile(
    rf"(?P<agency>{_NAME}{{2,40}}?)(?:关[于千])?(?P<year>(?:19|20)\d{{2}})年(?:度)?(?:的)?" + _SUFFIX
)
_YEAR_FIRST = re.compile(rf"(?P<year>(?:19|20)\d{{2}})年(?:度)?(?P<agency>{_NAME}{{2,40}}?)" + _SUFFIX)
_YEAR_TITLE = re.compile(r"(?P<year>(?:19|20)\d{2})年(?:度)?(?:的)?" + _SUFFIX)
_AGENCY_ONLY = re.compile(rf"(?P<agency>{_NAME}{{2,40}}?)" + _SUFFIX)
_OPENING = re.compile(
    rf"本(?:年度)?报告(?:由|是)(?P<agency>{_NAME}{{2,40}}?)(?:根据|按照|依据|编制|依照|结合|对照|严格)"
)
_OPENING_CUE = re.compile(r"本(?:年度)?报告(?:由|是)|现将|特向社会公布|予以公布|向社会公布")
_PERIOD = re.compile(r"(?:统计期限|统计期间|统计时限|数据统计)[^。]{0,6}?自?(?P<year>(?:19|20)\d{2})年")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年(?!\s*\d{1,2}\s*月)")  # a year, not a date
_LEAD_NOISE = re.compile(r"^(?:关[于千]|印发|公布|发布|转发|现将|特向社会|向社会|特此|予以|\d+)+")
_SENTENCE = re.compile(r"[。，；：:！？]")
_CN_DIGITS = "〇一二三四五六七八九"
_DATE = (
    r"(?P<year>(?:19|20)\d{2})(?:年\d{1,2}月\d{1,2}日|[-./]\d{1,2}[-./]\d{1,2})"
    r"|(?P<cn>[〇○零一二三四五六七八九]{4})年[〇○零一二三四五六七八九十]{1,2}月[〇○零一二三四五六七八九十]{1,3}日"
)
_DATE_LINE = re.compile(rf"^(?P<name>{_NAME}{{0,40}}?)(?:{_DATE})$")
_PUBLISHED = re.compile(r"(?:发布|印发|成文|公开|发文)(?:时间|日期)[:：]\s*(?P<year>(?:19|20)\d{2})")
_SPACE = re.compile(r"[\s#*]+")
_CRUMB = re.compile(r"\s*[>＞›»→]\s*")
_PAGE_CUE = re.compile(
    r"^(?:当前位置|您(?:现在)?的位置|您所在的位置|所在位置|位置)[:：]|(?:来源|发布机构|发文机关|发布单位|发布时间|发布日期)[:：]"
)
_SOURCE = re.compile(
    rf"(?:^|\s)(?:来源|信息来源|发布机构|发文机关|发布单位)[:：]\s*(?P<agency>{_NAME}{{2,40}})"
)
# The last part of an organ's name; an agency without one (XX综合实验区, XX街道) is read again by the NER.
_ORGAN = re.compile(
    r"(?:政府|办公厅|办公室|办事处|委员会|管委会|局|厅|委|办|中心|院|所|署|馆|站|队|处|会|社|部|室|集团|公司|校|学)$"
)
_NOT_AGENCY = re.compile(
    r"报告|年报|首页|信息公开|条例|格式|位置|栏目|目录|年度|通知|关[于千]|编制|做好|公布|本机关|我单位|的$"
)
_BRACKETS = str.maketrans("", "", "()[]【】〔〕<>《》·")

SOURCES = ("title", "opening", "signature", "page")  # agency readings, most trusted first
_PRIMARY = ("title", "opening", "signature")  # the page may name a portal's owner: no disagreement from it


@dataclass(frozen=True)
class Reading:
    """One reader's value for one field: ``field`` "agency" or "year", ``source`` where in the document
    (SOURCES, or for the year "period", "text", "published"), ``reader`` "rules" or "ner"."""

    field: str
    source: str
    value: str | int
    reader: str = "rules"


@dataclass(frozen=True)
class Meta:
    agency: str | None
    year: int | None
    # What a reader saw (`find_meta`, `meta_ner.ner_meta`); None for a bare value, which `reconcile`
    # takes as a title reading. Not part of equality.
    readings: tuple[Reading, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def doubtful(self) -> bool:
        """No agency, or one of no known organ shape: worth a second reading by the NER."""
        return self.agency is None or not well_formed(self.agency)


def plausible(agency: str) -> bool:
    return 2 <= len(agency) <= 40 and not _NOT_AGENCY.search(agency) and agency[0] not in "本我该各"


def well_formed(agency: str) -> bool:
    """An agency name ending in a known organ part (人民政府, 局, 委员会, 中心 …)."""
    return plausible(agency) and len(agency) <= 30 and bool(_ORGAN.search(agency))


def normalise(agency: str) -> str:
    """For comparison only: full-width folded, whitespace and brackets dropped."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", agency)).translate(_BRACKETS)


def _subsequence(short: str, long: str) -> bool:
    rest = iter(long)
    return len(short) >= 2 and all(ch in rest for ch in short)


def same_agency(a: str, b: str) -> bool:
    """Equal after `normalise`, or one contained in the other in order (市发改委 in 市发展和改革委员会)."""
    a, b = normalise(a), normalise(b)
    return a == b or _subsequence(a, b) or _subsequence(b, a)


def _clean_agency(agency: str) -> str | None:
    agency = _LEAD_NOISE.sub("", agency).strip("（）() ·")
    return agency if re.fullmatch(f"{_NAME}+", agency) and plausible(agency) else None


def _compact(line: str) -> str:
    return _SPACE.sub("", line)


def _is_page(line: str) -> bool:
    return len(_CRUMB.findall(line)) >= 2 or bool(_PAGE_CUE.search(line.strip()))


def _cited(text: str, match: re.Match) -> bool:
    """Part of a cited document's name (《中华人民共和国政府信息公开工作年度报告格式》), not this report's
    title (which may be quoted whole: 关于印发《XX局2023年政府信息公开工作年度报告》的通知)."""
    if text.startswith("格式", match.end()):  # 《…政府信息公开工作年度报告格式》 wrapped over lines
        return True
    if text.count("《", 0, match.start()) <= text.count("》", 0, match.start()):
        return False
    close = text.find("》", match.end())
    return close != match.end()


def _title_lines(lines: list[str]) -> list[str]:
    """Each line and each pair of neighbours: titles are often split over two lines."""
    compact = [_compact(line) for line in lines]
    return compact + [a + b for a, b in itertools.pairwise(compact)]


def _head(lines: list[str]) -> tuple[list[str], list[str]]:
    """The document's first non-empty lines as (page lines: breadcrumbs, 来源…, spaces folded; the rest)."""
    head = [line.strip() for line in lines[:80] if line.strip()][:40]
    page = [re.sub(r"\s+", " ", line) for line in head if _is_page(line)]
    return page, [line for line in head if not _is_page(line)]


def _date_year(match: re.Match) -> int:
    if match["year"]:
        return int(match["year"])
    return int("".join(str(_CN_DIGITS.index(ch)) if ch in _CN_DIGITS else "0" for ch in match["cn"]))


def _signature(lines: list[str]) -> tuple[list[str], re.Match | None]:
    """The closing lines up to the last date line (at most two lines above it), and that date's match."""
    tail = [c for c in (_compact(line) for line in lines[-60:]) if c][-12:]
    for i in range(len(tail) - 1, -1, -1):
        match = _DATE_LINE.match(tail[i])
        if match:
            return tail[max(0, i - 2) : i + 1], match
    return [], None


def regions(lines: list[str]) -> dict[str, str]:
    """The places that name the agency, as the NER reads them (whitespace dropped, lines joined by a line
    break; page lines keep one space between words): title, opening sentence, signature, page heading."""
    page, body = _head(lines)
    compact = [_compact(line) for line in body]
    end = next((i for i, line in enumerate(compact[:8]) if "报告" in line or "年报" in line), None)
    title = ""
    if end is not None:
        start = end
        while start > 0 and end - start < 2 and _title_part(compact[start - 1]):
            start -= 1
        title = "".join(compact[start : end + 1])
    if not _reportish(page, body):
        return dict.fromkeys(SOURCES, "")
    cue = next((i for i, line in enumerate(compact) if _OPENING_CUE.search(line) and i != end), None)
    opening = "".join(compact[cue : cue + 3])[:200] if cue is not None else ""
    closing, _ = _signature(lines)
    return {
        "title": title[:120],
        "opening": opening,
        "signature": "\n".join(closing),
        "page": "\n".join(page)[:400],
    }


def _reportish(page: list[str], body: list[str]) -> bool:
    """The head of the document speaks of a report (报告, 年报): a page's crumbs or a signature alone are no
    reason to take a document (a menu page, a notice) for one, nor to read an agency from it."""
    return any("报告" in line or "年报" in line for line in (*page, *body))


def _title_part(line: str) -> bool:
    return len(line) <= 40 and not re.search(r"[。，；：:]", line) and not _DATE_LINE.match(line)


def _matches(candidates: list[str], patterns) -> Iterator[tuple[str | None, int | None]]:
    """(agency, year) of each match that is not part of a cited document's name, in order."""
    for candidate in candidates:
        for pattern in patterns:
            for m in pattern.finditer(candidate):
                if not _cited(candidate, m):
                    agency = _clean_agency(m["agency"]) if "agency" in pattern.groupindex else None
                    yield agency, int(m["year"]) if "year" in pattern.groupindex else None


def _sentence(line: str) -> bool:
    """Not a title line: a sentence, the opening sentence's start, or text citing the regulations."""
    return bool(_SENTENCE.search(line) or _OPENING_CUE.search(line)) or len(line) > 80 or "条例" in line


def _title_readings(body: list[str]) -> list[Reading]:
    """The title's agency and year (its lines before the first sentence); where the title names no agency, a
    sentence naming this report (现将X2023年…报告向社会公布) gives an opening reading."""
    compact = [_compact(line) for line in body]
    n = next((i for i, line in enumerate(compact[:8]) if _sentence(line)), None)
    n = min(len(compact), 8) if n is None else n
    titles = _title_lines(body[:n])
    year = None
    for agency, found in _matches(titles, (_AGENCY_FIRST, _YEAR_FIRST)):
        year = year or found
        if agency:
            return [Reading("agency", "title", agency), Reading("year", "title", found)]
    year = year or next((y for _, y in _matches(titles, (_YEAR_TITLE,))), None)
    out = [Reading("year", "title", year)] if year else []
    agency = next((a for a, _ in _matches(titles, (_AGENCY_ONLY,)) if a), None)
    if agency:
        return [Reading("agency", "title", agency), *out]
    for agency, found in _matches(_title_lines(body[n:]), (_AGENCY_FIRST, _YEAR_FIRST)):
        if agency:
            return [*out, Reading("agency", "opening", agency), Reading("year", "opening", found)]
    return out


def find_meta(lines: list[str]) -> Meta:
    """The rules' readings of agency and year (regular expressions only; cheap), combined."""
    page, body = _head(lines)
    readings = _title_readings(body)
    text = _compact("\n".join(lines[:200]))
    match = next((m for m in _OPENING.finditer(text) if not _cited(text, m)), None)
    agency = _clean_agency(match["agency"]) if match else None
    if agency:
        readings.append(Reading("agency", "opening", agency))
    closing, date = _signature(lines) if _reportish(page, body) else ([], None)
    if date:
        name = _clean_agency(date["name"] or (closing[-2] if len(closing) >= 2 else ""))
        if name and well_formed(name):
            readings.append(Reading("agency", "signature", name))
        readings.append(Reading("year", "published", _date_year(date)))
    for line in page if _reportish(page, body) else []:
        crumbs = [_clean_agency(c) for c in _CRUMB.split(line)] if _CRUMB.search(line) else []
        crumbs += [_clean_agency(m["agency"]) for m in _SOURCE.finditer(line)]
        readings += [Reading("agency", "page", c) for c in reversed(crumbs) if c and well_formed(c)]
        published = _PUBLISHED.search(line)
        if published:
            readings.append(Reading("year", "published", int(published["year"])))
    period = _PERIOD.search(text)
    if period:
        readings.append(Reading("year", "period", int(period["year"])))
    years = Counter(int(y) for y in _YEAR.findall(text[:3000]))
    readings += [Reading("year", "text", y) for y, _ in years.most_common(3)]
    return _combine(readings)[0]


def title_year(text: str) -> int | None:
    """The year of a report title, else of its statistics period, in ``text`` (for the NER's reading)."""
    text = _compact(text)
    found = next((y for _, y in _matches([text], (_AGENCY_FIRST, _YEAR_FIRST, _YEAR_TITLE))), None)
    period = _PERIOD.search(text)
    return found or (int(period["year"]) if period else None)


def _flag(name: str, detail: str) -> Flag:
    return Flag.on_field(FlagKind.META_UNCERTAIN, f"meta.{name}", detail)


def _said(r: Reading) -> str:
    return f"{r.source} ({r.reader}) {r.value!r}"


def _combine(readings: list[Reading], ner_ran: bool = False) -> tuple[Meta, list[Flag]]:
    flags: list[Flag] = []
    agencies = sorted(
        (r for r in readings if r.field == "agency"),
        key=lambda r: (SOURCES.index(r.source), r.reader != "rules"),
    )
    agency = str(agencies[0].value) if agencies else None
    if agency is None:
        flags.append(
            _flag(
                "agency",
                "no title, opening sentence, signature or page heading names the agency"
                + (" (nor does the NER)" if ner_ran else ""),
            )
        )
    else:
        primary = [r for r in agencies if r.source in _PRIMARY]
        if any(not same_agency(str(a.value), str(b.value)) for a, b in itertools.combinations(primary, 2)):
            seen = list(dict.fromkeys(_said(r) for r in primary))
            flags.append(_flag("agency", f"readings disagree: {'; '.join(seen)}; the first stands"))
        elif not well_formed(agency) and not any(same_agency(agency, str(r.value)) for r in agencies[1:]):
            flags.append(
                _flag(
                    "agency",
                    f"{agency!r} ({agencies[0].source}) has no known organ suffix and no second reading",
                )
            )
    years: dict[str, list[int]] = {}
    for r in readings:
        if r.field == "year" and int(r.value) not in years.setdefault(r.source, []):
            years[r.source].append(int(r.value))
    title, opening, period, text = (years.get(k, []) for k in ("title", "opening", "period", "text"))
    year = next(iter(title + opening + period + text), None)
    stated = (
        [("title", y) for y in title]
        + [("opening", y) for y in opening]
        + [("statistics period", y) for y in period]
    )
    if len({y for _, y in stated}) > 1:
        said = ", ".join(f"{where} {y}" for where, y in stated)
        flags.append(_flag("year", f"readings disagree: {said}; the first stands"))
    elif year is None and years.get("published"):
        year = years["published"][0] - 1
        flags.append(
            _flag("year", f"no report year printed; the year before the publication date's ({year + 1})")
        )
    elif year is None:
        flags.append(_flag("year", "no year in the title, statistics period or text"))
    elif not title and not period and len(text) > 1:
        flags.append(
            _flag("year", f"no title or statistics-period year; the text names {text}, the most often stands")
        )
    return Meta(agency, year, tuple(readings)), flags


def reconcile(found: Meta, candidate: Meta | None = None) -> tuple[Meta, list[Flag]]:
    """One Meta from the rules' readings (``found``) and, where those were doubtful, the NER's
    (``candidate``, `meta_ner.ner_meta`), with ``meta_uncertain`` flags. A bare Meta counts as a title
    reading, so the rules' value stands over a second reader's and a gap is filled from it."""

    def of(meta: Meta, reader: str) -> list[Reading]:
        if meta.readings is not None:
            return list(meta.readings)
        bare = [Reading("agency", "title", meta.agency, reader)] if meta.agency else []
        return bare + ([Reading("year", "title", meta.year, reader)] if meta.year else [])

    readings = of(found, "rules") + (of(candidate, "ner") if candidate is not None else [])
    return _combine(readings, ner_ran=candidate is not None)
