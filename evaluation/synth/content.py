"""What a synthesized report says: its agency, template and year, the numbers it prints and its gold.

Each report is drawn from one ``random.Random(seed)``: first values that satisfy the schema's identities,
then realistic deviations (nulls, omitted blocks, a printed total that disagrees, the old （六） row), then
each number's printed text. The content draws come before any layout or form draw, so one seed gives the
same gold in every form. A :class:`Doc` is built once from these draws; layout and rendering then go on
drawing from its rng.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from nianbao.evaluation.synth.wording import (
    ARTICLE,
    CITIES,
    COUNTIES,
    FULLWIDTH,
    LOCAL_DEPTS,
    NULL_TOKENS,
    PROV_DEPTS,
    PROVINCES,
    TOWNS,
    Style,
    Wording,
    draw_style,
)
from nianbao.schema import Schema, Section, load_schema

YEARS = {"2021": (2021, 2025), "2019": (2019, 2020)}
LEVELS = ("province", "city", "county", "bureau", "street", "township")

Value = int | float | None

OUTCOME_WEIGHT = {
    "granted": 6,
    "partial": 1.5,
    "unavailable.not_held": 3,
    "other.other": 1,
    "other": 1.2,
    "not_processed.duplicate": 0.6,
    "not_processed.petition": 0.6,
    "withheld.third_party": 0.4,
    "withheld.process": 0.4,
    "unavailable.needs_creation": 0.6,
    "unavailable.unclear": 0.5,
    "other.no_correction": 0.6,
}
S2_SCALE = {
    "rules": 2,
    "normative": 6,
    "licensing": 60,
    "other_services": 40,
    "penalty": 30,
    "coercion": 4,
    "fees": 8,
    "procurement": 12,
}


@dataclass(frozen=True)
class Deviations:
    """Where a report departs from a clean template, and the values and gold that follow from it."""

    values: dict[str, int | float]  # what is printed as a number
    gold: dict[str, Value]
    nulls: dict[str, str]  # key -> printed null token
    omitted: frozenset[str]  # s2 articles left out
    dropped: frozenset[str]  # s3 rows left out, or "s4" for the whole table
    old_other: bool  # the old single （六） row instead of its sub-rows
    inconsistent: bool  # one printed value breaks an identity


@dataclass(frozen=True)
class Doc:
    """One drawn report. Layout and rendering keep drawing from ``rng`` after the content draws."""

    rng: random.Random
    schema: Schema
    form: str  # the rendering it is drawn for (a form or a text style)
    fmt: str
    year: int
    agency: str
    level: str
    profile: str
    words: Wording
    values: dict[str, int | float]
    gold: dict[str, Value]
    nulls: dict[str, str]
    printed: dict[str, str]  # key -> its cell text
    omitted: frozenset[str]
    dropped: frozenset[str]
    old_other: bool
    inconsistent: bool
    seed: int  # a form with an rng of its own (mdconv) derives it from this
    look: str = "ruled"  # how a text PDF draws its tables (render_pdf.PDF_LOOKS)
    printed_labels: list[tuple[str, str]] = field(default_factory=list)  # (text as printed, concept)

    @property
    def style(self) -> Style:
        return self.words.style

    def named(self, concept: str, text: str) -> str:
        """Note a printed label with the concept it names (training examples), and return it."""
        self.printed_labels.append((text, concept))
        return text

    def sec(self, name: str) -> Section:
        return self.schema.sections[name]


def draw(seed: int, rendering: str, fmt: str | None = None, look: str = "ruled") -> Doc:
    """A report's content: agency, values, deviations and printed cell texts, all from one seed."""
    rng, schema = random.Random(seed), load_schema()
    drawn = "2019" if rng.random() < 0.25 else "2021"
    fmt = fmt or drawn
    if fmt not in schema.formats:
        raise ValueError(f"unknown format {fmt!r}")
    agency, level = draw_agency(rng)
    year = rng.randint(*YEARS[fmt])
    profile = rng.choices(["zero", "small", "big"], [40, 45, 15])[0]
    style = draw_style(rng, profile == "big")
    dev = deviate(rng, schema, fmt, draw_values(rng, schema, fmt, level, profile))
    printed = {
        k: dev.nulls[k] if k in dev.nulls else number_text(rng, schema, style, k, v)
        for k, v in dev.values.items()
    }
    return Doc(
        rng=rng,
        schema=schema,
        form=rendering,
        fmt=fmt,
        year=year,
        agency=agency,
        level=level,
        profile=profile,
        words=Wording(rng, style),
        values=dev.values,
        gold=dev.gold,
        nulls=dev.nulls,
        printed=printed,
        omitted=dev.omitted,
        dropped=dev.dropped,
        old_other=dev.old_other,
        inconsistent=dev.inconsistent,
        seed=seed,
        look=look,
    )


