"""The confidence calibrator: an estimator that turns raw scores and evidence kinds into P(right)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from nianbao.models import review_policy
from nianbao.models.calibration import (
    DEFAULT_THRESHOLD,
    FEATURES,
    FLAG_KINDS,
    ConfidenceCalibrator,
    ReviewPolicy,
    expected_calibration_error,
    field_features,
    identities_held,
)
from nianbao.training import calibration
from nianbao.training.calibration import CalibrationSet, fit_calibrator


def _overconfident_ocr(
    n: int, seed: int, printed_doubt: float = 1.0, log_error: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Printed fields right as often as their raw score says (or more: ``printed_doubt`` < 1 shrinks
    their error); OCR fields right far less often. ``log_error``: raw errors spread over decades, as a
    real extractor's are, so some OCR fields are sure enough to keep."""
    rng = np.random.default_rng(seed)
    raw = 1 - 10 ** rng.uniform(-5, -0.4, n) if log_error else rng.uniform(0.6, 0.99999, n)
    ocr = rng.random(n) < 0.4
    truth = np.where(ocr, raw**8, 1 - (1 - raw) * printed_doubt)  # OCR at raw 0.9: right 43 % of the time
    right = rng.random(n) < truth
    X = np.zeros((n, len(FEATURES)))
    X[:, 0] = np.log(raw / (1 - raw))
    X[:, 2] = ocr
    X[:, 3] = X[:, 0] * ocr
    return X, right


def test_calibration_removes_the_overconfidence_of_ocr_fields() -> None:
    X, right = _overconfident_ocr(6000, 1)
    held_X, held_right = _overconfident_ocr(6000, 2)
    raw = 1 / (1 + np.exp(-held_X[:, 0]))
    calibrated = ConfidenceCalibrator().fit(X, right).predict_proba(held_X)[:, 1]
    assert expected_calibration_error(raw, held_right) > 0.1
    assert expected_calibration_error(calibrated, held_right) < 0.03


def test_it_is_a_scikit_learn_estimator() -> None:
    model = ConfidenceCalibrator(C=0.5, isotonic=False)
    assert clone(model).get_params() == {"C": 0.5, "isotonic": False, "folds": 5, "random_state": 0}
    assert not hasattr(model, "logistic_")  # no work before fit
    X, right = _overconfident_ocr(500, 3)
    proba = model.fit(X, right).predict_proba(X)
    assert proba.shape == (500, 2) and np.allclose(proba.sum(axis=1), 1)
    everything_right = ConfidenceCalibrator().fit(X, np.ones(500, bool)).predict_proba(X)[:, 1]
    assert np.all(everything_right == 1.0)


def test_features_follow_the_record_and_its_flags() -> None:
    record = {
        "fields": {"a.x": 3, "a.y": None, "a.z": 5},
        "confidence": {"a.x": 0.5, "a.y": 0.85, "a.z": 0.99},
        "flags": [
            {"field": "a.z", "kind": "ocr_repaired", "detail": ""},
            {"identity": "i", "fields": ["a.x", "a.z"], "kind": "source_inconsistent", "detail": ""},
        ],
    }
    keys, X = field_features(record, ocr=True)
    assert keys == ["a.x", "a.y", "a.z"] and X.shape == (3, len(FEATURES))
    column = {name: i for i, name in enumerate(FEATURES)}
    assert X[0, column["logit_raw"]] == pytest.approx(0.0) and X[1, column["blank"]] == 1
    assert X[:, column["ocr"]].tolist() == [1, 1, 1]
    broken = X[:, column["source_inconsistent"]].tolist()
    assert broken == [1, 0, 1] and X[2, column["ocr_repaired"]] == 1 and set(FLAG_KINDS) <= set(column)


def test_a_field_counts_the_complete_identities_that_hold_over_it() -> None:
    from nianbao.schema import load_schema

    values = dict.fromkeys(load_schema().field_keys("2021"), 0)
    values.update({"s4.review.upheld": 1, "s4.review.corrected": 2, "s4.review.total": 3})
    values.update({"s4.suit_direct.total": 5, "s3.new.total": None})
    held = identities_held({"fields": values, "meta": {"format": "2021"}})
    assert held["s4.review.corrected"] == 1 and held["s4.suit_direct.upheld"] == 0, "a broken one counts not"
    assert held["s3.carried_over.natural_person"] == 2, "its column's balance and its row's applicants"
    assert held["s3.carried_over.total"] == 1, "the total column's balance has a blank s3.new.total"
    record = {"fields": values, "meta": {"format": "2021"}, "confidence": dict.fromkeys(values, 0.9)}
    _, X = field_features(record | {"flags": []}, ocr=True)
    column = FEATURES.index("identities_held")
    assert X[list(values).index("s4.review.total"), column] == 1
    assert X[list(values).index("s4.review.total"), FEATURES.index("zero")] == 0


