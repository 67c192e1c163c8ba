"""Field accuracy of an extractor against labelled reports (NAME.gold.json beside NAME.<ext>).

Accuracy is cut by field, section, template format and input form, mistakes are explained from
the cell evidence (which printed label was filed under the wrong field), the confidences are
checked for calibration, and the naive baseline is scored on the same documents beside it.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from nianbao.errors import UserError
from nianbao.extraction.mapping import CellEvidence
from nianbao.extraction.pipeline import Extractor
from nianbao.extraction.readers.image import IMAGE_SUFFIXES
from nianbao.models import review_policy
from nianbao.models.calibration import ReviewPolicy, flag_kinds_by_field
from nianbao.schema import load_schema

if TYPE_CHECKING:
    from tqdm import tqdm

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
RELIABILITY_BINS = 10
WORST_DOCUMENTS = 20
REVIEW_TARGET = 0.999  # accuracy the fields kept without review must reach
T = TypeVar("T")


class RecordSource(Protocol):
    """Anything that turns a file into a record: the trained extractor or the naive baseline."""

    def extract(self, path: str | Path) -> dict: ...


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


def _listed(values: np.ndarray) -> list[float | None]:
    """JSON has no NaN: an empty bin or an empty coverage set becomes null."""
    return [None if math.isnan(v) else round(float(v), 6) for v in values]


@dataclass(frozen=True)
class CoverageCurve:
    """Keep only fields with confidence ≥ t: how many are kept (coverage) and how many of those are right."""

    thresholds: np.ndarray
    coverage: np.ndarray
    accuracy: np.ndarray  # NaN where nothing is kept

    def to_dict(self) -> dict:
        return {
            "thresholds": _listed(self.thresholds),
            "coverage": _listed(self.coverage),
            "accuracy": _listed(self.accuracy),
        }


@dataclass(frozen=True)
class Reliability:
    """Equal-width confidence bins: mean confidence against accuracy, and how many fields each holds."""

    lower: np.ndarray
    upper: np.ndarray
    confidence: np.ndarray  # NaN for an empty bin
    accuracy: np.ndarray
    count: np.ndarray

    @property
    def ece(self) -> float:
        """Expected calibration error: the count-weighted gap |accuracy − confidence| over the bins."""
        filled = self.count > 0
        if not filled.any():
            return 0.0
        gaps = np.abs(self.accuracy[filled] - self.confidence[filled])
        return float(np.average(gaps, weights=self.count[filled]))

    def to_dict(self) -> dict:
        return {
            "lower": _listed(self.lower),
            "upper": _listed(self.upper),
            "confidence": _listed(self.confidence),
            "accuracy": _listed(self.accuracy),
            "count": [int(c) for c in self.count],
            "ece": round(self.ece, 6),
        }


def coverage_curve(
    confidence: np.ndarray, correct: np.ndarray, thresholds: np.ndarray | None = None
) -> CoverageCurve:
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, bool)
    thresholds = np.linspace(0.0, 1.0, 101) if thresholds is None else np.asarray(thresholds, float)
    kept = confidence[None, :] >= thresholds[:, None]
    n_kept = kept.sum(axis=1)
    right = (kept & correct[None, :]).sum(axis=1)
    coverage = n_kept / len(confidence) if len(confidence) else np.zeros(len(thresholds))
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(n_kept > 0, right / n_kept, np.nan)
    return CoverageCurve(thresholds, coverage, accuracy)


@dataclass(frozen=True)
class ReviewPoint:
    """The least review that leaves ``target`` accuracy on the rest: every field with confidence below
    ``threshold`` goes to a reviewer (``share`` of all fields); the others are kept as extracted."""

    target: float
    threshold: float
    share: float
    kept_accuracy: float

    def to_dict(self) -> dict:
        return {k: round(v, 6) for k, v in vars(self).items()}


def review_needed(
    confidence: np.ndarray, correct: np.ndarray, target: float = REVIEW_TARGET, z: float = 0.0
) -> ReviewPoint:
    """Cut at confidence values only (fields of equal confidence are sent or kept together, as a threshold
    does), keeping as many fields as the target allows.

    With ``z`` > 0 the kept fields' accuracy must reach the target at its Wilson lower bound (z = 1.645:
    one-sided 95 %), so a policy chosen on one set still holds on the next rather than just on this one.
    """
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, bool)
    if not len(confidence):
        return ReviewPoint(target, 0.0, 0.0, 1.0)
    order = np.argsort(-confidence, kind="stable")
    ranked, right = confidence[order], np.cumsum(correct[order])
    ends = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])  # last index of each tie group
    accuracy = wilson_lower(right[ends], ends + 1, z)
    good = np.flatnonzero(accuracy >= target)
    if not len(good):
        return ReviewPoint(target, float(np.nextafter(ranked[0], np.inf)), 1.0, 1.0)
    end = ends[good[-1]]
    kept = end + 1
    return ReviewPoint(target, float(ranked[end]), 1 - kept / len(ranked), float(right[end] / kept))


def wilson_lower(successes: np.ndarray, trials: np.ndarray, z: float) -> np.ndarray:
    """The Wilson score interval's lower end for a rate of ``successes`` in ``trials`` (the rate at z=0)."""
    n, p = np.asarray(trials, float), np.asarray(successes, float) / np.asarray(trials, float)
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = RELIABILITY_BINS) -> Reliability:
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip((confidence * bins).astype(int), 0, bins - 1)  # confidence 1.0 falls in the last bin
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, confidence, minlength=bins) / count
        accuracy = np.bincount(index, correct, minlength=bins) / count
    return Reliability(edges[:-1], edges[1:], mean_confidence, accuracy, count)


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = RELIABILITY_BINS
) -> float:
    return reliability(confidence, correct, bins).ece


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
class EvalReport:
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

    def calibration_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.scored:
            return np.zeros(0), np.zeros(0, bool)
        confidence, correct, _ = zip(*self.scored, strict=True)
        return np.array(confidence, float), np.array(correct, bool)

    def coverage(self, thresholds: np.ndarray | None = None) -> CoverageCurve:
        return coverage_curve(*self.calibration_arrays(), thresholds)

    def reliability(self) -> Reliability:
        return reliability(*self.calibration_arrays())

    def review(self, target: float = REVIEW_TARGET) -> ReviewPoint:
        return review_needed(*self.calibration_arrays(), target)

    def under_policy(self, policy: ReviewPolicy) -> ReviewPoint:
        """What ``policy`` sends to review here (below its threshold or flagged) and how right the rest is."""
        confidence, correct = self.calibration_arrays()
        kept = policy.auto_accepted(confidence, [d for _, _, d in self.scored])
        kept_accuracy = float(correct[kept].mean()) if kept.any() else 1.0
        share = float(1 - kept.mean()) if len(kept) else 0.0
        return ReviewPoint(REVIEW_TARGET, policy.threshold, share, kept_accuracy)

    def mistake_kinds(self) -> dict[str, int]:
        return dict(Counter(w["kind"] for w in self.wrong).most_common())

    def confusions(self) -> list[dict]:
        """true field → field it was filed under, most frequent first, with the printed labels seen."""
        pairs: Counter[tuple[str, str]] = Counter()
        labels: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for w in self.wrong:
            if w["kind"] == "confusion":
                pair = (w["true_field"], w["field"])
                pairs[pair] += 1
                if w["label"]:
                    labels[pair][w["label"]] += 1
        return [
            {"true_field": true, "field": got, "count": n, "labels": dict(labels[true, got].most_common(3))}
            for (true, got), n in sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
        ]

    def worst_documents(self, n: int = WORST_DOCUMENTS) -> list[dict]:
        """The n lowest-accuracy documents that have anything wrong, each with its wrong fields."""
        wrong_of: defaultdict[str, list[dict]] = defaultdict(list)
        for w in self.wrong:
            wrong_of[w["document"]].append(w)
        flawed = [name for name, t in self.by_document.items() if t.right < t.total or name in self.errors]
        flawed.sort(key=lambda name: (self.by_document[name].accuracy, name))
        return [
            {
                "document": name,
                **self.documents[name],
                **self.by_document[name].to_dict(),
                "error": self.errors.get(name),
                "wrong": wrong_of[name],
            }
            for name in flawed[:n]
        ]

    def to_dict(self) -> dict:
        def tallies(group: dict[str, Tally]) -> dict:
            return {k: t.to_dict() for k, t in sorted(group.items())}

        rel = self.reliability()
        return {
            "overall": self.overall.to_dict(),
            "non_zero": self.non_zero.to_dict(),
            "meta": self.meta.to_dict(),
            "ece": round(rel.ece, 6),
            "seconds": round(self.seconds, 3),
            "by_form": tallies(self.by_form),
            "by_format": tallies(self.by_format),
            "by_section": tallies(self.by_section),
            "by_field": tallies(self.by_field),
            "by_document": {k: {**self.documents[k], **t.to_dict()} for k, t in self.by_document.items()},
            "mistake_kinds": self.mistake_kinds(),
            "confusions": self.confusions(),
            "worst_documents": self.worst_documents(),
            "calibration": {
                "coverage": self.coverage().to_dict(),
                "reliability": rel.to_dict(),
                "review": self.review().to_dict(),
                "policy": self.under_policy(review_policy()).to_dict(),
            },
            "wrong": self.wrong,
            "errors": self.errors,
        }


