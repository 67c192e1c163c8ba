"""Calibrated confidence: the probability that an extracted field is right, learned on labelled reports.

Why a model on top of the raw score: the raw confidence multiplies the mapper's probability, the OCR
score and identity adjustments, which ranks fields well but is not a probability (a printed blank at 0.85
is almost always right; an OCR digit at 0.9 is wrong more often than one in ten). A logistic model over
the raw score and the evidence kinds (OCR or printed, blank, flags) maps them to observed correctness;
an isotonic step on its output, fitted on held-out folds, fixes what a straight logistic curve cannot.

Also here, the measures of calibrated confidence that both the calibrator's training and the evaluation
report: expected calibration error over reliability bins, the coverage–accuracy curve, and the least
review share that leaves REVIEW_TARGET accuracy on the fields kept (at a Wilson lower bound).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.utils.validation import check_is_fitted

from nianbao.schema import load_schema

# What the record says about a field beside its raw confidence; the feature columns in this order.
FLAG_KINDS = (
    "inferred",
    "source_inconsistent",
    "ocr_repaired",
    "value_uncertain",
    "position_uncertain",
    "placed_by_identities",
    "row_not_found",
    "identity_gap",
    "narrative_mismatch",
    "text_garbled",
)
# identities_held: how many complete identities that hold name the field. Their agreement is the strongest
# evidence an OCR digit has, and the raw score folds it in only weakly; a zero (most cells of most
# reports) is read from a round glyph the recogniser is often unsure of.
# The structure features (FieldStructure) say how the field's row was found, so that a null is trusted
# only where its row was seen with a blank cell, and a row placed by order only as far as its margin.
STRUCTURE = ("row_absent", "by_order", "order_margin", "unplaced_rows", "null_balanced", "narrative")
FEATURES = ("logit_raw", "blank", "ocr", "ocr_x_logit", "zero", "identities_held", *STRUCTURE, *FLAG_KINDS)
# Fields a person sees whatever their confidence: in a broken identity, repaired from OCR, in a row that
# may have been lost, holding an identity's gap, contradicted by the report's own prose, read from a text
# whose glyphs have no Unicode map, in a section the report printed two different tables for, a scanned
# cell with ink OCR could not read. (A kind here and not in FLAG_KINDS is no calibrator feature: the
# shipped calibrator's features stay as fitted.)
DOUBT_FLAGS = frozenset(
    {
        "ink_unread",
        "source_inconsistent",
        "ocr_repaired",
        "row_not_found",
        "identity_gap",
        "narrative_mismatch",
        "text_garbled",
        "duplicate_table",
        "order_doubt",
    }
)
_MARGIN_CAP = 5.0  # an order placement this far ahead of the next best is as sure as a label
DEFAULT_THRESHOLD = 0.9  # the review threshold while no calibrated policy is shipped
_EPS = 1e-6
REVIEW_TARGET = 0.999  # accuracy the fields kept without review must reach
RELIABILITY_BINS = 10


@dataclass(frozen=True)
class ReviewPolicy:
    """Which fields wait for a person: those below ``threshold`` (calibrated confidence) and those with
    a doubt flag. The calibrator's training chooses the threshold from the coverage–accuracy curve."""

    threshold: float = DEFAULT_THRESHOLD
    always: frozenset[str] = DOUBT_FLAGS

    def needs_review(self, confidence: float, flag_kinds: Iterable[str]) -> bool:
        return confidence < self.threshold or not self.always.isdisjoint(flag_kinds)

    def auto_accepted(self, confidence: np.ndarray, doubtful: np.ndarray) -> np.ndarray:
        """``needs_review``'s complement over arrays: ``doubtful`` marks fields with a flag in ``always``."""
        return (np.asarray(confidence, float) >= self.threshold) & ~np.asarray(doubtful, bool)


def flagged_fields(flag: dict) -> list[str]:
    """The fields a flag names: one field, or the fields of an identity or a row."""
    return [flag["field"]] if "field" in flag else flag.get("fields", [])


def flag_kinds_by_field(record: dict) -> dict[str, set[str]]:
    """The kinds of the flags that name each field of a record."""
    flagged: dict[str, set[str]] = {k: set() for k in record["fields"]}
    for flag in record["flags"]:
        for key in flagged_fields(flag):
            if key in flagged:
                flagged[key].add(flag["kind"])
    return flagged


