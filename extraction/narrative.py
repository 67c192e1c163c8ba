"""Narrative cross-check: figures the report's prose restates from its tables, compared with the fields.

Reports say in words what their tables print ("2023年共收到政府信息公开申请12件（其中上年结转2件）",
"办结36件，其中予以公开20件", "全年未发生政府信息公开行政复议、行政诉讼案件"). Reading those
sentences gives a second, independent source for a handful of key fields: where prose and table
agree, the fields are more likely right; where they disagree, one of them (often the table reading)
is wrong, which is flagged ``narrative_mismatch``.

Two pure functions, no knowledge of file formats (they take text lines, as ``Document.text()`` gives):

    figures = read_figures(lines, year=meta.year)       # after reading, any time
    check = cross_check(figures, validated.values, fmt)  # after validation
    record["flags"] += check.flags                        # one flag per disagreeing figure
    check.agreement  # {field key: +n agreeing figures, -n disagreeing} for the confidence calibrator
    check.unmatched  # figures whose fields are blank in the table: a row may have been lost

The figure kinds, their wordings and the fields each may restate (per template format, with explicit
alternatives where the wording is ambiguous) are data: ``data/narrative.yaml``. Matching is plain
compiled regular expressions built from it (no spaCy: the wordings are short fixed phrases around a
number, which patterns state exactly, with nothing to load but the YAML, compiled once per process in
~0.1 s; a report of ~200 lines then takes 2–3 ms, only sentences holding a count or a negation scanned).

A figure is read only when it is unambiguous enough: a count with a counting unit (件/宗/起…, never
条, %, 年/月/日), no change/share/breakdown word between phrase and number (同比, 较上年, 其中自然人…),
the clause not about another year or a comparison, and for application and appeal figures a sentence
(or the one before, or the heading) that speaks of applications / 信息公开.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml

from nianbao.extraction.meta import find_meta
from nianbao.schema import load_schema

Number = int | float
Reading = tuple[str, ...]  # field keys whose sum the figure restates

__all__ = ["NarrativeCheck", "NarrativeFigure", "cross_check", "read_figures"]


@dataclass(frozen=True)
class NarrativeFigure:
    """One figure stated in the prose.

    ``readings`` maps a template format ("2021", "2019") to the alternatives the figure may restate,
    each a tuple of field keys whose sum it is; the figure agrees with a table if any alternative does.
    ``line`` is the index (in the ``lines`` given to ``read_figures``) of the line holding the number.
    """

    kind: str  # a kind of data/narrative.yaml, e.g. "new", "received", "review"
    label: str  # its Chinese name, e.g. 新收申请
    value: int
    unit: str  # 件, 起 … as printed ("件" for a figure stated by 未/无/没有)
    line: int
    sentence: str  # the sentence, spaces removed
    readings: dict[str, tuple[Reading, ...]] = field(compare=False)

    def readings_for(self, fmt: str) -> tuple[Reading, ...]:
        return self.readings.get(fmt, ())


@dataclass
class NarrativeCheck:
    """The result of comparing figures with a record's fields.

    ``agreement``: per field, +1 for each figure one of whose readings names it and matches the table,
    -1 for each figure that names it and matches none of its readings (only printed fields counted).
    ``flags``: one ``narrative_mismatch`` flag per disagreeing figure, shaped like the identity flags of
    extraction/validation.py (``fields``, ``kind``, ``detail``) plus the ``line`` of the figure.
    ``unmatched``: figures that cannot be decided because fields they name are blank (null).
    """

    agreement: dict[str, int] = field(default_factory=dict)
    flags: list[dict] = field(default_factory=list)
    agreed: list[NarrativeFigure] = field(default_factory=list)
    mismatched: list[NarrativeFigure] = field(default_factory=list)
    unmatched: list[NarrativeFigure] = field(default_factory=list)


# ---------------------------------------------------------------- grammar (from data/narrative.yaml)
_CN_DIGIT = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_NUMERAL = r"\d+|[零〇一二两三四五六七八九十百千]+"
_NUM = f"(?P<num>{_NUMERAL})"
_BARE = f"(?P<bare>{_NUMERAL})"
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


@dataclass(frozen=True)
class _Kind:
    name: str
    zh: str
    priority: int
    context: re.Pattern | None  # needed near the figure
    off_context: re.Pattern | None  # not in the sentence up to the number
    noun: re.Pattern | None  # must be in the gap or follow the unit
    noun_after: re.Pattern | None
    before: re.Pattern | None  # phrase, gap, number, unit
    after: re.Pattern | None  # number, unit, gap, phrase
    zero: tuple[re.Pattern, ...]
    clause_stop: re.Pattern | None
    sentence_stop: re.Pattern | None
    readings: dict[str, tuple[Reading, ...]]


@dataclass(frozen=True)
class _Grammar:
    kinds: tuple[_Kind, ...]
    gap_stop: re.Pattern
    gap_allowed: re.Pattern
    gap_zero_only: re.Pattern
    any_cue: re.Pattern
    clause_stop: re.Pattern
    sentence_stop: re.Pattern


def _alternation(phrases: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in phrases)


def _expand(patterns: list[str], keys: list[str]) -> Reading:
    out: list[str] = []
    for pattern in patterns:
        found = [k for k in keys if fnmatch.fnmatchcase(k, pattern)]
        if not found:
            raise ValueError(f"data/narrative.yaml: {pattern!r} names no field")
        out.extend(k for k in found if k not in out)
    return tuple(out)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", "", text)


def compile_grammar(raw: dict) -> _Grammar:
    """Build the matcher from the parsed YAML (``load_grammar`` does it for data/narrative.yaml)."""
    schema = load_schema()
    excluded = raw["gap_chars_excluded"] + "\\n"
    default_units = raw["units"]
    not_after = raw["not_after_unit"]
    kinds = []
    cues: list[str] = []
    for priority, (name, spec) in enumerate(raw["kinds"].items()):
        units = spec.get("units", default_units)
        gap = int(spec.get("gap", 6))
        filler = f"(?P<gap>(?:[^{excluded}]|(?<=公民)、(?=法人)){{0,{gap}}}?)"
        # a count with its unit, or a bare number after 为/是/： standing alone ("案件数为0。")
        number = (
            f"(?<![\\d.．])(?:{_NUM}(?![\\d.．%％])(?P<unit>{units})(?P<times>次)?(?!{not_after})"
            f"|(?<=[为是:：]){_BARE}(?=[，,；;。！？!?\\n)）]|$))"
        )
        before = after = None
        if spec.get("before"):
            cue = _alternation(spec["before"])
            cues.append(cue)
            before = re.compile(f"(?P<cue>{cue}){filler}{number}")
        if spec.get("after"):
            cue = _alternation(spec["after"])
            cues.append(cue)
            after = re.compile(
                f"(?<![\\d.．]){_NUM}(?P<unit>{units})(?!{not_after})(?P<gap>[^{excluded}]{{0,4}}?)(?P<cue>{cue})"
            )
        context = raw["contexts"][spec["context"]] if spec.get("context") else {}
        readings = {
            fmt: tuple(_expand(alt, schema.field_keys(fmt)) for alt in alts)
            for fmt, alts in spec.get("readings", {}).items()
        }
        noun = spec.get("noun")
        kinds.append(
            _Kind(
                name=name,
                zh=spec["zh"],
                priority=priority,
                context=re.compile(context["needs"]) if context.get("needs") else None,
                off_context=re.compile(context["not"]) if context.get("not") else None,
                noun=re.compile(noun) if noun else None,
                noun_after=re.compile(f"[^{excluded}]{{0,10}}?(?:{noun})") if noun else None,
                before=before,
                after=after,
                zero=tuple(re.compile(z) for z in spec.get("zero", ())),
                clause_stop=re.compile(_one_line(spec["clause_stop"])) if spec.get("clause_stop") else None,
                sentence_stop=re.compile(spec["sentence_stop"]) if spec.get("sentence_stop") else None,
                readings=readings,
            )
        )
    return _Grammar(
        kinds=tuple(kinds),
        gap_stop=re.compile(_one_line(raw["gap_stop"])),
        gap_allowed=re.compile(raw["gap_allowed"]),
        gap_zero_only=re.compile(raw["gap_zero_only"]),
        any_cue=re.compile(_alternation(cues)),
        clause_stop=re.compile(_one_line(raw["clause_stop"])),
        sentence_stop=re.compile(raw["sentence_stop"]),
    )


@cache
def load_grammar() -> _Grammar:
    """The grammar of data/narrative.yaml, compiled once per process (~0.1 s)."""
    text = resources.files("nianbao.data").joinpath("narrative.yaml").read_text("utf-8")
    return compile_grammar(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


# ---------------------------------------------------------------- text
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


def _prose(lines: list[str]) -> _Text:
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


# ---------------------------------------------------------------- reading
@dataclass
class _Candidate:
    kind: _Kind
    value: int
    unit: str
    span: tuple[int, int]  # of the number (the whole phrase for a zero)
    anchor: int  # where the figure's phrase starts (for clause and year checks)
    gap: int


class _Reader:
    def __init__(self, prose: _Text, year: int | None, grammar: _Grammar) -> None:
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

    def clause_ok(self, kind: _Kind, anchor: int, upto: int) -> bool:
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

    def candidates(self) -> list[_Candidate]:
        found: list[_Candidate] = []
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
                            found.append(_Candidate(kind, 0, "件", m.span(), m.start(), 0))
        return found

    def before(self, kind: _Kind, m: re.Match) -> list[_Candidate]:
        group = "num" if m["num"] is not None else "bare"
        value = _cn_number(m[group])
        if value is None or not self.gap_ok(m["gap"], value):
            return []
        if kind.noun and not (kind.noun.search(m["gap"]) or kind.noun_after.match(self.t, m.end())):  # type: ignore[union-attr]
            return []
        if not self.clause_ok(kind, m.start(), m.start(group)):
            return []
        unit = (m["unit"] or "件") + (m["times"] or "")
        return [_Candidate(kind, value, unit, m.span(group), m.start(), len(m["gap"]))]

    def after(self, kind: _Kind, m: re.Match) -> list[_Candidate]:
        value = _cn_number(m["num"])
        if value is None or not self.gap_ok(m["gap"], value):
            return []
        if _ABOUT.search(self.t[max(m.start() - 2, 0) : m.start()]):
            return []
        if not self.clause_ok(kind, m.start(), m.end()):
            return []
        return [_Candidate(kind, value, m["unit"], m.span("num"), m.start(), len(m["gap"]))]

    def line_of(self, pos: int) -> int:
        k = bisect.bisect_right(self.prose.line_starts, pos) - 1
        return self.prose.line_index[max(k, 0)] if self.prose.line_index else 0


def read_figures(lines: list[str], year: int | None = None) -> list[NarrativeFigure]:
    """The figures the prose of a report states, in reading order.

    ``lines``: the report's text lines (``Document.text().splitlines()``); table rows in them are
    skipped, lines wrapped mid-sentence re-joined. ``year``: the year reported on (figures said of
    another year are dropped); pass the record's meta year, else it is read from the lines
    (``find_meta``). Each figure keeps its ``readings`` for every format: the caller picks with
    ``cross_check(…, fmt)``.
    """
    grammar = load_grammar()
    if year is None:
        year = find_meta(lines).year
    prose = _prose(lines)
    if not prose.text.strip():
        return []
    reader = _Reader(prose, year, grammar)
    taken: list[tuple[int, int]] = []
    chosen: list[_Candidate] = []
    for c in sorted(reader.candidates(), key=lambda c: (c.kind.priority, c.gap, c.span)):
        if any(c.span[0] < end and start < c.span[1] for start, end in taken):
            continue  # this number is another kind's (listed earlier) already
        taken.append(c.span)
        chosen.append(c)
    figures = []
    for c in sorted(chosen, key=lambda c: c.span):
        start, end = reader.sentence(c.span[0])
        figures.append(
            NarrativeFigure(
                kind=c.kind.name,
                label=c.kind.zh,
                value=c.value,
                unit=c.unit,
                line=reader.line_of(c.span[0]),
                sentence=reader.t[start:end].strip(),
                readings=c.kind.readings,
            )
        )
    return figures


# ---------------------------------------------------------------- checking
def _shown(keys: Reading) -> str:
    """s3.withheld.state_secret.total + … (8 keys) → s3.withheld.*.total"""
    groups: dict[tuple[str, str], list[str]] = {}
    for key in keys:
        parts = key.split(".")
        group = (".".join(parts[:2]), parts[-1]) if len(parts) == 4 else (key, "")
        groups.setdefault(group, []).append(key)
    names = [
        f"{prefix}.*.{column}" if len(members) > 1 else members[0]
        for (prefix, column), members in groups.items()
    ]
    return " + ".join(names)


def _fmt(value: Number) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class _Outcome:
    status: str  # "match", "mismatch" or "open"
    printed: tuple[str, ...]
    text: str


def _compare(reading: Reading, values: dict[str, Number | None], value: int) -> _Outcome:
    printed = tuple(k for k in reading if values.get(k) is not None)
    total = sum(values[k] for k in printed)  # type: ignore[misc]
    blanks = len(reading) - len(printed)
    shown = _shown(reading)
    if not printed:
        return _Outcome("open", printed, f"{shown} 空白")
    if blanks == 0:
        same = abs(total - value) < 1e-6
        return _Outcome("match" if same else "mismatch", printed, f"{shown} = {_fmt(total)}")
    # blank cells can only add to a sum of counts
    text = f"{shown} ≥ {_fmt(total)} ({blanks} 空白)"
    if abs(total - value) < 1e-6:
        return _Outcome("match", printed, text)
    return _Outcome("mismatch" if total > value else "open", printed, text)


def cross_check(figures: list[NarrativeFigure], values: dict[str, Number | None], fmt: str) -> NarrativeCheck:
    """Compare ``figures`` (``read_figures``) with a record's ``values`` of template ``fmt``.

    A figure agrees when any of its readings equals the table (blank cells of a partly printed sum
    may be 0); it disagrees only when every reading is printed enough to exclude it; otherwise it is
    ``unmatched``. The same kind and value stated twice counts once. Figures with no reading for
    ``fmt`` are ignored.
    """
    check = NarrativeCheck()
    seen: set[tuple[str, int]] = set()
    for figure in figures:
        alternatives = figure.readings_for(fmt)
        if not alternatives or (figure.kind, figure.value) in seen:
            continue
        seen.add((figure.kind, figure.value))
        outcomes = [_compare(alt, values, figure.value) for alt in alternatives]
        hit = next((o for o in outcomes if o.status == "match"), None)
        if hit is not None:
            check.agreed.append(figure)
            for key in hit.printed:
                check.agreement[key] = check.agreement.get(key, 0) + 1
        elif any(o.status == "open" for o in outcomes):
            check.unmatched.append(figure)
        else:
            check.mismatched.append(figure)
            keys = list(dict.fromkeys(k for o in outcomes for k in o.printed))
            for key in keys:
                check.agreement[key] = check.agreement.get(key, 0) - 1
            check.flags.append(
                {
                    "fields": keys,
                    "kind": "narrative_mismatch",
                    "detail": f"正文: {figure.label} {figure.value} {figure.unit}; 表格 "
                    + " / ".join(o.text for o in outcomes),
                    "line": figure.line,
                }
            )
    return check
