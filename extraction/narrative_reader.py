"""Reading the figures of a report's prose: its text lines joined into sentences (tables skipped, wrapped
lines re-joined), and each kind of the grammar matched where a sentence holds a count or a negation."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from nianbao.extraction.narrative_grammar import Grammar, Kind

_CN_DIGIT = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_SENTENCE_END = re.compile(r"[。！？!?\n]")
# Sentences worth matching at all: with a count (a numeral and a unit, or a bare number ending a
# clause), or with a negation for the figures stated as 0. The rest of the text is never scanned.
_HOT_COUNT = re.compile(r"[\d零〇一二两三四五六七八九十百千](?:[件宗起例份次部个项]|[，,；;。！？!?\n)）]|$)")
_HOT_ZERO = re.compile(r"未|无|没有")
# a phrase joined to the one before: 予以公开或部分公开59件 (but 行政复议1件、行政诉讼0件 is two figures)
_JOINED = re.compile(r"(?<![件宗起例份次个部项])(?:或|和|及|与|、|/|或者|以及)$")
_ABOUT = re.compile(r"(?:近|约|逾|超过|大约|不到|不足)$")  # before a number: not an exact count
_CLAUSE_END = re.compile(r"[，,；;：:。！？!?\n(（)）]")
# a year a statement is about; not the year applications were carried from or to (2021年结转, 结转至2024年)
_YEAR = re.compile(r"(?<!结转)(?<![至到])((?:19|20)\d\d)年(?!度?结转)")

_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_SPACE = re.compile(r"\s+")
_TABLE_NUMBERS = re.compile(r"(?:^|\s)[-—/\d.,%％]+(?=\s|$)")
_HEADING = re.compile(
    r"^#*(?:第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+[、.．]\D)"
)
_NUMERIC_ONLY = re.compile(r"^[\d.,%％/\-—–]*$")
_MIN_WRAPPED = 12  # a prose line shorter than this is not a line wrapped mid-sentence


def _clean(line: str) -> str:
    return _SPACE.sub("", line.translate(_FULLWIDTH)).replace("**", "").strip("#*>")


def _is_table(line: str) -> bool:
    return "|" in line or "\t" in line or len(_TABLE_NUMBERS.findall(line)) >= 2


@dataclass
class _Text:
    """The prose of a report as one string: paragraphs joined by newlines, wrapped lines re-joined."""

    text: str
    line_starts: list[int]  # offset in text where a source line begins …
    line_index: list[int]  # … and which line it is
    headings: list[tuple[int, str]]  # (offset, heading text) in order


def prose_of(lines: list[str]) -> _Text:
    parts: list[str] = []
    starts: list[int] = []
    index: list[int] = []
    headings: list[tuple[int, str]] = []
    size = 0
    joinable = False
    for i, raw in enumerate(lines):
        if not raw.strip() or _is_table(raw):
            joinable = False
            continue
        line = _clean(raw)
        if not line or _NUMERIC_ONLY.match(line):
            joinable = False
            continue
        heading = _HEADING.match(line) is not None and len(line) < 50 and "。" not in line
        if heading or not joinable:
            parts.append("\n")
            size += 1
        if heading:
            headings.append((size, line))
        starts.append(size)
        index.append(i)
        parts.append(line)
        size += len(line)
        joinable = not heading and len(line) >= _MIN_WRAPPED and line[-1] not in "。！？!?；;：:"
    return _Text("".join(parts), starts, index, headings)


def _cn_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    total, digit, last_unit = 0, None, 10_000
    for ch in text:
        if ch in _CN_DIGIT:
            if digit not in (None, 0):
                return None  # 一二: not a number
            digit = _CN_DIGIT[ch]
        else:
            unit = _CN_UNIT[ch]
            if unit >= last_unit:
                return None
            total += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
    return total + (digit or 0)


@dataclass
class Candidate:
    """A number one kind of figure matched, before the kinds listed earlier take the numbers they share."""

    kind: Kind
    value: int
    unit: str
    span: tuple[int, int]  # of the number (the whole phrase for a zero)
    anchor: int  # where the figure's phrase starts (for clause and year checks)
    gap: int


class Reader:
    """The figure candidates of one report's prose, with the sentence, clause and context checks they pass."""

    def __init__(self, prose: _Text, year: int | None, grammar: Grammar) -> None:
        self.g = grammar
        self.t = prose.text
        self.prose = prose
        self.year = year
        self.ends = [m.start() for m in _SENTENCE_END.finditer(self.t)]
        self.heading_at = [offset for offset, _ in prose.headings]

    def sentence(self, pos: int) -> tuple[int, int]:
        k = bisect.bisect_left(self.ends, pos)
        start = self.ends[k - 1] + 1 if k > 0 else 0
        end = self.ends[k] + 1 if k < len(self.ends) else len(self.t)
        return start, end

    def context(self, pos: int) -> str:
        start, end = self.sentence(pos)
        previous = self.sentence(start - 2)[0] if start >= 2 else start
        k = bisect.bisect_right(self.heading_at, pos) - 1
        heading = self.prose.headings[k][1] if k >= 0 else ""
        return heading + "\n" + self.t[previous:end]

    def clause_ok(self, kind: Kind, anchor: int, upto: int) -> bool:
        """The clause before ``anchor`` (where the figure's words start) holds no stop word and names no
        other year; the sentence up to ``upto`` (the number) no scope or subject stop; the context fits."""
        start = self.sentence(anchor)[0]
        head = self.t[start:anchor]
        cut = max((m.end() for m in _CLAUSE_END.finditer(head)), default=0)
        clause = head[cut:]
        if self.g.clause_stop.search(clause) or (kind.clause_stop and kind.clause_stop.search(clause)):
            return False
        if _JOINED.search(clause):
            return False  # 予以公开或部分公开59件: a count of two kinds together
        through = self.t[start:upto]
        previous = self.t[self.sentence(start - 2)[0] : start] if start >= 2 else ""
        if self.g.sentence_stop.search(previous + through):
            return False
        if kind.sentence_stop and kind.sentence_stop.search(through):
            return False
        if kind.off_context and kind.off_context.search(through):
            return False
        if self.year is not None:
            years = _YEAR.findall(head)
            if years and int(years[-1]) != self.year:
                return False
        return not (kind.context and not kind.context.search(self.context(anchor)))

    def gap_ok(self, gap: str, value: int) -> bool:
        gap = self.g.gap_allowed.sub("", gap)
        if self.g.gap_stop.search(gap) or self.g.any_cue.search(gap):
            return False
        return value == 0 or not self.g.gap_zero_only.search(gap)

    def hot(self, trigger: re.Pattern) -> list[tuple[int, int]]:
        """The sentences holding a trigger, neighbours merged: the only text the kinds are matched on."""
        spans: list[tuple[int, int]] = []
        for m in trigger.finditer(self.t):
            if spans and m.start() < spans[-1][1]:
                continue
            start, end = self.sentence(m.start())
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        return spans

    def candidates(self) -> list[Candidate]:
        found: list[Candidate] = []
        counts, zeros = self.hot(_HOT_COUNT), self.hot(_HOT_ZERO)
        for kind in self.g.kinds:
            for start, end in counts:
                if kind.before is not None:
                    for m in kind.before.finditer(self.t, start, end):
                        found.extend(self.before(kind, m))
                if kind.after is not None:
                    for m in kind.after.finditer(self.t, start, end):
                        found.extend(self.after(kind, m))
            for pattern in kind.zero:
                for start, end in zeros:
                    for m in pattern.finditer(self.t, start, end):
                        if self.clause_ok(kind, m.start(), m.end()):
                            found.append(Candidate(kind, 0, "件", m.span(), m.start(), 0))
        return found

    def before(self, kind: Kind, m: re.Match) -> list[Candidate]:
        group = "num" if m["num"] is not None else "bare"
        value = _cn_number(m[group])
        if value is None or not self.gap_ok(m["gap"], value):
            return []
        if kind.noun and not (kind.noun.search(m["gap"]) or kind.noun_after.match(self.t, m.end())):  # type: ignore[union-attr]
            return []
        if not self.clause_ok(kind, m.start(), m.start(group)):
            return []
        unit = (m["unit"] or "件") + (m["times"] or "")
        return [Candidate(kind, value, unit, m.span(group), m.start(), len(m["gap"]))]

    def after(self, kind: Kind, m: re.Match) -> list[Candidate]:
        value = _cn_number(m["num"])
        if value is None or not self.gap_ok(m["gap"], value):
            return []
        if _ABOUT.search(self.t[max(m.start() - 2, 0) : m.start()]):
            return []
        if not self.clause_ok(kind, m.start(), m.end()):
            return []
        return [Candidate(kind, value, m["unit"], m.span("num"), m.start(), len(m["gap"]))]

    def line_of(self, pos: int) -> int:
        k = bisect.bisect_right(self.prose.line_starts, pos) - 1
        return self.prose.line_index[max(k, 0)] if self.prose.line_index else 0
