"""The mdconv form: reports as PDF→Markdown converters print them (evaluation/synth/render_mdconv.py).

Its gold is the content every other form prints; its rendering comes from an rng of its own, so the other
forms' bytes do not move (tests/test_evalset.py checks them against the kept set).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from types import SimpleNamespace

from nianbao.evaluation.synth.blocks import Cell, Table, place
from nianbao.evaluation.synth.content import draw
from nianbao.evaluation.synth.corpus import gold_path, write_corpus
from nianbao.evaluation.synth.forms import build_report, make_report
from nianbao.evaluation.synth.layout import report_blocks
from nianbao.evaluation.synth.render_mdconv import Habits, convert
from nianbao.evaluation.synth.scorecard import input_form

SAMPLE = range(300, 316)
NUMBER = re.compile(r"^[+-]?[0-9０-９][0-9０-９,.]*元?$")


def _habits(**changes: object) -> Habits:
    plain = Habits(
        keep_label=0.0,
        rowwise=0.0,
        cut=0.0,
        floated=0.0,
        glue=0.0,
        after=0.0,
        group_after=0.0,
        empty_lead=0.0,
        between=0.0,
        page_mark="— {n} —",
        keep_pages=True,
        heading_marks=True,
        sep="\n",
        loose=False,
    )
    for k, v in changes.items():
        setattr(plain, k, v)
    return plain


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\|(-+\|)+", line))


def _printed_numbers(blocks: list) -> list[str]:
    """The numeric cells of a document's tables, in the document's order."""
    out = []
    for b in blocks:
        if isinstance(b, Table):
            cells = sorted(b.cells, key=lambda c: (c.r, c.c))
            out += [c.text for c in cells if c.num and NUMBER.match(c.text)]
    return out


def _read_numbers(text: str) -> tuple[list[str], list[str]]:
    """Numbers in pipe rows (in order) and loose number lines, from a converted document."""
    in_rows, loose = [], []
    for line in text.split("\n"):
        if line.startswith("|"):
            if not _is_rule(line):
                in_rows += [c for c in _cells(line) if NUMBER.match(c)]
        elif NUMBER.match(line.strip()):
            loose.append(line.strip())
    return in_rows, loose


def _sample() -> list[tuple[object, list, str, Counter]]:
    out = []
    for seed in SAMPLE:
        d = draw(seed, "mdconv", None)
        blocks = report_blocks(d)
        text, events = convert(blocks, d)
        out.append((d, blocks, text, events))
    return out


def test_same_seed_same_bytes_and_the_gold_of_every_other_form() -> None:
    for seed in (3, 41, 2027):
        content, gold, suffix = make_report(seed, "mdconv")
        assert (content, gold, suffix) == make_report(seed, "mdconv") and suffix == ".md"
        other = make_report(seed, "tsv")[1]
        assert gold["fields"] == other["fields"] and gold["meta"] == other["meta"]
        assert gold["synth"]["form"] == gold["synth"]["style"] == "mdconv"
    assert make_report(3, "mdconv")[0] != make_report(4, "mdconv")[0]


def test_the_form_draws_from_its_own_rng() -> None:
    d = draw(77, "mdconv", None)
    blocks = report_blocks(d)
    state = d.rng.getstate()
    convert(blocks, d)
    assert d.rng.getstate() == state  # the content stream is untouched: no other form's bytes can move


def test_numbers_keep_the_document_row_order() -> None:
    floated = 0
    for _, blocks, text, events in _sample():
        printed = _printed_numbers(blocks)
        in_rows, loose = _read_numbers(text)
        assert Counter(in_rows + loose) == Counter(printed)
        if events["floated"]:
            floated += 1
            assert len(loose) >= events["floated"]
        else:
            assert in_rows == printed and not loose
    assert floated  # the sample has a floated value


def test_a_sample_shows_the_converters_patterns() -> None:
    total, docs = Counter(), Counter()
    outside = 0
    for _, _, text, events in _sample():
        total.update(events)
        docs.update(k for k, v in events.items() if v)
        lines = text.split("\n")
        rows = [_cells(line) for line in lines if line.startswith("|") and not _is_rule(line)]
        numbers_only = [row for row in rows if all(NUMBER.match(c) or not c for c in row)]
        assert numbers_only  # rows of numbers with no label
        prose = "".join(line for line in lines if not line.startswith("|"))
        outside += "国家秘密" in prose  # a row label printed outside its table
    n = len(SAMPLE)
    assert docs["numbers_only_row"] == n and docs["detached_label"] == n
    assert outside >= n // 2
    for pattern in ("labelled_row", "floated", "glued", "labels_after", "page_mark", "torn_inside"):
        assert docs[pattern] >= 1, pattern
    assert sum(docs[f"header_{m}"] > 0 for m in ("pipe", "split", "lines", "vertical")) >= 3


def test_a_short_row_under_its_header_and_the_loose_value() -> None:
    head = [Cell("信息内容"), Cell("本年制发件数"), Cell("本年废止件数"), Cell("现行有效件数")]
    table = place(
        [head, [Cell("规章"), *(Cell(v, num=True) for v in ("5", "2", "31"))]], 1, [16, 8, 8, 8], ""
    )
    text, events = convert([table], SimpleNamespace(seed=5), _habits(keep_label=1.0, floated=1.0))
    lines = text.split("\n")
    row = next(line for line in lines if line.startswith("| 规章"))
    assert events["floated"] == 1 and len(_cells(row)) == 3  # label and two values under four header cells
    loose = [line for line in lines if NUMBER.match(line)]
    assert len(loose) == 1 and [*_cells(row)[1:], *loose] != ["5", "2", "31"]
    assert sorted([*_cells(row)[1:], *loose]) == sorted(["5", "2", "31"])
    kept = _cells(row)[1:]
    assert kept == [v for v in ("5", "2", "31") if v != loose[0]]  # the rest keep their order


def test_a_merged_group_comes_out_as_the_spec_shows_it() -> None:
    rows = [
        "1.属于国家秘密",
        "2.其他法律行政法规禁止公开",
        "3.危及“三安全一稳定”",
        "4.保护第三方合法权益",
    ]
    values = [["0"] * 7, ["1", "0", "0", "0", "0", "0", "1"], ["0"] * 7, ["2", "0", "0", "0", "0", "0", "2"]]
    grid_rows = [
        [Cell(label), *(Cell(v, num=True) for v in vals)] for label, vals in zip(rows, values, strict=True)
    ]
    grid_rows[0].insert(0, Cell("（三）不予公开", rs=4))
    table = place(grid_rows, 0, [4, 10] + [3] * 7, "")  # a kind with no page tear
    text, events = convert([table], SimpleNamespace(seed=9), _habits())
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    labels = lines[:first]
    assert "".join(labels) == "（三）不予公开" + "".join(rows)  # every label before the numbers, in order
    assert len(labels) >= 6  # the group label and the long row label wrapped over lines
    body = [_cells(line) for line in lines[first:] if line.startswith("|") and not _is_rule(line)]
    assert body == values and lines[first + 1] == "|---|---|---|---|---|---|---|"
    assert events["numbers_only_row"] == 4 and events["detached_label"] == 4


def test_labels_after_and_in_the_first_cell_keep_the_row_order() -> None:
    labels = [f"{i}.标签{i}" for i in range(1, 5)]
    table = place([[Cell(t), Cell(str(i), num=True)] for i, t in enumerate(labels, 1)], 0, [10, 3], "")
    for seed in range(20):
        habits = _habits(keep_label=0.4, after=1.0, rowwise=0.5)
        text, _ = convert([table], SimpleNamespace(seed=seed), habits)
        kept = [_cells(line) for line in text.split("\n") if line.startswith("|") and not _is_rule(line)]
        assert [row[-1] for row in kept] == ["1", "2", "3", "4"]
        loose = [line for line in text.split("\n") if line and not line.startswith("|")]
        in_cells = [row[0] for row in kept if len(row) == 2]
        assert sorted(loose + in_cells) == labels
        assert [t for t in labels if t in loose] == [t for t in loose if t in labels]  # in order


def test_synth_writes_the_form_and_evaluate_names_it(tmp_path) -> None:
    paths = write_corpus(tmp_path, 2, ["mdconv"], 555)
    assert [p.suffix for p in paths] == [".md", ".md"]
    for p in paths:
        assert p.name.startswith("syn_mdconv_")
        gold = json.loads(gold_path(p).read_text("utf-8"))
        assert input_form(p, gold) == "mdconv"
    assert build_report(int(paths[0].stem.split("_")[-1]), "mdconv").content == paths[0].read_bytes()
