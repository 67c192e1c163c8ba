"""textcat data for the sections pipeline: every heading and paragraph of synthesized reports
(evaluation/synth/ draws their numbering and wording), labelled with the section it belongs to (title,
agency and date lines, page marks: "none"), plus noisy copies — renumbered with any number and style (the
number must not decide), another wording of the heading (training/section_headings.yaml), OCR look-alikes,
dropped characters, stray spaces. The held-out set is drawn the same way from other document seeds.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import yaml

from nianbao.evaluation.synth import content, corpus, layout, wording
from nianbao.evaluation.synth.blocks import Heading, Page, Para
from nianbao.models.sections import NONE_LABEL, SECTION_LABELS
from nianbao.training.config import TrainConfig
from nianbao.training.corpus import OCR_CONFUSIONS

LABELS = (*SECTION_LABELS, NONE_LABEL)
_HEAD_NUMBERS = ("{cn}、", "{n}、", "（{cn}）", "第{cn}部分 ", "{cn}. ", "{n}.", "({n})", "")
LOOK_ALIKES = {**OCR_CONFUSIONS, **wording.OCR_CONFUSIONS}  # OCR noise of the textcat's and the ner's data


def _section_names(schema) -> dict[str, str]:
    """Template heading body → section label (the synthesizer's six headings)."""
    return {
        "总体情况": "s1",
        schema.sections["s2"].zh: "s2",
        schema.sections["s3"].zh: "s3",
        schema.sections["s4"].zh: "s4",
        "存在的主要问题及改进情况": "s5",
        "其他需要报告的事项": "s6",
    }


def report_blocks(doc_seed: int) -> Iterator[tuple[str, str, bool]]:
    """(text, label, is_section_heading) for the headings and text blocks of one synthesized report."""
    d = content.draw(doc_seed, "md", None)
    names = _section_names(d.schema)
    section = NONE_LABEL
    blocks = layout.report_blocks(d)
    for i, block in enumerate(blocks):
        if isinstance(block, Heading) and block.level == 1:
            section = next(label for body, label in names.items() if block.text.endswith(body))
            yield block.text, section, True
        elif isinstance(block, Heading):
            yield from (
                (line, NONE_LABEL if block.level == 0 else section, False) for line in block.text.split("\n")
            )
        elif isinstance(block, Page):
            yield block.text, NONE_LABEL, False
        elif isinstance(block, Para):  # the closing agency and date lines are not a section
            closing = i >= len(blocks) - 2
            yield block.text[:120], NONE_LABEL if closing or section == NONE_LABEL else section, False


def _noisy(text: str, label: str, wordings: dict[str, list[str]], rng: random.Random, cfg) -> str:
    if label in wordings and rng.random() < cfg.renumber_rate:
        n = rng.randint(1, 9)
        body = (
            rng.choice(wordings[label])
            if rng.random() < 0.5
            else text.lstrip("第一二三四五六七八九十、.（）() 0123456789部分")
        )
        text = rng.choice(_HEAD_NUMBERS).format(cn=wording.CN[n], n=n) + body
    chars = [(LOOK_ALIKES.get(ch, ch) if rng.random() < cfg.ocr_rate else ch) for ch in text]
    if len(chars) > 4 and rng.random() < 0.2:
        del chars[rng.randrange(len(chars))]
    if rng.random() < 0.2:
        chars.insert(rng.randrange(len(chars) + 1), " ")
    return "".join(chars)


def examples(seed: int, n_reports: int, copies: int, config: TrainConfig) -> list[tuple[str, str]]:
    """Deterministic for a seed: (text, label) from n synthesized reports, headings with noisy copies."""
    cfg = config.sections
    wordings = yaml.safe_load(config.path(cfg.headings).read_text("utf-8"))
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for i in range(n_reports):
        for text, label, heading in report_blocks(corpus.document_seed(seed, "sections", i)):
            out.append((text, label))
            for _ in range(copies if heading else 0):
                out.append((_noisy(text, label, wordings, rng, cfg), label))
            if not heading and rng.random() < 0.3:
                out.append((_noisy(text, label, wordings, rng, cfg), label))
    return out
