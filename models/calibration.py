"""Calibrated confidence: the probability that an extracted field is right, learned on labelled reports.

Why a model on top of the raw score: the raw confidence multiplies the mapper's probability, the OCR
score and identity adjustments, which ranks fields well but is not a probability (a printed blank at 0.85
is almost always right; an OCR digit at 0.9 is wrong more often than one in ten). A logistic model over
the raw score and the evidence kinds (OCR or printed, blank, flags) maps them to observed correctness;
an isotonic step on its output, fitted on held-out folds, fixes what a straight logistic curve cannot.
"""

from __future__ import annotations

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
