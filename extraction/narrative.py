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

from dataclasses import dataclass, field

from nianbao.extraction.meta import find_meta
from nianbao.extraction.narrative_grammar import Reading, load_grammar
from nianbao.extraction.narrative_reader import Candidate, Reader, prose_of
from nianbao.extraction.record import Flag

Number = int | float

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
    flags: list[Flag] = field(default_factory=list)
    agreed: list[NarrativeFigure] = field(default_factory=list)
    mismatched: list[NarrativeFigure] = field(default_factory=list)
    unmatched: list[NarrativeFigure] = field(default_factory=list)


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
    prose = prose_of(lines)
    if not prose.text.strip():
        return []
    reader = Reader(prose, year, grammar)
    taken: list[tuple[int, int]] = []
    chosen: list[Candidate] = []
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
                Flag.narrative_mismatch(
                    keys,
                    f"正文: {figure.label} {figure.value} {figure.unit}; 表格 "
                    + " / ".join(o.text for o in outcomes),
                    figure.line,
                )
            )
    return check
