"""Fit the confidence calibrator and choose the review policy: ``python -m nianbao.training.calibration``.

The calibration set is synthesized (seeded, in every input form, scans included), extracted by the
shipped pipeline with the calibrator switched off, and each produced field is marked right or wrong
against its gold value. Out-of-fold calibrated confidences (folds by document, so no document is scored
by a model that saw it) give the honest ECE and the review threshold: the lowest confidence at which
the fields kept without review are still >= 99.9 % right. The final model is then fitted on every field.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from nianbao import __version__
from nianbao.evaluation.synth.converters import CONVERTERS
from nianbao.evaluation.synth.converters import available as converter_available
from nianbao.evaluation.synth.corpus import gold_path, write_corpus
from nianbao.evaluation.synth.scorecard import same_value
from nianbao.models import CALIBRATOR, save_model
from nianbao.models.calibration import (
    FEATURES,
    REVIEW_TARGET,
    ConfidenceCalibrator,
    ReviewPolicy,
    expected_calibration_error,
    review_needed,
)

SEED = 20261123
# The policy's accuracy must hold at the one-sided 95 % Wilson bound, not just on this set: a threshold
# that is barely on target here lets a few more wrong fields through on the next archive.
POLICY_Z = 1.645
# Documents per form: scans weigh most, because their fields are the ones in doubt; converted tables
# (the mdconv imitation and two real converters over text PDFs) because they break rows and columns.
COUNTS = {
    "md": 12,
    "html": 12,
    "txt": 40,
    "docx": 12,
    "pdf": 30,
    "scan": 40,
    "scan-office": 16,  # scans of Word/WPS-printed tables: heavy borders, shaded bands, text on the rules
    "mdconv": 60,
    "pdf2md": 24,
    "pdf2txt": 24,
}


@dataclass
class CalibrationSet:
    X: np.ndarray  # one row per produced field, columns models.calibration.FEATURES
    right: np.ndarray
    document: np.ndarray  # index of the field's document, for folds by document
    form: np.ndarray
    what: np.ndarray | None = None  # per field "document key: value (gold …)", to say which fields are wrong


class _Recorder:
    """Stands in for the calibrator: keeps the feature rows it is shown and returns the raw confidence."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        self.rows.append(X)
        raw = 1 / (1 + np.exp(-X[:, 0]))
        return np.column_stack([1 - raw, raw])


@cache
def _extractor():
    from nianbao.extraction.pipeline import Extractor

    return Extractor.load()


def _label(path: Path) -> tuple[np.ndarray, np.ndarray, str, list[str]]:
    """One document's feature rows, whether each field came out right, its form and what each field is."""
    extractor, recorder = _extractor(), _Recorder()
    extractor.calibrator = recorder
    record = extractor.extract(path)
    gold = json.loads(gold_path(path).read_text("utf-8"))
    form = gold["synth"]["form"]
    if not recorder.rows:  # an unreadable document has no fields to calibrate
        return np.zeros((0, len(FEATURES))), np.zeros(0, bool), form, []
    truth, fields = gold["fields"], record["fields"].items()
    right = [key in truth and same_value(value, truth[key]) for key, value in fields]
    what = [f"{path.name} {key}: {value!r} (gold {truth.get(key)!r})" for key, value in fields]
    return recorder.rows[-1], np.asarray(right, bool), form, what


def calibration_set(seed: int = SEED, counts: dict[str, int] = COUNTS, workers: int = 2) -> CalibrationSet:
    missing = [form for form in counts if form in CONVERTERS and not converter_available(form)]
    if missing:
        print(f"calibration set: {', '.join(missing)} left out, their conversion tool is not installed")
    counts = {form: n for form, n in counts.items() if form not in missing}
    with tempfile.TemporaryDirectory() as tmp:
        paths = [p for form, n in counts.items() for p in write_corpus(Path(tmp) / form, n, [form], seed)]
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            labelled = list(pool.map(_label, paths))
    X = np.vstack([rows for rows, _, _, _ in labelled])
    right = np.concatenate([r for _, r, _, _ in labelled])
    document = np.concatenate([np.full(len(r), i) for i, (_, r, _, _) in enumerate(labelled)])
    form = np.concatenate([np.full(len(r), f, dtype=object) for _, r, f, _ in labelled])
    what = np.array([w for *_, names in labelled for w in names], dtype=object)
    return CalibrationSet(X, right, document, form, what)


def out_of_fold(data: CalibrationSet, model: ConfidenceCalibrator, folds: int = 5) -> np.ndarray:
    predicted = np.zeros(len(data.right))
    for fit, held in GroupKFold(folds).split(data.X, data.right, data.document):
        predicted[held] = (
            model.__class__(**model.get_params())
            .fit(data.X[fit], data.right[fit])
            .predict_proba(data.X[held])[:, 1]
        )
    return predicted