def score_record(
    record: dict, gold: dict, report: EvalReport, name: str, evidence: dict[str, CellEvidence] | None = None
) -> None:
    """Add one document's record to ``report``; ``evidence`` (key → CellEvidence) explains mistakes."""
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


def _extract(extractor: RecordSource, path: Path) -> tuple[dict, dict[str, CellEvidence]]:
    """The record and its cell evidence; an extractor that keeps no evidence (the baseline) gives none."""
    with_evidence = getattr(extractor, "extract_with_evidence", None)
    return with_evidence(path) if with_evidence else (extractor.extract(path), {})


def terminal_progress(items: Iterable[T] | None, total: int, what: str, unit: str = "doc") -> tqdm:
    """A tqdm bar over ``items`` (None: updated by hand) on standard error when that is a terminal (an
    evaluation or a training run takes minutes), and nothing otherwise (tqdm's ``disable=None``): a log or
    a pipe gets the report alone. The bar goes when done, so nested bars (training's stages, then its
    scorings) leave no trace."""
    from tqdm import tqdm

    return tqdm(items, total=total, desc=what, unit=unit, disable=None, leave=False)


def score_documents(
    labelled: list[tuple[Path, str, dict]], extractor: RecordSource, what: str = "scoring"
) -> EvalReport:
    """Run ``extractor`` over (document, name, gold) triples and score every record; ``what`` names the
    progress bar."""
    report = EvalReport()
    started = time.perf_counter()
    for document, name, gold in terminal_progress(labelled, len(labelled), what):
        record, evidence = _extract(extractor, document)
        score_record(record, gold, report, name, evidence)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class Evaluation:
    """The trained extractor's report and, when asked for, the naive baseline's on the same documents."""

    directory: Path
    trained: EvalReport
    baseline: EvalReport | None
    model_card: dict

    @property
    def n_documents(self) -> int:
        return len(self.trained.by_document)

    def params(self) -> dict[str, str]:
        return {
            "directory": str(self.directory),
            "n_documents": str(self.n_documents),
            "model_version": str(self.model_card.get("nianbao_version")),
            "model_seed": str(self.model_card.get("seed")),
            "baseline": str(self.baseline is not None),
        }

    def metrics(self) -> dict[str, float]:
        """Flat numbers for experiment tracking; the baseline's carry a ``baseline_`` prefix."""
        found = _metrics(self.trained)
        if self.baseline is not None:
            found |= {f"baseline_{k}": v for k, v in _metrics(self.baseline).items()}
            found["accuracy_over_baseline"] = self.trained.accuracy - self.baseline.accuracy
        return found

    def difference(self) -> dict:
        """Trained minus baseline accuracy, overall and per form, format and section."""
        if self.baseline is None:
            return {}
        t, b = self.trained, self.baseline

        def gaps(mine: dict[str, Tally], theirs: dict[str, Tally]) -> dict[str, float]:
            return {k: round(mine[k].accuracy - theirs[k].accuracy, 6) for k in sorted(mine.keys() & theirs)}

        return {
            "overall": round(t.accuracy - b.accuracy, 6),
            "non_zero": round(t.non_zero.accuracy - b.non_zero.accuracy, 6),
            "meta": round(t.meta.accuracy - b.meta.accuracy, 6),
            "by_form": gaps(t.by_form, b.by_form),
            "by_format": gaps(t.by_format, b.by_format),
            "by_section": gaps(t.by_section, b.by_section),
        }

    def to_dict(self) -> dict:
        return {
            "directory": str(self.directory),
            "n_documents": self.n_documents,
            "model_card": self.model_card,
            "trained": self.trained.to_dict(),
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "difference": self.difference(),
        }