def draw_agency(rng: random.Random) -> tuple[str, str]:
    """An agency of one of the LEVELS: a people's government, one of its bureaus, or a street/town office."""
    level = rng.choices(LEVELS, [1, 2, 3, 6, 2, 2])[0]
    if level in ("province", "city", "county"):
        place = rng.choice({"province": PROVINCES, "city": CITIES, "county": COUNTIES}[level])
        return place + rng.choice(
            ["人民政府", "人民政府", "人民政府办公厅" if level == "province" else "人民政府办公室"]
        ), level
    county = rng.choice(COUNTIES)
    if level == "bureau":
        if rng.random() < 0.3:
            return rng.choice(PROVINCES) + rng.choice(PROV_DEPTS), level
        return rng.choice([*CITIES, county]) + rng.choice(LOCAL_DEPTS[2:]), level
    kind = "街道办事处" if level == "street" else "镇人民政府"
    return county + rng.choice(TOWNS) + kind, level


# ---------------------------------------------------------------- values
def _count(rng: random.Random, scale: int) -> int:
    return 0 if scale == 0 or rng.random() < 0.4 else rng.randint(0, scale)


def _money(rng: random.Random, scale: int) -> float:
    if scale == 0 or rng.random() < 0.6:
        return 0.0
    places = rng.choice([0, 1, 2, 2, 3, 4])
    return round(rng.randint(1, 2000 * scale) / 100, places)


def draw_values(
    rng: random.Random, schema: Schema, fmt: str, level: str, profile: str
) -> dict[str, int | float]:
    """Every printed number of a clean report: each section's values hold its identities."""
    sections = schema.sections
    return {
        **_s2_values(rng, schema, sections["s2"], fmt, level, profile == "big"),
        **_s3_values(rng, sections["s3"], fmt, profile),
        **_s4_values(rng, sections["s4"], fmt, profile),
    }


def _s2_values(
    rng: random.Random, schema: Schema, sec: Section, fmt: str, level: str, big: bool
) -> dict[str, int | float]:
    values: dict[str, int | float] = {}
    for row in sec.row_order(fmt):
        scale = S2_SCALE.get(row, 5) * (40 if big else 1)
        if row == "rules" and level not in ("province", "city", "bureau"):
            scale = 0
        made = _count(rng, scale)
        for col in sec.columns_of(fmt, row):
            key = sec.key(row, col)
            if schema.is_decimal(key):
                v: int | float = _money(rng, scale)
            elif col in ("new", "made", "prev_items"):
                v = made
            elif col in ("repealed", "published"):
                v = rng.randint(0, made) if col == "repealed" else made - rng.randint(0, min(made, 1))
            elif col in ("in_force", "total"):
                v = made + _count(rng, scale * 8)
            elif col == "change":
                v = rng.randint(-min(made, 4), 4) if scale else 0
            else:
                v = _count(rng, scale)
            values[key] = v
    return values


def _s3_values(rng: random.Random, sec: Section, fmt: str, profile: str) -> dict[str, int | float]:
    """Per applicant column: outcomes, then balance; the total column sums the applicants."""
    values: dict[str, int | float] = {}
    rows = sec.row_order(fmt)
    cols = sec.columns_of(fmt, rows[0])
    applicants = [c for c in cols if c != "total"]
    outcomes = [r for r in rows if r not in ("new", "carried_over", "total", "carried_forward")]
    weights = [OUTCOME_WEIGHT.get(r, 0.15) for r in outcomes]
    big = profile == "big"
    for i, col in enumerate(applicants):  # the template's first applicant column is 自然人
        n = 0
        if profile != "zero" and rng.random() < (0.9 if i == 0 else 0.25):
            n = rng.randint(40, 2500 if i == 0 else 200) if big else rng.randint(1, 8)
        counts = Counter(rng.choices(outcomes, weights, k=n))
        total = sum(counts.values())
        carried = [rng.randint(0, min(total, 60 if big else 3)) if rng.random() < 0.3 else 0 for _ in "ab"]
        flow = {
            "carried_over": carried[0],
            "carried_forward": carried[1],
            "total": total,
            "new": total + carried[1] - carried[0],
        }
        for row in rows:
            values[sec.key(row, col)] = flow.get(row, counts[row])
    for row in rows:
        values[sec.key(row, "total")] = sum(values[sec.key(row, c)] for c in applicants)
    return values


