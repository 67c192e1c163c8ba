"""Fit the row decoder's order-placement weights on labelled documents: part of ``nianbao train``.

Rows without a label of their own (a converter printed the labels outside the table) are placed by a
monotone alignment whose gains weigh the order, the labels near the run and the row's width
(``MappingSettings.order_*``). Which weighting is right is a property of the converters a team meets, so
it is chosen on labelled documents — synthesized conversions (``[decoder] forms``) plus the labelled
documents and review corrections given to ``nianbao train --data`` — and shipped as
``models/artifacts/decoder.json``, which ``Extractor.load`` reads.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from nianbao import __version__
from nianbao.models import DECODER
from nianbao.models.field_mapper import FieldMapper
from nianbao.training.config import DecoderFit


@dataclass(frozen=True)
class DecoderResult:
    settings: dict[str, float]  # the chosen MappingSettings keys
    accuracy: float
    default_accuracy: float
    grid: list[dict]  # every weighting tried with its accuracy

    def card(self, documents: int, sources: list[str]) -> dict:
        return {
            "component": "decoder",
            "nianbao_version": __version__,
            "made_by": "nianbao train",
            "settings": self.settings,
            "documents": documents,
            "sources": sources,
            "accuracy": round(self.accuracy, 6),
            "default_accuracy": round(self.default_accuracy, 6),
            "grid": self.grid,
        }


def candidate_settings(fit: DecoderFit) -> list[dict[str, float]]:
    """Every weighting of the grid, the default (each list's first value) first."""
    names = ("order_gain", "order_label_weight", "order_width_weight")
    grids = [getattr(fit, name) for name in names]
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grids)]


def fit_decoder(model: FieldMapper, labelled: list, fit: DecoderFit) -> DecoderResult:
    """The weighting under which the whole extractor is most often right on ``labelled`` (EvalDocs), if it
    beats the defaults (the first candidate) by ``fit.min_gain``: a few hundredths of a point on a few
    dozen documents is noise, and the defaults stay."""
    from nianbao.evaluation.synth.scorecard import score_documents
    from nianbao.extraction.mapping import Decoder, MappingSettings
    from nianbao.extraction.pipeline import Extractor
    from nianbao.extraction.scorer import LabelScorer
    from nianbao.schema import load_schema

    schema, scorer = load_schema(), LabelScorer(model)  # one scorer: labels are scored once for all
    grid = []
    for settings in candidate_settings(fit):
        extractor = Extractor(Decoder(scorer, schema, MappingSettings.from_dict(settings)), schema, {})
        grid.append({**settings, "accuracy": round(score_documents(labelled, extractor).accuracy, 6)})
    best = max(range(len(grid)), key=lambda i: (grid[i]["accuracy"], -i))
    if grid[best]["accuracy"] < grid[0]["accuracy"] + fit.min_gain:
        best = 0
    chosen = {k: v for k, v in grid[best].items() if k != "accuracy"}
    return DecoderResult(chosen, grid[best]["accuracy"], grid[0]["accuracy"], grid)


def decoder_documents(fit: DecoderFit, directory: Path, extra: list) -> list:
    """The synthesized conversions of ``fit.forms`` whose tools are installed, plus ``extra`` EvalDocs."""
    from nianbao.evaluation.synth.converters import CONVERTERS, available
    from nianbao.evaluation.synth.corpus import load_labelled, write_corpus

    forms = [f for f in fit.forms if f not in CONVERTERS or available(f)]
    write_corpus(directory, fit.n, forms, fit.seed)
    return load_labelled(directory) + list(extra)


def save_decoder(result: DecoderResult, out: Path, documents: int, sources: list[str]) -> Path:
    path = out / DECODER.name
    path.write_text(json.dumps(result.card(documents, sources), ensure_ascii=False, indent=2) + "\n", "utf-8")
    return path
