"""The field mapper behind a cache, with the views of its classes the decoder asks for."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nianbao.models.field_mapper import FieldMapper, normalize_label

ROLES = ("row", "col", "sec")


class LabelScorer:
    """The field mapper behind a cache: report labels repeat from document to document."""

    def __init__(self, model: FieldMapper) -> None:
        self.model = model
        self.classes = [str(c) for c in model.classes_]
        self.index = {c: i for i, c in enumerate(self.classes)}
        self.role = np.array([c.split(":", 1)[0] if ":" in c else "none" for c in self.classes])
        self._cache: dict[str, np.ndarray] = {}
        self._weights: dict[tuple[str | None, float], np.ndarray] = {}
        self._role_names = (*ROLES, "none")
        self._role_matrix = np.stack([self.role == r for r in self._role_names], axis=1).astype(float)
        self._masks: dict[str, np.ndarray] = {}
        self._indices: dict[str, np.ndarray] = {}

    def score(self, texts: Sequence[str]) -> list[np.ndarray]:
        keys = [normalize_label(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing:
            for key, probs in zip(missing, self.model.predict_proba(missing), strict=True):
                self._cache[key] = probs
            if len(self._cache) > 200_000:
                self._cache.clear()
        return [self._cache[k] for k in keys]

    def role_of(self, probs: np.ndarray) -> tuple[str, float]:
        """The role (row/col/sec/none) with most probability mass, and that mass."""
        masses = probs @ self._role_matrix
        j = int(masses.argmax())
        return self._role_names[j], float(masses[j])

    def clear_cache(self) -> None:
        """Forget scored labels (the benchmark measures extraction without them)."""
        self._cache.clear()

    def row_weights(self, section: str | None, other_section: float) -> np.ndarray:
        """Weights that keep row classes only, those of another ``section`` scaled by ``other_section``."""
        key = (section, other_section)
        if key not in self._weights:
            self._weights[key] = np.array(
                [
                    0.0
                    if role != "row"
                    else 1.0
                    if section is None or c.startswith(f"row:{section}.")
                    else other_section
                    for c, role in zip(self.classes, self.role, strict=True)
                ]
            )
        return self._weights[key]

    def mask(self, prefix: str) -> np.ndarray:
        """Which classes start with ``prefix`` (cached: asked for every label)."""
        if prefix not in self._masks:
            self._masks[prefix] = np.char.startswith(np.array(self.classes), prefix)
        return self._masks[prefix]

    def best(self, probs: np.ndarray, prefix: str) -> tuple[str | None, float]:
        if prefix not in self._indices:
            self._indices[prefix] = np.flatnonzero(self.mask(prefix))
        indices = self._indices[prefix]
        if not indices.size:
            return None, 0.0
        i = int(indices[probs[indices].argmax()])
        return self.classes[i], float(probs[i])