def test_the_review_policy_keeps_the_target_on_fields_it_lets_through() -> None:
    X, right = _overconfident_ocr(20000, 4, printed_doubt=0.002, log_error=True)
    data = CalibrationSet(X, right, np.arange(20000) // 40, np.where(X[:, 2] == 1, "scan", "md"))
    model, card = fit_calibrator(data)
    policy = card["review_policy"]
    assert card["ece_out_of_fold"] < card["ece_raw"]
    assert 0 < policy["review_share"] < 1 and set(policy["by_evidence"]) == {"ocr", "printed"}
    held_X, held_right = _overconfident_ocr(20000, 5, printed_doubt=0.002, log_error=True)
    kept = model.predict_proba(held_X)[:, 1] >= policy["threshold"]
    assert policy["review_share"] == pytest.approx(1 - kept.mean(), abs=0.05)
    ocr = held_X[:, 2] == 1
    for group in (ocr, ~ocr):  # the target holds on each evidence group, within sampling noise
        assert held_right[kept & group].mean() >= 0.998
    assert card["per_form"]["scan"]["review_share"] > card["per_form"]["md"]["review_share"]
    let_through = [w["confidence"] for w in card["auto_accepted_wrong"]]
    assert let_through and all(c >= policy["threshold"] for c in let_through), "the wrong fields it keeps"
    assert let_through == sorted(let_through, reverse=True)


def test_the_threshold_holds_on_each_form_not_only_on_their_pool() -> None:
    """A converter's printed fields pooled with clean ones: the pool reaches the target at a threshold
    the converter's own fields do not bear; with the forms named, the threshold rises until they do."""
    rng = np.random.default_rng(7)
    confidence = rng.uniform(0.9, 1.0, 40000)
    noisy = np.arange(40000) < 4000
    right = rng.random(40000) >= np.where(noisy, (1 - confidence) / 5, (1 - confidence) / 2000)
    X = np.zeros((40000, len(FEATURES)))
    pooled, _ = calibration.choose_policy(confidence, right, X)
    per_form, _ = calibration.choose_policy(confidence, right, X, np.where(noisy, "pdf2md", "md"))
    assert per_form > pooled
    assert (
        right[noisy & (confidence >= per_form)].mean() >= 0.999 > right[noisy & (confidence >= pooled)].mean()
    )


def test_doubt_flags_go_to_review_whatever_the_confidence() -> None:
    X, right = _overconfident_ocr(4000, 6, printed_doubt=0.002, log_error=True)
    X[:100, FEATURES.index("source_inconsistent")] = 1
    data = CalibrationSet(X, right, np.arange(4000) // 40, np.where(X[:, 2] == 1, "scan", "md"))
    _, card = fit_calibrator(data)
    assert card["review_policy"]["review_share"] >= 100 / 4000
    policy = ReviewPolicy(threshold=0.5)
    assert policy.needs_review(0.99, ["ocr_repaired"]) and policy.needs_review(0.4, [])
    assert not policy.needs_review(0.99, ["inferred", "value_uncertain"])


def test_the_shipped_policy_comes_from_the_calibrator_card(tmp_path) -> None:
    assert review_policy(str(tmp_path / "none.joblib")).threshold == DEFAULT_THRESHOLD
    (tmp_path / "c.json").write_text('{"review_policy": {"threshold": 0.731}}', "utf-8")
    assert review_policy(str(tmp_path / "c.joblib")) == ReviewPolicy(threshold=0.731)


def test_a_kept_calibration_set_is_reused_only_for_the_same_seed_and_counts(tmp_path, monkeypatch) -> None:
    built = []

    def extract(seed: int, counts: dict, workers: int) -> CalibrationSet:
        built.append(seed)
        X, right = _overconfident_ocr(50, seed)
        what = np.array([f"doc {i}" for i in range(50)], dtype=object)
        return CalibrationSet(X, right, np.arange(50) // 10, np.full(50, "scan", dtype=object), what)

    monkeypatch.setattr(calibration, "calibration_set", extract)
    kept = tmp_path / "set.npz"
    first = calibration.saved_set(kept, 1, {"scan": 5}, 1)
    again = calibration.saved_set(kept, 1, {"scan": 5}, 1)
    assert built == [1] and np.array_equal(first.X, again.X) and list(again.what) == list(first.what)
    calibration.saved_set(kept, 2, {"scan": 5}, 1)
    assert built == [1, 2], "another seed is another set"
