"""Trained components and the artifacts that ship with nianbao."""

from __future__ import annotations

import json
import warnings
from functools import cache
from importlib import resources
from pathlib import Path

import joblib
import sklearn

from nianbao.models.field_mapper import FieldMapper

ARTIFACTS = Path(str(resources.files("nianbao.models").joinpath("artifacts")))
FIELD_MAPPER = ARTIFACTS / "field_mapper.joblib"


def save_model(model: FieldMapper, path: Path, card: dict) -> None:
    """Write the model and, beside it, a JSON model card saying how it was made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    card = {**card, "sklearn_version": sklearn.__version__}
    joblib.dump({"model": model, "card": card}, path, compress=3)
    path.with_suffix(".json").write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", "utf-8")


@cache
def load_field_mapper(path: str | None = None) -> tuple[FieldMapper, dict]:
    """The shipped field mapper, or the one at ``path``; warns when another scikit-learn made it."""
    bundle = joblib.load(path or FIELD_MAPPER)
    card = bundle["card"]
    if card.get("sklearn_version") != sklearn.__version__:
        warnings.warn(
            f"field mapper made with scikit-learn {card.get('sklearn_version')}, "
            f"running {sklearn.__version__}; "
            "retrain with `python -m nianbao.training.train` if results look off",
            stacklevel=2,
        )
    return bundle["model"], card
