"""Trained components and the artifacts that ship with nianbao."""

from __future__ import annotations

import json
import pickle
import warnings
from functools import cache
from importlib import resources
from pathlib import Path

import joblib
import sklearn
from sklearn.base import BaseEstimator

from nianbao.errors import ErrorCode, UserError
from nianbao.models.calibration import FEATURES, ConfidenceCalibrator, ReviewPolicy
from nianbao.models.field_mapper import FieldMapper

ARTIFACTS = Path(str(resources.files("nianbao.models").joinpath("artifacts")))
FIELD_MAPPER = ARTIFACTS / "field_mapper.joblib"
CALIBRATOR = ARTIFACTS / "calibrator.joblib"
DECODER = ARTIFACTS / "decoder.json"  # the row decoder's fitted weights (training/decoder.py)


def save_model(model: BaseEstimator, path: Path, card: dict) -> None:
    """Write the model and, beside it, a JSON model card saying how it was made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    card = {**card, "sklearn_version": sklearn.__version__}
    joblib.dump({"model": model, "card": card}, path, compress=3)
    path.with_suffix(".json").write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", "utf-8")


def _load(path: Path) -> tuple[BaseEstimator, dict]:
    """A saved model and its card; warns when another scikit-learn made it. A file that is missing or holds
    no saved model is the user's mistake (E_MODEL_UNREADABLE), said once, not a traceback."""
    try:
        bundle = joblib.load(path)
        card = bundle["card"]
    except (OSError, EOFError, ValueError, KeyError, TypeError, pickle.UnpicklingError) as exc:
        said = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
        raise UserError(ErrorCode.E_MODEL_UNREADABLE, path=path, said=said) from exc
    if card.get("sklearn_version") != sklearn.__version__:
        warnings.warn(
            f"{path.name} made with scikit-learn {card.get('sklearn_version')}, "
            f"running {sklearn.__version__}; "
            "retrain with `nianbao train` if results look off",
            stacklevel=3,
        )
    return bundle["model"], card


@cache
def load_field_mapper(path: str | None = None) -> tuple[FieldMapper, dict]:
    """The shipped field mapper, or the one at ``path``."""
    return _load(Path(path) if path else FIELD_MAPPER)


@cache
def load_calibrator(path: str | None = None) -> tuple[ConfidenceCalibrator, dict] | None:
    """The shipped confidence calibrator and its card (which holds the review policy), or None when no
    calibrator has been trained yet: confidences are then the raw scores."""
    path = Path(path) if path else CALIBRATOR
    if not path.is_file():
        return None
    model, card = _load(path)
    if tuple(card.get("features", ())) != FEATURES:
        warnings.warn(
            f"{path.name} was fitted on other features than this nianbao computes; confidences are raw "
            "scores until it is rebuilt (python -m nianbao.training.calibration)",
            stacklevel=2,
        )
        return None
    return model, card


def decoder_settings(path: Path = DECODER) -> dict[str, float]:
    """The row decoder's weights fitted by ``nianbao train``, or none (MappingSettings' defaults)."""
    return json.loads(path.read_text("utf-8"))["settings"] if path.is_file() else {}


def review_policy(path: str | None = None) -> ReviewPolicy:
    """The review policy chosen when the calibrator was trained (its card), else the default threshold.

    Read from the card beside the artifact, so a service that only sorts stored fields loads no model.
    """
    card = (Path(path) if path else CALIBRATOR).with_suffix(".json")
    if not card.is_file():
        return ReviewPolicy()
    return ReviewPolicy(threshold=json.loads(card.read_text("utf-8"))["review_policy"]["threshold"])
