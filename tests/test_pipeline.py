import json
from pathlib import Path

import pytest
from bad_inputs import BAD_INPUTS, blank_pdf

from nianbao.cli import main
from nianbao.schema import load_schema


@pytest.mark.parametrize(("name", "content", "code"), BAD_INPUTS)
def test_bad_input_gets_a_clear_error(
    extractor, tmp_path: Path, name: str, content: bytes, code: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    record = extractor.extract(path)
    assert record["error"] and record["error"].startswith(code), record["error"]
    assert record["fields"] == {} and record["document"] == str(path)


def test_record_shape_follows_the_contract(extractor, seeds: Path) -> None:
    record = extractor.extract(seeds / "004_548bc2f7026a6c36.txt")
    assert set(record) == {"document", "meta", "fields", "confidence", "flags", "error"}
    assert record["meta"]["format"] == "2019"
    assert list(record["fields"]) == load_schema().field_keys("2019") == list(record["confidence"])
    assert all(0.0 <= c <= 1.0 for c in record["confidence"].values())


def test_cli_carries_on_after_a_bad_file_and_fails_the_run(seeds: Path, tmp_path: Path) -> None:
    bad = tmp_path / "empty.txt"
    bad.write_bytes(b"")
    out = tmp_path / "records.jsonl"
    status = main(["extract", str(seeds / "002_2bbf5a6dca21b53c.txt"), str(bad), "-o", str(out)])
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert status == 1
    assert [r["error"] is None for r in records] == [True, False]


def test_cli_walks_directories_and_skips_gold_files(seeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    assert main(["extract", str(seeds), "-o", str(out)]) == 0
    assert len(out.read_text("utf-8").splitlines()) == 5


def test_evaluate_seeds_meets_the_bar(seeds: Path, capsys) -> None:
    assert main(["evaluate", str(seeds), "--min", "99.5"]) == 0
    assert "field accuracy" in capsys.readouterr().out


def test_pdf_page_limits(extractor, tmp_path: Path) -> None:
    huge = tmp_path / "archive.pdf"
    huge.write_bytes(blank_pdf(301))
    assert extractor.extract(huge)["error"].startswith("E_TOO_LARGE")
    zero = tmp_path / "zero.pdf"
    zero.write_bytes(blank_pdf(1).replace(b"/Count 1", b"/Count 0").replace(b"/Kids [ 3 0 R ]", b"/Kids [ ]"))
    assert extractor.extract(zero)["error"].split(":")[0] in ("E_EMPTY", "E_CORRUPT")


def test_fields_of_a_pdf_carry_their_page_and_cell_box(extractor) -> None:
    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    record, evidence = extractor.extract_with_evidence(next(samples.glob("syn_pdf_*.pdf")))
    assert record["error"] is None and evidence
    boxes = [e.box for e in evidence.values()]
    assert all(b is not None and b.page >= 1 and 0 <= b.x0 < b.x1 <= 596 and b.top < b.bottom for b in boxes)


NEGATIVE_COUNT = """# 某某县人民政府2023年政府信息公开工作年度报告

二、主动公开政府信息情况

| 第二十条第一项 | | | |
|---|---|---|---|
| 信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数 |
| 规章 | 1 | 0 | 5 |

| 第二十条第五项 | |
|---|---|
| 信息内容 | 本年处理决定数量 |
| 行政许可 | -12 |
"""


def test_a_negative_count_is_kept_as_printed_but_doubted(extractor, tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    path.write_text(NEGATIVE_COUNT, "utf-8")
    record = extractor.extract(path)
    path.write_text(NEGATIVE_COUNT.replace("-12", "12"), "utf-8")
    positive = extractor.extract(path)
    key = "s2.licensing.decisions"
    assert record["fields"][key] == -12, "a printed value is never changed"
    assert record["confidence"][key] < positive["confidence"][key]
    assert [f["kind"] for f in record["flags"] if f.get("field") == key] == ["value_uncertain"]
    assert not [f for f in positive["flags"] if f.get("field") == key]