def evidence_groups(X: np.ndarray) -> dict[str, np.ndarray]:
    """Fields read by OCR and fields printed in a text layer or a text form: their errors differ in kind
    and rate, so the review threshold must hold on each, not only on their mix."""
    ocr = X[:, FEATURES.index("ocr")] > 0.5
    return {"ocr": ocr, "printed": ~ocr}


def always_reviewed(X: np.ndarray) -> np.ndarray:
    """Fields the policy sends to a person whatever their confidence (ReviewPolicy.always). A doubt flag
    that is no calibrator feature (duplicate_table: the synthesizer never prints two tables of a
    section) cannot be told from X; no field of the set has it."""
    kinds = sorted(k for k in ReviewPolicy().always if k in FEATURES)
    return np.any([X[:, FEATURES.index(kind)] > 0.5 for kind in kinds], axis=0)


def choose_policy(
    calibrated: np.ndarray, right: np.ndarray, X: np.ndarray, forms: np.ndarray | None = None
) -> tuple[float, dict]:
    """The review threshold: the lowest that keeps each evidence group's auto-accepted fields >=
    REVIEW_TARGET right (at the POLICY_Z bound), and each input form's (``forms``, one per field) at
    least as a point estimate, among the fields no doubt flag sends to review anyway. Pooled with the
    clean forms, a converter's fields would pass at a threshold its own fields do not bear: the pooled
    bound once held only because the scans' happened to be the higher.

    A group that is on target with every field kept sets no bound; otherwise its bound is the lowest
    confidence it can keep. The policy takes the highest bound, and the card shows each group's outcome.
    """
    doubt = always_reviewed(X)
    groups = {group: mask & ~doubt for group, mask in evidence_groups(X).items() if (mask & ~doubt).any()}
    points = {
        group: review_needed(calibrated[mask], right[mask], REVIEW_TARGET, POLICY_Z)
        for group, mask in groups.items()
    }
    per_form = [] if forms is None else sorted(set(forms))
    form_points = [
        review_needed(calibrated[mask], right[mask], REVIEW_TARGET)
        for mask in ((forms == form) & ~doubt for form in per_form)
        if mask.any()
    ]
    threshold = max((p.threshold for p in [*points.values(), *form_points] if p.share > 0), default=0.0)
    outcome = {
        group: {
            "bound": points[group].to_dict(),
            **policy_outcome(calibrated[mask], right[mask], X[mask], threshold),
        }
        for group, mask in groups.items()
    }
    return threshold, outcome


def policy_outcome(calibrated: np.ndarray, right: np.ndarray, X: np.ndarray, threshold: float) -> dict:
    """Share of fields the policy sends to review, and how many of the rest are right."""
    kept = ReviewPolicy(threshold).auto_accepted(calibrated, always_reviewed(X))
    return {
        "fields": len(right),
        "accuracy": round(float(right.mean()), 6) if len(right) else None,
        "review_share": round(float(1 - kept.mean()), 6) if len(right) else None,
        "kept_accuracy": round(float(right[kept].mean()), 6) if kept.any() else None,
    }


def leave_one_form_out(data: CalibrationSet, model: ConfidenceCalibrator) -> dict[str, dict]:
    """For each form: the calibrator and its review policy made without it, applied to it. A form nobody
    fitted on stands for the next converter: its kept fields must still be right."""
    out = {}
    for form in sorted(set(data.form)):
        held = data.form == form
        rest = CalibrationSet(data.X[~held], data.right[~held], data.document[~held], data.form[~held])
        threshold, _ = choose_policy(out_of_fold(rest, model), rest.right, rest.X, rest.form)
        fitted = model.__class__(**model.get_params()).fit(rest.X, rest.right)
        calibrated = fitted.predict_proba(data.X[held])[:, 1]
        kept = ReviewPolicy(threshold).auto_accepted(calibrated, always_reviewed(data.X[held]))
        out[form] = {
            "threshold": round(threshold, 6),
            **policy_outcome(calibrated, data.right[held], data.X[held], threshold),
            "kept_wrong": int((kept & ~data.right[held]).sum()),
        }
    return out


