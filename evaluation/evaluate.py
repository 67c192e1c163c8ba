"""Field accuracy of an extractor against labelled reports (NAME.gold.json beside NAME.<ext>).

Accuracy is cut by field, section, template format and input form (the scorecard, synth/scorecard.py),
mistakes are explained from the cell evidence (which printed label was filed under the wrong field), the
confidences are checked for calibration (models/calibration.py), and the naive baseline is scored on the
same documents beside it.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nianbao.errors import ErrorCode, UserError
from nianbao.evaluation.synth.corpus import load_labelled
from nianbao.evaluation.synth.scorecard import RecordSource, Scorecard, Tally, score_documents
from nianbao.extraction.pipeline import Extractor
from nianbao.models import review_policy
from nianbao.models.calibration import (
    REVIEW_TARGET,
    CoverageCurve,
    Reliability,
    ReviewPoint,
    ReviewPolicy,
    coverage_curve,
    reliability,
    review_needed,
)

WORST_DOCUMENTS = 20


class EvalReport(Scorecard):
    """A scorecard with what the evaluation reads from it: calibration, review, confusions, worst cases."""

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
        raise UserError(ErrorCode.E_NO_GOLD, directory=directory)
    extractor = extractor or Extractor.load(model_path)
    if baseline is True:
        from nianbao.evaluation.baseline import NaiveExtractor

        baseline = NaiveExtractor.load()
    return Evaluation(
        directory,
        score_documents(labelled, extractor, "trained", EvalReport),
        score_documents(labelled, baseline, "baseline", EvalReport) if baseline else None,
        json.loads(json.dumps(getattr(extractor, "model_card", {}), default=str)),  # as report.json keeps it
    )
