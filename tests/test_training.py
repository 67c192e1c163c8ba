"""Training config, determinism, label alignment from labelled documents, corrections, sections pipeline."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from nianbao.cli import build_parser
from nianbao.extraction.meta import Meta, reconcile
from nianbao.extraction.meta_ner import ner_meta
from nianbao.models import ARTIFACTS
from nianbao.models.sections import SECTIONS_PIPELINE, SectionReader
from nianbao.schema import load_schema
from nianbao.training.config import DEFAULT_CONFIG, ConfigError, load_config, parse_config
from nianbao.training.labelled import (
    CorrectionError,
    align_examples,
    document_examples,
    harvest,
    parse_corrections,
)
from nianbao.training.province import COLUMN_NAMES, EXTRA_ROW, ROW_NAMES, write_province_corpus
from nianbao.training.train import RUNS_DIR, artifact_directory, consistent, fit, label_corpus

RAW = tomllib.loads(DEFAULT_CONFIG.read_text("utf-8"))


def small_config():
    config = load_config()
    return config.replace("corpus", per_concept=6, none_per_wording=1, synthesized_reports=8)


def test_default_config_loads_and_flattens_every_setting():
    config = load_config()
    flat = config.flat()
    assert flat["training.seed"] == str(RAW["training"]["seed"])
    assert flat["field_mapper.char_ngram_range"] == "1,3"
    assert len(flat) == sum(len(v) for v in RAW.values())


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda raw: raw["field_mapper"].update(c=1.0), "E_CONFIG_KEY"),  # a misspelt C
        (lambda raw: raw.update(extra={"x": 1}), "E_CONFIG_KEY"),
        (lambda raw: raw["heldout"].pop("seed"), "E_CONFIG_MISSING"),
        (lambda raw: raw["training"].update(seed="1"), "E_CONFIG_TYPE"),
        (lambda raw: raw["learning_curve"].update(fractions=0.5), "E_CONFIG_TYPE"),
    ],
)
def test_config_refuses_what_it_does_not_know(change, code):
    raw = json.loads(json.dumps(RAW))
    change(raw)
    with pytest.raises(ConfigError, match=code):
        parse_config(raw)


def test_config_file_errors_have_codes(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("[training\nseed=1", "utf-8")
    with pytest.raises(ConfigError, match="E_CONFIG_SYNTAX"):
        load_config(bad)


def test_a_run_writes_its_own_directory_and_only_install_replaces_the_shipped_model(tmp_path):
    parse = build_parser().parse_args
    default = parse(["train"])
    made = artifact_directory(default.out, default.install)
    assert made.parts[0] == RUNS_DIR and made.name.startswith("train-") and made != ARTIFACTS
    chosen = parse(["train", "--out", str(tmp_path)])
    assert artifact_directory(chosen.out, chosen.install) == tmp_path
    installing = parse(["train", "--install"])
    assert artifact_directory(installing.out, installing.install) == ARTIFACTS
    with pytest.raises(SystemExit):
        parse(["train", "--install", "--out", str(tmp_path)])


def test_training_is_deterministic_for_a_seed():
    config = small_config()
    first, _ = label_corpus(config, [])
    second, _ = label_corpus(config, [])
    assert first == second
    probe = ["（一）予以公开", "自然人", "二、主动公开政府信息情况", "本年新收申请", "合 计"]
    a, b = fit(config, first), fit(config, second)
    assert np.array_equal(a.predict_proba(probe), b.predict_proba(probe))
    other, _ = label_corpus(config.replace("training", seed=7), [])
    assert other.texts != first.texts  # the seed does decide


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("province")
    write_province_corpus(out, 4, seed=99)
    return out


def _truth() -> dict[str, set[str]]:
    truth: dict[str, set[str]] = {name: {f"row:s3.{row}"} for row, name in ROW_NAMES.items()}
    truth |= {name: {f"col:s3.{col}"} for col, name in COLUMN_NAMES.items()}
    truth[EXTRA_ROW[0]] = {"none"}
    return truth


def test_labels_of_a_new_layout_are_aligned_through_gold_values(province):
    schema, truth = load_schema(), _truth()
    found = harvest([province], schema)
    assert found.documents == 4 and not found.skipped
    s3 = [(t, c) for t, c in consistent(found.examples) if t in truth]
    assert len({c for _, c in s3}) >= 10  # many province rows and columns named from 4 documents
    wrong = [(t, c) for t, c in s3 if c not in truth[t]]
    assert not wrong
    assert (EXTRA_ROW[0], "none") in s3


def test_rows_of_zeros_give_no_examples():
    from nianbao.extraction.grid import Piece, Row

    rows = [
        Row([Piece("甲", 0)], [Piece("0", 1), Piece("0", 2)], "r1", table=1, positional=True),
        Row([Piece("乙", 0)], [Piece("5", 1), Piece("2", 2)], "r2", table=1, positional=True),
    ]
    fields = {
        "s3.new.natural_person": 0,
        "s3.new.total": 0,
        "s3.granted.natural_person": 5,
        "s3.granted.total": 2,
        "s3.partial.natural_person": 0,
        "s3.partial.total": 0,
    }
    assert align_examples(rows, fields, load_schema()) == [("乙", "row:s3.granted")]


def _write_corrections(path: Path, lines: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", "utf-8")
    return path


GOOD = {
    "document": "a.md",
    "field": "s3.granted.total",
    "value": 3,
    "reviewer": "li",
    "time": "2025-03-02T10:15:00+08:00",
}


def test_corrections_are_parsed_and_resolved_beside_the_file(tmp_path):
    path = _write_corrections(tmp_path / "c.jsonl", [GOOD, {**GOOD, "field": "meta.year", "value": 2023}])
    parsed = parse_corrections(path)
    assert [c.field for c in parsed] == ["s3.granted.total", "meta.year"]
    assert parsed[0].document == tmp_path / "a.md" and parsed[0].time.year == 2025


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ({k: v for k, v in GOOD.items() if k != "reviewer"}, "E_CORRECTION_KEYS"),
        ({**GOOD, "extra": 1}, "E_CORRECTION_KEYS"),
        ({**GOOD, "field": "s3.granted.everyone"}, "E_CORRECTION_FIELD"),
        ({**GOOD, "value": "three"}, "E_CORRECTION_VALUE"),
        ({**GOOD, "field": "meta.year", "value": 2023.5}, "E_CORRECTION_VALUE"),
        ({**GOOD, "time": "yesterday"}, "E_CORRECTION_TIME"),
        ({**GOOD, "reviewer": " "}, "E_CORRECTION_REVIEWER"),
    ],
)
def test_bad_corrections_are_refused_with_their_line(tmp_path, line, code):
    path = _write_corrections(tmp_path / "c.jsonl", [GOOD, line])
    with pytest.raises(CorrectionError, match=f"{code}: .*c.jsonl:2"):
        parse_corrections(path)


def test_corrections_become_label_examples_of_the_corrected_rows(tmp_path, province, extractor):
    schema, truth = load_schema(), _truth()
    gold = json.loads(sorted(province.glob("*.gold.json"))[0].read_text("utf-8"))
    source = province / gold["document"]
    record = extractor.extract(source)
    wrong = [k for k, v in gold["fields"].items() if record["fields"].get(k) != v]
    assert wrong, "the shipped model should not know the province layout yet"
    lines = [{**GOOD, "document": str(source), "field": k, "value": gold["fields"][k]} for k in wrong]
    lines.append({**GOOD, "document": "missing.html"})
    found = harvest([_write_corrections(tmp_path / "c.jsonl", lines)], schema)
    assert found.documents == 1 and list(found.skipped) == [str(tmp_path / "missing.html")]
    touched = {c for k in wrong for c in (f"row:{k.rsplit('.', 1)[0]}", f"col:s3.{k.rsplit('.', 1)[1]}")}
    assert found.examples and all(c in touched for _, c in found.examples)
    assert all(c in truth[t] for t, c in found.examples if t in truth)
    everything = document_examples(source, gold["fields"], schema)
    assert len(everything) > len(found.examples)  # only what the corrections touch is taken


def test_reconcile_keeps_rules_fills_gaps_and_flags_disagreement():
    meta, flags = reconcile(Meta("甲局", None), Meta("乙局", 2023))
    assert meta == Meta("甲局", 2023)
    assert [f.field for f in flags] == ["meta.agency"]
    assert reconcile(Meta("甲局", 2023), Meta("甲局", 2023)) == (Meta("甲局", 2023), [])


@pytest.mark.skipif(not SECTIONS_PIPELINE.is_dir(), reason="sections pipeline not trained")
def test_sections_pipeline_reads_renumbered_noisy_headings_and_titles():
    reader = SectionReader.load()
    headings = {
        "三、主动公开政府信息情况": "s2",  # renumbered
        "（五）收到和处埋政府信息公开申请情况": "s3",  # OCR look-alike
        "第一部分 被申请行政复议、提起行政诉讼情况": "s4",
        "6. 存在的主要问题及改进措施": "s5",
        "二、其他需要报告的事项": "s6",
        "一、 总 体情况": "s1",
    }
    assert [label for label, _ in reader.classify(list(headings))] == list(headings.values())
    lines = ["", "# 宁波市鄞州区市场监督管理局", "2023 年政府信息公开工作年度报告", "本报告由…"]
    assert ner_meta(reader, lines) == Meta("宁波市鄞州区市场监督管理局", 2023)