def _s4_values(rng: random.Random, sec: Section, fmt: str, profile: str) -> dict[str, int | float]:
    values: dict[str, int | float] = {}
    for row in sec.row_order(fmt):
        active = profile != "zero" and rng.random() < 0.35
        parts = [c for c in sec.columns_of(fmt, row) if c != "total"]
        vals = {c: rng.randint(0, 12 if profile == "big" else 2) if active else 0 for c in parts}
        values.update({sec.key(row, c): v for c, v in vals.items()})
        values[sec.key(row, "total")] = sum(vals.values())
    return values


# ---------------------------------------------------------------- deviations
def deviate(rng: random.Random, schema: Schema, fmt: str, clean: dict[str, int | float]) -> Deviations:
    """Old （六） row, a missing s2 block, null cells, a printed total that disagrees — each drawn once."""
    s2, s3 = schema.sections["s2"], schema.sections["s3"]
    values = dict(clean)
    gold: dict[str, Value] = {k: values[k] for k in schema.field_keys(fmt)}
    omitted: set[str] = set()
    dropped: set[str] = set()
    old_other = inconsistent = False
    sub_rows = [r for r in s3.row_order(fmt) if r.startswith("other.")]
    if rng.random() < 0.05 and sub_rows:
        old_other = True
        for col in s3.columns_of(fmt, sub_rows[0]):
            values[s3.key("other", col)] = sum(values[s3.key(r, col)] for r in sub_rows)
            gold.update({s3.key(r, col): None for r in sub_rows})
    if rng.random() < 0.08:
        omitted.add(rng.choice(sorted({ARTICLE[r] for r in s2.row_order(fmt)})))
        gold.update({s2.key(r, c): None for r, c in s2.cells[fmt] if ARTICLE[r] in omitted})
    if rng.random() < 0.04:  # an s3 outcome row or two left out of the table
        rows = [r for r in s3.row_order(fmt) if r.startswith(("withheld.", "unavailable.", "not_processed."))]
        dropped.update(rng.sample(rows, rng.randint(1, 2)))
    if rng.random() < 0.03:  # the litigation table left out altogether
        dropped.add("s4")
    gold.update({k: None for k in gold if schema.section_of(k) in dropped or row_of(k) in dropped})
    roll, printed = rng.random(), [k for k in values if gold.get(k, 0) is not None]
    nulls: dict[str, str] = {}
    if roll < 0.04:  # an agency that leaves every zero of s3/s4 blank
        nulls = {k: "" for k in printed if schema.section_of(k) in ("s3", "s4") and values[k] == 0}
    elif roll < 0.10:
        token = rng.choice(NULL_TOKENS)
        nulls = {k: token for k in rng.sample([k for k in printed if k in gold], rng.randint(1, 6))}
    gold.update({k: None for k in nulls if k in gold})
    if rng.random() < 0.05:
        lhs = sorted({k for i in schema.identities[fmt] for k in i.lhs if gold.get(k) is not None})
        if lhs:
            key = rng.choice(lhs)
            old = int(values[key])
            values[key] = gold[key] = 0 if old and rng.random() < 0.5 else old + rng.choice([1, 2, 10])
            inconsistent = True
    return Deviations(values, gold, nulls, frozenset(omitted), frozenset(dropped), old_other, inconsistent)


def row_of(key: str) -> str:
    """The row part of a field key: "s3.other.fee.total" -> "other.fee"."""
    return key.split(".", 1)[1].rsplit(".", 1)[0]


def number_text(rng: random.Random, schema: Schema, style: Style, key: str, v: int | float) -> str:
    """A value as the agency prints it: places, thousands separators, a sign, 元 for 万元, full width."""
    if schema.is_decimal(key):
        if style.yuan and v:
            return f"{round(v * 10000)}元"
        places = len(repr(float(v)).split(".")[1].rstrip("0"))
        return f"{v:.{places + (places < 4 and rng.random() < 0.2)}f}"
    text = f"{v:,}" if style.sep and abs(v) >= 1000 and rng.random() < 0.8 else str(v)
    if key.endswith(".change") and v > 0 and style.signed:
        text = "+" + text
    return text.translate(FULLWIDTH) if style.fullwidth else text
