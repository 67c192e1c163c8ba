"""How far an extractor's records agree with the gold of a labelled corpus: a tally per field, section,
template format, input form and document, and each wrong field with why it is wrong.

Why beside the corpus and not in the evaluation: training scores a candidate model or decoder weighting on
labelled documents the same way the evaluation does, and must not depend on the evaluation to do it. The
evaluation (evaluation/evaluate.py) adds the analysis on top: calibration, confusions, the baseline.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from nianbao.evaluation.synth.corpus import Labelled
from nianbao.extraction.suffixes import IMAGE_SUFFIXES
from nianbao.models.calibration import ReviewPolicy, flag_kinds_by_field
from nianbao.progress import terminal_progress
from nianbao.schema import load_schema

if TYPE_CHECKING:
    from nianbao.extraction.record import FieldEvidence

FORM_OF_SUFFIX = {
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".txt": "txt",
    ".tsv": "txt",
    ".docx": "docx",
    ".pdf": "pdf",
    **dict.fromkeys(IMAGE_SUFFIXES, "scan"),  # page images are read as scans
}


class RecordSource(Protocol):
    """Anything that turns a file into a record: the trained extractor or the naive baseline."""

    def extract(self, path: str | Path) -> dict: ...


def same_value(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return abs(float(a) - float(b)) < 1e-6  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return a == b


def input_form(document: Path, gold: dict) -> str:
    """The form the synthesizer wrote (gold ``synth.form``), else what the file suffix says."""
    form = (gold.get("synth") or {}).get("form")
    suffix = document.suffix.lower()
    return form or FORM_OF_SUFFIX.get(suffix, suffix.lstrip(".") or "unknown")


def classify_mistake(
    got: object, expected: object, present: bool, gold_fields: dict
) -> tuple[str, str | None]:
    """Why a field is wrong, as (kind, true field).

    A wrong value equal to exactly one non-zero gold field of the same document names the
    field whose cell was filed here ("confusion"); zeros match too much to name anything.
    """
    if not present:
        return "absent", None  # the record has no such key: a failed document or the other format
    if got is None:
        return "missing", None
    matches = [k for k, v in gold_fields.items() if v not in (None, 0) and same_value(v, got)]
    if len(matches) == 1:
        return "confusion", matches[0]
    if matches:
        return "ambiguous", None
    return ("spurious" if expected is None else "misread"), None


@dataclass
class Tally:
    right: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.right += ok
        self.total += 1

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 1.0

    def to_dict(self) -> dict:
        return {"right": self.right, "total": self.total, "accuracy": round(self.accuracy, 6)}


def _tallies() -> defaultdict[str, Tally]:
    return defaultdict(Tally)


@dataclass
class Scorecard:
    overall: Tally = field(default_factory=Tally)
    non_zero: Tally = field(default_factory=Tally)
    meta: Tally = field(default_factory=Tally)
    by_section: dict[str, Tally] = field(default_factory=_tallies)
    by_field: dict[str, Tally] = field(default_factory=_tallies)
    by_format: dict[str, Tally] = field(default_factory=_tallies)
    by_form: dict[str, Tally] = field(default_factory=_tallies)
    by_document: dict[str, Tally] = field(default_factory=dict)
    documents: dict[str, dict] = field(default_factory=dict)  # name -> its form and gold format
    wrong: list[dict] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    # (confidence, correct, has a doubt flag) of each gold field
    scored: list[tuple[float, bool, bool]] = field(default_factory=list, repr=False)
    seconds: float = 0.0

    @property
    def accuracy(self) -> float:
        return self.overall.accuracy


S = TypeVar("S", bound=Scorecard)


def score_record(
    record: dict, gold: dict, report: Scorecard, name: str, evidence: dict[str, FieldEvidence] | None = None
) -> None:
    """Add one document's record to ``report``; ``evidence`` (key → FieldEvidence) explains mistakes."""
    schema, evidence, doubt = load_schema(), evidence or {}, ReviewPolicy().always
    flagged = flag_kinds_by_field(record)
    form, fmt = input_form(Path(name), gold), str(gold["meta"].get("format"))
    tally = report.by_document.setdefault(name, Tally())
    report.documents[name] = {"form": form, "format": fmt}
    if record["error"]:
        report.errors[name] = record["error"]
    for key in ("agency", "year", "format"):
        report.meta.add(record["meta"].get(key) == gold["meta"].get(key))
    for key, expected in gold["fields"].items():
        got = record["fields"].get(key)
        present = key in record["fields"]
        ok = present and same_value(got, expected)
        confidence = record["confidence"].get(key, 0.0)  # a field never produced is vouched for by nothing
        report.scored.append((confidence, ok, not doubt.isdisjoint(flagged.get(key, ()))))
        groups = (report.by_section[schema.section_of(key)], report.by_field[key])
        for t in (report.overall, tally, report.by_form[form], report.by_format[fmt], *groups):
            t.add(ok)
        if expected not in (None, 0):
            report.non_zero.add(ok)
        if not ok:
            kind, true_field = classify_mistake(got, expected, present, gold["fields"])
            cell = evidence.get(key)
            report.wrong.append(
                {
                    "document": name,
                    "field": key,
                    "expected": expected,
                    "got": got,
                    "confidence": record["confidence"].get(key),
                    "kind": kind,
                    "true_field": true_field,
                    "label": cell.label if cell else None,
                    "where": cell.where if cell else None,
                }
            )


def _extract(extractor: RecordSource, path: Path) -> tuple[dict, dict[str, FieldEvidence]]:
    """The record and its cell evidence; an extractor that keeps no evidence (the baseline) gives none."""
    with_evidence = getattr(extractor, "extract_with_evidence", None)
    return with_evidence(path) if with_evidence else (extractor.extract(path), {})


def score_documents(
    labelled: Sequence[Labelled],
    extractor: RecordSource,
    what: str = "scoring",
    kind: type[S] = Scorecard,  # type: ignore[assignment]
) -> S:
    """Run ``extractor`` over (document, name, gold) triples and score every record into a new ``kind``
    of scorecard; ``what`` names the progress bar."""
    report = kind()
    started = time.perf_counter()
    for document, name, gold in terminal_progress(labelled, len(labelled), what):
        record, evidence = _extract(extractor, document)
        score_record(record, gold, report, name, evidence)
    report.seconds = time.perf_counter() - started
    return report