def _metrics(report: EvalReport) -> dict[str, float]:
    found = {
        "accuracy": report.accuracy,
        "non_zero_accuracy": report.non_zero.accuracy,
        "meta_accuracy": report.meta.accuracy,
        "ece": report.reliability().ece,
        "review_share": report.review().share,
        "errors": float(len(report.errors)),
        "seconds": report.seconds,
    }
    groups = {"": report.by_form, "section_": report.by_section, "format_": report.by_format}
    for prefix, group in groups.items():
        found |= {f"accuracy_{prefix}{k}": t.accuracy for k, t in group.items()}
    return found


def load_labelled(directory: Path) -> list[tuple[Path, str, dict]]:
    """(document, name relative to ``directory``, gold) for every labelled document under it."""
    return [
        (document, document.relative_to(directory).as_posix(), json.loads(gold.read_text("utf-8")))
        for document, gold in find_labelled(directory)
    ]


def evaluate(
    directory: Path,
    model_path: str | None = None,
    extractor: Extractor | None = None,
    baseline: RecordSource | bool = True,
) -> Evaluation:
    """Score the trained extractor and (``baseline=True`` or a given one) the naive baseline. A directory
    without labelled documents is E_NO_GOLD: 0 of 0 fields would read as 100 % and pass any gate."""
    directory = Path(directory)
    labelled = load_labelled(directory)
    if not labelled:
        raise UserError("E_NO_GOLD", directory=directory)
    extractor = extractor or Extractor.load(model_path)
    if baseline is True:
        from nianbao.evaluation.baseline import NaiveExtractor

        baseline = NaiveExtractor.load()
    return Evaluation(
        directory,
        score_documents(labelled, extractor, "trained"),
        score_documents(labelled, baseline, "baseline") if baseline else None,
        json.loads(json.dumps(getattr(extractor, "model_card", {}), default=str)),  # as report.json keeps it
    )


