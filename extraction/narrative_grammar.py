"""The grammar of the narrative figures: ``data/narrative.yaml`` (the figure kinds, their wordings and the
fields each may restate) compiled into regular expressions, once per process."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from nianbao.schema import load_schema

Reading = tuple[str, ...]  # field keys whose sum the figure restates
_NUMERAL = r"\d+|[零〇一二两三四五六七八九十百千]+"
_NUM = f"(?P<num>{_NUMERAL})"
_BARE = f"(?P<bare>{_NUMERAL})"


@dataclass(frozen=True)
class Kind:
    """One kind of figure (data/narrative.yaml's ``kinds``): its patterns, stops and readings."""

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
class Grammar:
    """Every kind, with the stops and cues shared by all of them."""

    kinds: tuple[Kind, ...]
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


def compile_grammar(raw: dict) -> Grammar:
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
            Kind(
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
    return Grammar(
        kinds=tuple(kinds),
        gap_stop=re.compile(_one_line(raw["gap_stop"])),
        gap_allowed=re.compile(raw["gap_allowed"]),
        gap_zero_only=re.compile(raw["gap_zero_only"]),
        any_cue=re.compile(_alternation(cues)),
        clause_stop=re.compile(_one_line(raw["clause_stop"])),
        sentence_stop=re.compile(raw["sentence_stop"]),
    )


@cache
def load_grammar() -> Grammar:
    """The grammar of data/narrative.yaml, compiled once per process (~0.1 s)."""
    text = resources.files("nianbao.data").joinpath("narrative.yaml").read_text("utf-8")
    return compile_grammar(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
