import json
from pathlib import Path

import pytest

from nianbao.cli import main
from nianbao.schema import load_schema


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("empty.txt", b"", "E_EMPTY"),
        ("blank.md", b"   \n\n ", "E_EMPTY"),
        ("binary.txt", b"\x00\x01\x02garbage" * 50, "E_BINARY"),
        ("truncated.pdf", b"%PDF-1.7\n...", "E_CORRUPT"),
        ("scan.png", b"\x89PNG\r\n\x1a\n", "E_UNSUPPORTED"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "E_CORRUPT"),
        (
            "menu.html",
            "<html><body><p>欢迎访问本网站</p><table><tr><td>联系我们</td></tr></table></body></html>".encode(),
            "E_NOT_REPORT",
        ),
        ("notes.txt", "今天开会讨论了明年的工作计划。\n参会人员 12 人。\n".encode(), "E_NOT_REPORT"),
    ],
)
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