def identities_held(record: dict) -> Counter[str]:
    """For each field, how many identities of the record's format hold with every cell printed."""
    values, fmt = record["fields"], record.get("meta", {}).get("format")
    held: Counter[str] = Counter()
    for identity in load_schema().identities.get(fmt, ()):
        if all(values.get(k) is not None for k in identity.fields) and identity.holds(values):
            held.update(identity.fields)
    return held


@dataclass(frozen=True)
class FieldStructure:
    """How a field's row was found, beside what the record says."""

    row_found: bool = True  # a row of the table was filed as this field's row (its cell may be blank)
    order_margin: float | None = None  # the row was placed by order, this far ahead of the next best
    unplaced_rows: int = 0  # value rows of the field's table that no template row took
    null_evidence: int = 0  # a blank: +1 its identity balances without it, -1 it holds an identity's gap
    narrative: int = 0  # +1 the report's prose restates the value, -1 it states another


def field_features(
    record: dict, ocr: bool, structure: dict[str, FieldStructure] | None = None
) -> tuple[list[str], np.ndarray]:
    """(keys, feature matrix) of every field of a record, rows in the record's field order."""
    keys = list(record["fields"])
    flagged = flag_kinds_by_field(record)
    held = identities_held(record)
    structure = structure or {}
    rows = []
    for key in keys:
        raw = float(np.clip(record["confidence"].get(key, 0.0), _EPS, 1 - _EPS))
        logit = float(np.log(raw / (1 - raw)))
        found = structure.get(key, FieldStructure())
        margin = found.order_margin
        rows.append(
            [
                logit,
                record["fields"][key] is None,
                ocr,
                logit * ocr,
                record["fields"][key] == 0,
                held[key],
                not found.row_found,
                margin is not None,
                _MARGIN_CAP if margin is None else min(margin, _MARGIN_CAP),
                min(found.unplaced_rows, 5),
                found.null_evidence,
                found.narrative,
                *(kind in flagged[key] for kind in FLAG_KINDS),
            ]
        )
    return keys, np.asarray(rows, dtype=float).reshape(len(keys), len(FEATURES))


class ConfidenceCalibrator(ClassifierMixin, BaseEstimator):
    """P(field is right | raw confidence, evidence kinds): logistic regression, then isotonic (optional).

    ``predict_proba`` returns the two columns of a binary classifier (wrong, right), as scikit-learn's
    calibration tools do, so it can be scored and cross-validated like any classifier.
    """

    def __init__(
        self, *, C: float = 1.0, isotonic: bool = True, folds: int = 5, random_state: int = 0
    ) -> None:
        self.C = C
        self.isotonic = isotonic
        self.folds = folds
        self.random_state = random_state

    def _logistic(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, max_iter=2000)

    def fit(self, X: np.ndarray, y: np.ndarray) -> ConfidenceCalibrator:
        X, y = np.asarray(X, float), np.asarray(y, bool)
        self.classes_ = np.array([False, True])
        self.constant_ = None
        if y.all() or not y.any():  # one outcome only: nothing to learn beyond its rate
            self.constant_ = float(y.mean())
            return self
        self.logistic_ = self._logistic().fit(X, y)
        self.isotonic_ = None
        wrong = int((~y).sum())
        if self.isotonic and wrong >= self.folds:
            # Out-of-fold scores: the isotonic map must learn from scores the logistic model did not fit.
            folds = StratifiedKFold(self.folds, shuffle=True, random_state=self.random_state)
            scores = cross_val_predict(self._logistic(), X, y, cv=folds, method="predict_proba")[:, 1]
            self.isotonic_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "classes_")
        X = np.asarray(X, float)
        if self.constant_ is not None:
            right = np.full(len(X), self.constant_)
        else:
            right = self.logistic_.predict_proba(X)[:, 1]
            if self.isotonic_ is not None:
                right = self.isotonic_.predict(right)
        return np.column_stack([1 - right, right])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X)[:, 1] >= 0.5


# ---------------------------------------------------------------- measures of calibration
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
