"""The row decoder's order weights are fitted on labelled documents and shipped as data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nianbao.extraction.mapping import MappingSettings
from nianbao.models import DECODER, decoder_settings, load_field_mapper
from nianbao.training.config import load_config
from nianbao.training.decoder import candidate_settings, decoder_documents, fit_decoder, save_decoder


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> list:
    fit = load_config().decoder
    small = type(fit)(**{**fit.__dict__, "n": 3, "forms": ("mdconv",)})
    return decoder_documents(small, tmp_path_factory.mktemp("decoder"), [])


def test_the_grid_tries_the_defaults_first() -> None:
    fit = load_config().decoder
    grid = candidate_settings(fit)
    assert len(grid) == len(fit.order_gain) * len(fit.order_label_weight) * len(fit.order_width_weight)
    assert grid[0] == {"order_gain": 1.5, "order_label_weight": 2.0, "order_width_weight": 0.5}
    assert all(MappingSettings.from_dict(g) for g in grid)  # every candidate is a valid setting


def test_the_weighting_most_often_right_is_chosen_and_shipped(converted, tmp_path: Path) -> None:
    fit = load_config().decoder
    grid = {"order_gain": (1.5, 0.05), "order_label_weight": (2.0, 0.0), "order_width_weight": (0.5,)}
    model, _ = load_field_mapper()
    result = fit_decoder(model, converted, type(fit)(**{**fit.__dict__, **grid}))
    scores = [g["accuracy"] for g in result.grid]
    assert len(scores) == 4 and result.default_accuracy == scores[0]
    best = scores.index(max(scores))  # the first of the best, if it beats the defaults by min_gain
    best = best if scores[best] >= scores[0] + fit.min_gain else 0
    assert result.settings == {k: v for k, v in result.grid[best].items() if k != "accuracy"}
    assert result.accuracy == max(scores) >= 0.98  # the default weighting reads converted tables
    path = save_decoder(result, tmp_path, len(converted), ["mdconv"])
    assert path.name == DECODER.name and decoder_settings(path) == result.settings
    assert json.loads(path.read_text("utf-8"))["documents"] == len(converted)


def test_no_fitted_decoder_means_the_defaults(tmp_path: Path) -> None:
    assert decoder_settings(tmp_path / "missing.json") == {}
