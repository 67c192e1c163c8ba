"""The report synthesizer, and held-out synthesized reports round-tripped through the extractor.

The gold of a synthesized report comes from the generator's own draws, never from the
extractor; the seeds below are not used by training (training reads labels, not reports).
"""

from __future__ import annotations

import json

import pytest

from nianbao.evaluation.evaluate import evaluate
from nianbao.evaluation.synth.corpus import printed_labels, write_corpus
from nianbao.evaluation.synth.forms import FORMS, TEXT_STYLES, build_report, make_report
from nianbao.evaluation.synth.scorecard import same_value
from nianbao.extraction.validation import validate
from nianbao.schema import load_schema

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

HELD_OUT = 90210  # corpus seed of the round-trip test; the benchmark and README examples use others


# What the round trip renders: every form the extractor reads, each text style on its own.
READABLE = ("md", "html", *TEXT_STYLES, "docx", "pdf")


def test_same_seed_same_bytes_and_gold() -> None:
    for form in (*FORMS, *TEXT_STYLES):
        assert make_report(11, form) == make_report(11, form)


def test_gold_is_the_same_in_every_form() -> None:
    golds = [make_report(23, form)[1] for form in (*FORMS, *TEXT_STYLES)]
    assert all(g["fields"] == golds[0]["fields"] and g["meta"] == golds[0]["meta"] for g in golds)
    assert {g["synth"]["style"] for g in golds} == {*FORMS, *TEXT_STYLES} - {"txt"}


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
        inconsistent = any(f.kind == "source_inconsistent" for f in flags)
        assert report.inconsistent or not inconsistent  # only a deliberately tampered total breaks one
        broken += inconsistent
    assert broken < 10  # a small share of reports break an identity, as real ones do


def test_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown form"):
        make_report(1, "xls")


def test_agencies_of_every_level_and_years_of_both_templates() -> None:
    synth = [build_report(seed, "md").gold for seed in range(150)]
    levels = {"province", "city", "county", "bureau", "street", "township"}
    assert {g["synth"]["level"] for g in synth} == levels
    assert {g["meta"]["year"] for g in synth} == set(range(2019, 2026))


def test_some_reports_leave_out_rows_or_whole_tables() -> None:
    schema = load_schema()
    s4_missing = rows_missing = 0
    for seed in range(300):
        fields = build_report(seed, "tsv").gold["fields"]
        s4 = [v for k, v in fields.items() if schema.section_of(k) == "s4"]
        s4_missing += all(v is None for v in s4)
        s3_totals = [v for k, v in fields.items() if k.startswith("s3.") and k.endswith(".total")]
        rows_missing += None in s3_totals
    assert 0 < s4_missing < 30 and 0 < rows_missing < 60


def test_printed_labels_name_their_concepts() -> None:
    examples = printed_labels(5, 20)
    concepts = {c for _, c in examples}
    assert {"row:s3.granted", "col:s3.natural_person", "row:s2.licensing", "col:s4.upheld"} <= concepts
    assert all(c.split(":")[0] in ("row", "col") for c in concepts)
    assert len({t for t, c in examples if c == "row:s3.granted"}) > 3  # printed in more than one way


def test_a_scan_round_trips_through_ocr(tmp_path, extractor) -> None:
    """A scan has no text layer: its tables are found in the image and read by OCR."""
    content, gold, suffix = make_report(31, "scan")
    assert b"/DCTDecode" in content and b"/Font" not in content
    path = tmp_path / f"scan{suffix}"
    path.write_bytes(content)
    record = extractor.extract(path)
    assert record["error"] is None and record["meta"] == gold["meta"]
    right = sum(same_value(record["fields"].get(k), v) for k, v in gold["fields"].items())
    assert right / len(gold["fields"]) >= 0.97


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory, extractor):
    out = tmp_path_factory.mktemp("synth")
    write_corpus(out, 4, list(READABLE), HELD_OUT, workers=2)
    return evaluate(out, extractor=extractor, baseline=False).trained


def test_every_synthesized_document_is_extracted(round_trip) -> None:
    assert round_trip.errors == {}
    assert len(round_trip.by_document) == 4 * len(READABLE)


@pytest.mark.parametrize("form", ["md", "html", "txt", "docx", "pdf"])
def test_round_trip_accuracy_per_form(round_trip, form: str) -> None:
    docs = {name: t for name, t in round_trip.by_document.items() if name.startswith(f"syn_{form}_")}
    right = sum(t.right for t in docs.values())
    total = sum(t.total for t in docs.values())
    assert total > 0
    wrong = [w for w in round_trip.wrong if w["document"] in docs]
    assert right / total >= 0.99, json.dumps(wrong[:10], ensure_ascii=False)


def test_round_trip_meta(round_trip) -> None:
    assert round_trip.meta.accuracy >= 0.97