def evaluate_dir(
    directory: Path, model_path: str | None = None, extractor: Extractor | None = None
) -> EvalReport:
    return evaluate(directory, model_path, extractor, baseline=False).trained


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
            why = f"{w['kind']}, true field {w['true_field']}" if w["true_field"] else w["kind"]
            label = f", label {w['label']!r} at {w['where']}" if w["label"] else ""
            lines.append(
                f"  {w['document']}  {w['field']}: expected {w['expected']}, got {w['got']} "
                f"(confidence {w['confidence']}; {why}{label})"
            )
    lines.append(f"field accuracy: {report.overall.right}/{report.overall.total} = {report.accuracy:.2%}")
    review, policy = report.review(), report.under_policy(review_policy())
    lines.append(f"calibration: ECE {report.reliability().ece:.4f}")
    lines.append(
        f"review: {review.share:.2%} of fields (confidence < {review.threshold:.3f}) to a reviewer leaves "
        f"{review.kept_accuracy:.3%} right on the rest (target {review.target:.1%}; the least review here)"
    )
    lines.append(
        f"review policy in force: {policy.share:.2%} of fields (confidence < {policy.threshold:.3f} "
        f"or a doubt flag) to a reviewer, {policy.kept_accuracy:.3%} right on the rest"
    )
    return "\n".join(lines)


def format_forms(evaluation: Evaluation) -> str:
    """Accuracy per input form, the trained extractor beside the baseline."""
    trained, baseline = evaluation.trained, evaluation.baseline
    docs = Counter(d["form"] for d in trained.documents.values())
    rows = [
        (form, docs[form], t, baseline.by_form.get(form) if baseline else None)
        for form, t in sorted(trained.by_form.items())
    ]
    rows.append(("all", evaluation.n_documents, trained.overall, baseline.overall if baseline else None))
    lines = ["form      documents   trained" + ("  baseline   gain" if baseline else "")]
    for form, n, mine, theirs in rows:
        line = f"{form:<9} {n:>9}  {mine.accuracy:8.2%}"
        if theirs is not None:
            line += f"  {theirs.accuracy:8.2%}  {(mine.accuracy - theirs.accuracy) * 100:+6.2f}"
        lines.append(line)
    return "\n".join(lines)
