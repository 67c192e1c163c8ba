"""Field accuracy of the extractor against labelled reports (NAME.gold.json beside NAME.<ext>)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.extraction.pipeline import Extractor
from nianbao.schema import load_schema


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


@dataclass
class EvalReport:
    overall: Tally = field(default_factory=Tally)
    non_zero: Tally = field(default_factory=Tally)
    meta: Tally = field(default_factory=Tally)
    by_section: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_document: dict[str, Tally] = field(default_factory=dict)
    wrong: list[dict] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.overall.accuracy

    def to_dict(self) -> dict:
        def tally(t: Tally) -> dict:
            return {"right": t.right, "total": t.total, "accuracy": round(t.accuracy, 6)}

        return {
            "overall": tally(self.overall),
            "non_zero": tally(self.non_zero),
            "meta": tally(self.meta),
            "by_section": {k: tally(v) for k, v in sorted(self.by_section.items())},
            "by_document": {k: tally(v) for k, v in self.by_document.items()},
            "wrong": self.wrong,
            "errors": self.errors,
        }


def same_value(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return abs(float(a) - float(b)) < 1e-6  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return a == b


def find_labelled(directory: Path) -> list[tuple[Path, Path]]:
    """(document, gold) pairs: the gold's "document" name, else the file sharing its stem."""
    pairs = []
    for gold in sorted(directory.rglob("*.gold.json")):
        stem = gold.name[: -len(".gold.json")]
        named = json.loads(gold.read_text("utf-8")).get("document")
        candidates = [gold.parent / named] if named else []
        candidates += sorted(p for p in gold.parent.glob(stem + ".*") if not p.name.endswith(".gold.json"))
        document = next((c for c in candidates if c.is_file()), None)
        if document is not None:
            pairs.append((document, gold))
    return pairs


def score_record(record: dict, gold: dict, report: EvalReport, name: str) -> None:
    schema = load_schema()
    tally = report.by_document.setdefault(name, Tally())
    if record["error"]:
        report.errors[name] = record["error"]
    for key in ("agency", "year", "format"):
        report.meta.add(record["meta"].get(key) == gold["meta"].get(key))
    for key, expected in gold["fields"].items():
        got = record["fields"].get(key)
        ok = key in record["fields"] and same_value(got, expected)
        for t in (report.overall, tally, report.by_section[schema.section_of(key)]):
            t.add(ok)
        if expected not in (None, 0):
            report.non_zero.add(ok)
        if not ok:
            report.wrong.append(
                {
                    "document": name,
                    "field": key,
                    "expected": expected,
                    "got": got,
                    "confidence": record["confidence"].get(key),
                }
            )


def evaluate_dir(
    directory: Path, model_path: str | None = None, extractor: Extractor | None = None
) -> EvalReport:
    extractor = extractor or Extractor.load(model_path)
    report = EvalReport()
    for document, gold_path in find_labelled(directory):
        gold = json.loads(gold_path.read_text("utf-8"))
        score_record(extractor.extract(document), gold, report, document.name)
    return report


def format_report(report: EvalReport, show_wrong: int = 50) -> str:
    lines = ["document                                  fields   right  accuracy"]
    for name, t in report.by_document.items():
        lines.append(f"{name[:40]:<40} {t.total:>7} {t.right:>7}  {t.accuracy:8.2%}")
    lines.append("")
    for section, t in sorted(report.by_section.items()):
        lines.append(f"section {section}: {t.right}/{t.total} = {t.accuracy:.2%}")
    lines.append(
        f"meta (agency, year, format): {report.meta.right}/{report.meta.total} = {report.meta.accuracy:.2%}"
    )
    lines.append(
        f"non-zero fields: {report.non_zero.right}/{report.non_zero.total} = {report.non_zero.accuracy:.2%}"
    )
    for name, error in report.errors.items():
        lines.append(f"error {name}: {error}")
    if report.wrong:
        lines.append(f"wrong fields ({len(report.wrong)}):")
        for w in report.wrong[:show_wrong]:
            lines.append(
                f"  {w['document']}  {w['field']}: expected {w['expected']}, got {w['got']} "
                f"(confidence {w['confidence']})"
            )
    lines.append(f"field accuracy: {report.overall.right}/{report.overall.total} = {report.accuracy:.2%}")
    return "\n".join(lines)
