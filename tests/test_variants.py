"""The report synthesizer, and held-out synthesized reports round-tripped through the extractor.

The gold of a synthesized report comes from the generator's own draws, never from the
extractor; the seeds below are not used by training (training reads labels, not reports).
"""

from __future__ import annotations

import json

import pytest

from nianbao.evaluation.evaluate import evaluate_dir
from nianbao.evaluation.variants import FORMS, build_report, make_report, write_corpus
from nianbao.extraction.validation import validate
from nianbao.schema import load_schema

HELD_OUT = 90210  # corpus seed of the round-trip test; the benchmark and README examples use others


def test_same_seed_same_bytes_and_gold() -> None:
    for form in FORMS:
        assert make_report(11, form) == make_report(11, form)


def test_gold_is_the_same_in_every_form() -> None:
    golds = [make_report(23, form)[1] for form in FORMS]
    assert all(g["fields"] == golds[0]["fields"] and g["meta"] == golds[0]["meta"] for g in golds)


@pytest.mark.parametrize("fmt", ["2021", "2019"])
def test_gold_has_the_contract_keys_and_keeps_identities(fmt: str) -> None:
    schema = load_schema()
    broken = 0
    for seed in range(60):
        report = build_report(seed, "tsv", fmt)
        fields = report.gold["fields"]
        assert list(fields) == schema.field_keys(fmt)
        assert report.gold["meta"]["format"] == fmt
        assert schema.format_of_year(report.gold["meta"]["year"]) == fmt
        flags = validate(fields, dict.fromkeys(fields, 1.0), schema, fmt).flags
        inconsistent = any(f["kind"] == "source_inconsistent" for f in flags)
        assert report.inconsistent or not inconsistent  # only a deliberately tampered total breaks one
        broken += inconsistent
    assert broken < 10  # a small share of reports break an identity, as real ones do


def test_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown form"):
        make_report(1, "pdf")


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory, extractor):
    out = tmp_path_factory.mktemp("synth")
    write_corpus(out, 6, list(FORMS), HELD_OUT)
    return evaluate_dir(out, extractor=extractor)


def test_every_synthesized_document_is_extracted(round_trip) -> None:
    assert round_trip.errors == {}
    assert len(round_trip.by_document) == 6 * len(FORMS)


@pytest.mark.parametrize("form", FORMS)
def test_round_trip_accuracy_per_form(round_trip, form: str) -> None:
    docs = {name: t for name, t in round_trip.by_document.items() if name.startswith(f"syn_{form}_")}
    right = sum(t.right for t in docs.values())
    total = sum(t.total for t in docs.values())
    assert total > 0
    wrong = [w for w in round_trip.wrong if w["document"] in docs]
    assert right / total >= 0.99, json.dumps(wrong[:10], ensure_ascii=False)


def test_round_trip_meta(round_trip) -> None:
    assert round_trip.meta.accuracy >= 0.97