def fit_calibrator(
    data: CalibrationSet, model: ConfidenceCalibrator | None = None
) -> tuple[ConfidenceCalibrator, dict]:
    """The final calibrator and its card: out-of-fold ECE before and after, the review policy and what it
    sends to review, overall and per form."""
    model = model or ConfidenceCalibrator()
    calibrated = out_of_fold(data, model)
    raw = 1 / (1 + np.exp(-data.X[:, 0]))
    threshold, by_evidence = choose_policy(calibrated, data.right, data.X, data.form)
    per_form = {
        form: policy_outcome(calibrated[mask], data.right[mask], data.X[mask], threshold)
        for form in sorted(set(data.form))
        for mask in [data.form == form]
    }
    card = {
        "component": "calibrator",
        "nianbao_version": __version__,
        "params": model.get_params(),
        "features": list(FEATURES),
        "fields": len(data.right),
        "wrong": int((~data.right).sum()),
        "ece_raw": round(expected_calibration_error(raw, data.right), 6),
        "ece_out_of_fold": round(expected_calibration_error(calibrated, data.right), 6),
        "review_policy": {
            "threshold": round(threshold, 6),
            "target": REVIEW_TARGET,
            "target_bound": f"one-sided Wilson lower bound, z = {POLICY_Z}",
            "always": sorted(ReviewPolicy().always),
            "chosen_on": "out-of-fold calibrated confidence, per evidence group",
            "by_evidence": by_evidence,
            **policy_outcome(calibrated, data.right, data.X, threshold),
        },
        "per_form": per_form,
        "leave_one_form_out": leave_one_form_out(data, model),
        "auto_accepted_wrong": _kept_wrong(data, calibrated, threshold),
    }
    return model.fit(data.X, data.right), card


def _kept_wrong(data: CalibrationSet, calibrated: np.ndarray, threshold: float, most: int = 30) -> list:
    """The wrong fields the policy would let through, most confident first: where to look next."""
    kept = ReviewPolicy(threshold).auto_accepted(calibrated, always_reviewed(data.X)) & ~data.right
    order = np.flatnonzero(kept)[np.argsort(-calibrated[kept], kind="stable")][:most]
    names = data.what if data.what is not None else np.array([f"field {i}" for i in range(len(data.right))])
    return [{"field": str(names[i]), "confidence": round(float(calibrated[i]), 6)} for i in order]


_SET_ARRAYS = ("X", "right", "document", "form", "what")


def saved_set(path: Path, seed: int, counts: dict[str, int], workers: int) -> CalibrationSet:
    """The calibration set kept in ``path`` (an .npz) by an earlier run with the same seed, counts and
    features, else extracted now and kept there: refitting the calibrator or its policy then needs no
    extraction."""
    made_for = json.dumps(
        {"seed": seed, "counts": counts, "pipeline": __version__, "features": list(FEATURES)}, sort_keys=True
    )
    if path.is_file():
        with np.load(path, allow_pickle=True) as kept:
            if str(kept["made_for"]) == made_for:
                return CalibrationSet(*(kept[name] for name in _SET_ARRAYS))
    data = calibration_set(seed, counts, workers)
    np.savez(path, made_for=made_for, **{name: getattr(data, name) for name in _SET_ARRAYS})
    return data


def train(
    out: Path = CALIBRATOR,
    seed: int = SEED,
    counts: dict[str, int] = COUNTS,
    workers: int = 2,
    keep_set: Path | None = None,
) -> dict:
    started = time.perf_counter()
    if keep_set is None:
        data = calibration_set(seed, counts, workers)
    else:
        data = saved_set(keep_set, seed, counts, workers)
    model, card = fit_calibrator(data)
    card |= {
        "made_by": "python -m nianbao.training.calibration",
        "seed": seed,
        "documents_per_form": counts,
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    save_model(model, out, card)
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=CALIBRATOR)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--keep-set", type=Path, metavar="FILE.npz", help="keep the extracted calibration set here, reuse it"
    )
    args = parser.parse_args()
    card = train(args.out, args.seed, COUNTS, args.workers, args.keep_set)
    policy = card["review_policy"]
    kept = policy["kept_accuracy"]  # None when the policy keeps nothing
    rest = "nothing kept" if kept is None else f"{kept:.3%} right on the rest"
    print(
        f"calibrator: {card['fields']} fields ({card['wrong']} wrong), ECE raw {card['ece_raw']:.4f} → "
        f"{card['ece_out_of_fold']:.4f} out of fold; review below {policy['threshold']:.4f} or flagged: "
        f"{policy['review_share']:.2%} of fields, {rest} "
        f"({card['train_seconds']} s) → {args.out}"
    )
    for form, row in card["per_form"].items():
        print(f"  {form:<7} {row}")
    print("leave one form out (fitted and policy chosen without the form, applied to it):")
    for form, row in card["leave_one_form_out"].items():
        kept = "nothing kept" if row["kept_accuracy"] is None else f"{row['kept_accuracy']:.3%} right kept"
        print(f"  {form:<7} threshold {row['threshold']:.4f}: {row['review_share']:.2%} to review, {kept}")


if __name__ == "__main__":
    main()
