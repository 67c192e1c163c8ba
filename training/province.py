"""A layout no trained model has seen: a province's own 依申请公开 table, for the adaptation experiment.

What changes against the national template (evaluation/synth/ draws everything else): the s3
rows are renamed in a province's administrative wording and reordered (the balance first, then the
outcome groups in another order), an extra row 其中：网上提交 follows the new applications, the
applicant columns come in another order and are named in an everyday register (公民, 企业 ...), and
the header is one flat row. The content (values, deviations, agency, narrative, s2 and s4 tables) is
the synthesizer's, so the gold is built the same way and only the s3 table is foreign.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path

from nianbao.evaluation.synth.blocks import Cell, Table, place
from nianbao.evaluation.synth.content import Doc, draw
from nianbao.evaluation.synth.corpus import document_seed, gold_path
from nianbao.evaluation.synth.forms import GENERATOR_VERSION, RENDER, SUFFIX, Report
from nianbao.evaluation.synth.gold import gold_record
from nianbao.evaluation.synth.layout import report_blocks

STYLE = "province"
FORMS = ("html", "docx", "md")
ROW_NAMES = {
    "new": "本年度新受理的申请",
    "carried_over": "上年度未办结的申请",
    "total": "办结合计",
    "granted": "同意公开",
    "partial": "同意部分公开",
    "not_processed.petition": "不予处理：信访、举报、投诉类",
    "not_processed.duplicate": "不予处理：重复提出",
    "not_processed.publication": "不予处理：索取公开出版物",
    "not_processed.excessive": "不予处理：大量反复申请",
    "not_processed.confirmation": "不予处理：要求确认或重新出具",
    "unavailable.not_held": "无法提供：本单位未掌握",
    "unavailable.needs_creation": "无法提供：需要另行制作",
    "unavailable.unclear": "无法提供：补正后仍不明确",
    "withheld.state_secret": "不予公开：涉及国家秘密",
    "withheld.prohibited": "不予公开：法律法规禁止",
    "withheld.security_stability": "不予公开：危害安全稳定",
    "withheld.third_party": "不予公开：损害第三方权益",
    "withheld.internal": "不予公开：内部事务",
    "withheld.process": "不予公开：过程性信息",
    "withheld.enforcement": "不予公开：执法案卷",
    "withheld.query": "不予公开：查询事项",
    "other.no_correction": "其他：逾期不补正",
    "other.unpaid_fee": "其他：逾期不缴费",
    "other.other": "其他：其他情形",
    "other": "其他方式处理",
    "carried_forward": "转入下年度办理",
}
ROW_ORDER = list(ROW_NAMES)  # the province's order: balance first, then the outcome groups reordered
EXTRA_ROW = ("其中：网上提交的申请", "new")  # printed under this row, a share of its numbers
COLUMN_NAMES = {
    "total": "总数",
    "natural_person": "公民",
    "legal_service": "律师事务所",
    "commercial": "企业",
    "research": "科研院所",
    "social_welfare": "公益团体",
    "other_org": "其他单位",
}
CORNER = "申请办理情况"


def _province_s3(d: Doc) -> Table:
    sec = d.sec("s3")
    template = sec.row_order(d.fmt)
    shown = ["other" if d.old_other and r.startswith("other.") else r for r in template]
    rows = [r for r in ROW_ORDER if r in shown and r not in d.dropped]
    columns = [c for c in COLUMN_NAMES if c in sec.columns_of(d.fmt, template[0])]
    body = [[Cell(CORNER), *(Cell(COLUMN_NAMES[c]) for c in columns)]]
    for row in rows:
        body.append([Cell(ROW_NAMES[row]), *(Cell(d.printed[sec.key(row, c)], num=True) for c in columns)])
        if row == EXTRA_ROW[1]:
            shares = {c: int(d.values[sec.key(row, c)] * 0.6) for c in columns if c != "total"}
            shares["total"] = sum(shares.values())
            body.append([Cell(EXTRA_ROW[0]), *(Cell(str(shares[c]), num=True) for c in columns)])
    return place(body, head=1, widths=[14] + [4] * len(columns), kind="s3")


def province_seeds(seed: int) -> Iterator[int]:
    """Document seeds of the province corpus: only agencies that received applications, since a
    province-level table is printed by agencies large enough to fill it (zeros show no layout)."""
    for attempt in itertools.count():
        doc_seed = document_seed(seed, STYLE, attempt)
        if draw(doc_seed, "html", None).profile != "zero":
            yield doc_seed


def build_province_report(doc_seed: int, form: str) -> Report:
    """One report in the province layout; the same gold shape as the synthesizer's."""
    if form not in FORMS:
        raise ValueError(f"province reports come as {FORMS}, not {form!r}")
    d = draw(doc_seed, form, None)
    blocks = [_province_s3(d) if isinstance(b, Table) and b.kind == "s3" else b for b in report_blocks(d)]
    content = RENDER[form](blocks, d)
    document = f"prov_{form}_{doc_seed}{SUFFIX[form]}"
    gold = gold_record(d, document, form, STYLE, doc_seed, f"{GENERATOR_VERSION}+{STYLE}1")
    return Report(content, gold, SUFFIX[form], d.inconsistent, d.old_other)


def write_province_corpus(out_dir: Path, n: int, seed: int, start: int = 0) -> list[Path]:
    """Documents ``start`` … ``start + n - 1`` of the province corpus of ``seed``, with gold beside each;
    a larger ``start`` gives documents disjoint from a smaller corpus of the same seed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, doc_seed in enumerate(itertools.islice(province_seeds(seed), start, start + n), start):
        report = build_province_report(doc_seed, random.Random(f"{seed}/{i}").choice(FORMS))
        path = out_dir / report.gold["document"]
        path.write_bytes(report.content)
        gold_path(path).write_text(
            json.dumps(report.gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        paths.append(path)
    return paths
