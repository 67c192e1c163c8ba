"""The evaluation harness: calibration numbers, scoring and mistake naming, the HTML report, MLflow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from nianbao.cli import main
from nianbao.evaluation.evaluate import EvalReport, evaluate
from nianbao.evaluation.report import log_run, write_report
from nianbao.evaluation.synth.corpus import write_corpus
from nianbao.evaluation.synth.scorecard import score_record
from nianbao.extraction.record import FieldEvidence
from nianbao.models.calibration import (
    ReviewPolicy,
    coverage_curve,
    expected_calibration_error,
    reliability,
    review_needed,
)

# -- calibration -------------------------------------------------------------------------------------


def test_perfectly_calibrated_confidences_have_no_calibration_error() -> None:
    confidence = [0.25] * 4 + [0.75] * 4
    correct = [True, False, False, False, True, True, True, False]
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0)


def test_overconfidence_is_the_count_weighted_gap() -> None:
    assert expected_calibration_error([0.9] * 10, [True] * 6 + [False] * 4) == pytest.approx(0.3)
    # bin 0.9–1.0: 4 fields at 0.95, all right (gap 0.05); bin 0.5–0.6: 4 at 0.55, one right (gap 0.3)
    confidence = [0.95] * 4 + [0.55] * 4
    correct = [True] * 4 + [True, False, False, False]
    assert expected_calibration_error(confidence, correct) == pytest.approx((0.05 * 4 + 0.3 * 4) / 8)


def test_reliability_bins_hold_the_edges() -> None:
    rel = reliability([0.0, 0.05, 1.0, 1.0], [False, True, True, True])
    assert rel.count.tolist() == [2, 0, 0, 0, 0, 0, 0, 0, 0, 2]  # 1.0 lands in the last bin
    assert rel.accuracy[0] == 0.5 and rel.confidence[9] == 1.0 and np.isnan(rel.accuracy[5])
    assert rel.to_dict()["accuracy"][5] is None  # JSON has no NaN


def test_coverage_curve_runs_from_everything_to_the_sure_fields() -> None:
    confidence = np.array([0.2, 0.6, 0.9, 1.0, 1.0])
    correct = np.array([False, False, True, True, True])
    curve = coverage_curve(confidence, correct)
    assert curve.coverage[0] == 1.0 and curve.accuracy[0] == pytest.approx(0.6)
    assert curve.coverage[-1] == pytest.approx(0.4) and curve.accuracy[-1] == 1.0
    assert np.all(np.diff(curve.coverage) <= 0)
    empty = coverage_curve(np.array([0.5]), np.array([True]), np.array([0.9]))
    assert empty.coverage[0] == 0.0 and np.isnan(empty.accuracy[0])


def test_review_sends_the_least_confident_fields_until_the_rest_reach_the_target() -> None:
    # 1000 sure fields with one mistake among them, and 10 doubtful ones of which 5 are wrong
    confidence = np.r_[np.full(1000, 0.99), np.full(10, 0.3)]
    correct = np.r_[np.ones(999, bool), [False], np.tile([True, False], 5)]
    point = review_needed(confidence, correct, target=0.999)
    assert point.threshold == pytest.approx(0.99)
    assert point.share == pytest.approx(10 / 1010)
    assert point.kept_accuracy == pytest.approx(0.999)
    # ties go together: when the sure group itself is below target, everything is reviewed
    stricter = review_needed(confidence, correct, target=0.9995)
    assert stricter.share == 1.0
    assert review_needed(np.full(4, 0.8), np.ones(4, bool)).share == 0.0


def test_a_bounded_review_needs_enough_fields_to_show_the_target() -> None:
    z = 1.645
    assert review_needed(np.full(100, 0.9), np.ones(100, bool), 0.999, z).share == 1.0, "100 prove little"
    assert review_needed(np.full(10000, 0.9), np.ones(10000, bool), 0.999, z).share == 0.0
    # 8 wrong among 10,000, all least confident: on target as it stands, not at the bound
    confidence = np.r_[np.full(9992, 0.99), np.full(8, 0.5)]
    correct = np.r_[np.ones(9992, bool), np.zeros(8, bool)]
    assert review_needed(confidence, correct, 0.999).share == 0.0
    assert review_needed(confidence, correct, 0.999, z).share == pytest.approx(8 / 10000)


# -- scoring -----------------------------------------------------------------------------------------

GOLD = {
    "meta": {"agency": "某某局", "year": 2023, "format": "2021"},
    "fields": {
        "s3.new.natural_person": 5,
        "s3.new.commercial": 7,
        "s3.new.research": 0,
        "s3.new.social_welfare": None,
        "s3.new.legal_service": 3,
        "s3.new.other_org": 11,
        "s3.new.total": 26,
        "s4.review.upheld": 2,
    },
}


def _record(fields: dict) -> dict:
    return {
        "document": "x",
        "meta": dict(GOLD["meta"]),
        "fields": fields,
        "confidence": dict.fromkeys(fields, 0.9),
        "flags": [],
        "error": None,
    }


def _evidence(key: str, label: str) -> FieldEvidence:
    return FieldEvidence(key, "7", "table 1 row 3", label, 0.9)


def test_a_hand_made_record_is_scored_and_its_mistakes_named() -> None:
    fields = {
        "s3.new.natural_person": 7,  # the commercial cell, filed here ...
        "s3.new.commercial": 5,  # ... and the other way round
        "s3.new.research": 0,
        "s3.new.social_welfare": 4,  # gold empty
        "s3.new.legal_service": None,  # gold 3
        "s3.new.other_org": 12,  # matches no field
        "s3.new.total": 2,  # equals s4.review.upheld only ... a confusion across sections
        # s4.review.upheld not produced at all
    }
    evidence = {
        "s3.new.natural_person": _evidence("s3.new.natural_person", "商业企业"),
        "s3.new.commercial": _evidence("s3.new.commercial", "自然人"),
    }
    report = EvalReport()
    score_record(_record(fields), GOLD, report, "a.md", evidence)
    assert (report.overall.right, report.overall.total) == (1, 8)
    assert report.by_form["md"].total == 8 and report.by_format["2021"].total == 8
    assert report.by_section["s4"].right == 0 and report.by_field["s3.new.research"].accuracy == 1.0
    assert (report.non_zero.right, report.non_zero.total) == (0, 6)
    assert report.meta.accuracy == 1.0
    kinds = {w["field"]: (w["kind"], w["true_field"]) for w in report.wrong}
    assert kinds == {
        "s3.new.natural_person": ("confusion", "s3.new.commercial"),
        "s3.new.commercial": ("confusion", "s3.new.natural_person"),
        "s3.new.social_welfare": ("spurious", None),
        "s3.new.legal_service": ("missing", None),
        "s3.new.other_org": ("misread", None),
        "s3.new.total": ("confusion", "s4.review.upheld"),
        "s4.review.upheld": ("absent", None),
    }
    top = {(c["true_field"], c["field"]): c for c in report.confusions()}
    assert top["s3.new.commercial", "s3.new.natural_person"]["labels"] == {"商业企业": 1}
    assert report.worst_documents()[0]["wrong"][0]["where"] == "table 1 row 3"
    assert (0.0, False, False) in report.scored  # the field never produced counts as unvouched


def test_the_review_policy_sends_flagged_and_unsure_fields_to_review() -> None:
    record = _record({"s3.new.total": 26, "s3.new.commercial": 5})
    broken = {"identity": "i", "fields": ["s3.new.total"], "kind": "source_inconsistent", "detail": ""}
    record["flags"] = [broken]
    report = EvalReport()
    score_record(record, {**GOLD, "fields": {"s3.new.total": 26, "s3.new.commercial": 4}}, report, "e.md")
    flagged_only = report.under_policy(ReviewPolicy(threshold=0.5))
    assert (flagged_only.share, flagged_only.kept_accuracy) == (0.5, 0.0)  # the wrong one got through
    assert report.under_policy(ReviewPolicy(threshold=0.95)).share == 1.0


def test_the_form_comes_from_the_synth_label_else_the_suffix_and_errors_are_kept() -> None:
    report = EvalReport()
    failed = {**_record({}), "error": "E_CORRUPT: not a zip"}
    score_record(failed, {**GOLD, "synth": {"form": "scan"}}, report, "b.png")
    score_record(_record(dict(GOLD["fields"])), GOLD, report, "c.htm")
    score_record(_record({"s3.new.total": 26}), {**GOLD, "fields": {"s3.new.total": 26}}, report, "d.tsv")
    assert {k: t.accuracy for k, t in report.by_form.items()} == {"scan": 0.0, "html": 1.0, "txt": 1.0}
    assert report.errors == {"b.png": "E_CORRUPT: not a zip"}
    assert report.worst_documents()[0]["document"] == "b.png"


def test_a_value_shared_by_two_gold_fields_names_neither() -> None:
    gold = {**GOLD, "fields": {"s3.new.natural_person": 4, "s3.new.commercial": 4, "s3.new.total": 9}}
    report = EvalReport()
    score_record(_record({**gold["fields"], "s3.new.total": 4}), gold, report, "e.md")
    assert [w["kind"] for w in report.wrong] == ["ambiguous"]


# -- end to end --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("labelled")
    write_corpus(out, 3, ["md", "html"], 4711)
    return out


@pytest.fixture(scope="module")
def evaluation(corpus: Path, extractor):
    return evaluate(corpus, extractor=extractor)


@pytest.fixture(scope="module")
def report_dir(evaluation, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_report(evaluation, out)
    return out


def test_both_extractors_score_the_same_documents(evaluation) -> None:
    assert evaluation.n_documents == 6 and evaluation.baseline is not None
    assert evaluation.trained.by_document.keys() == evaluation.baseline.by_document.keys()
    assert set(evaluation.trained.by_form) == {"md", "html"}
    assert (
        evaluation.trained.overall.total
        == evaluation.baseline.overall.total
        == len(evaluation.trained.scored)
    )
    assert evaluation.metrics()["accuracy_md"] == evaluation.trained.by_form["md"].accuracy


def test_the_report_directory_opens_from_disk(report_dir: Path, evaluation) -> None:
    page = (report_dir / "index.html").read_text("utf-8")
    assert '<meta charset="utf-8">' in page
    for form in ("md", "html"):
        assert f"<td>{form}</td>" in page
    assert "收到和处理政府信息公开申请情况" in page  # Chinese section names reach the page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 4 and all((report_dir / src).stat().st_size > 1000 for src in images)
    assert json.loads((report_dir / "report.json").read_text("utf-8")) == evaluation.to_dict()


def test_cli_writes_the_report_and_keeps_min(corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    assert main(["evaluate", str(corpus), "--no-baseline", "--report", str(out), "--min", "50"]) == 0
    printed = capsys.readouterr().out
    assert "field accuracy" in printed and re.search(r"^md\s+3\s", printed, re.M)
    assert json.loads((out / "report.json").read_text("utf-8"))["baseline"] is None


def test_a_run_is_logged_to_mlflow(evaluation, report_dir: Path, tmp_path: Path, monkeypatch) -> None:
    client_class = pytest.importorskip("mlflow.tracking").MlflowClient
    monkeypatch.chdir(tmp_path)  # a sqlite store puts artifacts under ./mlruns
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = client_class(uri)
    run = client.get_run(log_run(evaluation, report_dir, uri))
    assert run.data.metrics["accuracy"] == pytest.approx(evaluation.trained.accuracy)
    assert run.data.metrics["baseline_accuracy"] == pytest.approx(evaluation.baseline.accuracy)
    assert run.data.params["n_documents"] == "6"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert "report/index.html" in artifacts
