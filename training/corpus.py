"""The label corpus: official wordings and known variants, multiplied by systematic noise.

Real labels arrive renumbered, OCR-damaged, truncated by line wraps and glued to
their neighbours; each perturbation below imitates one of those, so the mapper
learns the concept rather than the string.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import yaml

from nianbao.evaluation.synth.corpus import printed_labels
from nianbao.schema import load_schema

# OCR confusions seen in real reports (spec/real-world.md) and common look-alikes.
OCR_CONFUSIONS: dict[str, str] = {
    "废": "度",
    "转": "传",
    "开": "幵",
    "人": "入",
    "已": "己",
    "未": "末",
    "申": "甲",
    "理": "埋",
    "日": "曰",
    "干": "千",
    "土": "士",
    "处": "外",
    "制": "判",
    "请": "清",
    "决": "快",
    "务": "各",
    "息": "自",
    "数": "教",
    "量": "最",
    "计": "汁",
    "总": "息",
    "复": "夏",
    "议": "仪",
    "诉": "拆",
}
_NUMBERING = re.compile(r"^\s*(?:[（(]?[一二三四五六七八九十]+[)）、.．]|[（(]?\d+[)）、.．]|[①-⑩])\s*")
_NUMBER_STYLES: tuple[Callable[[int], str], ...] = (
    lambda i: f"{i}.",
    lambda i: f"{i}、",
    lambda i: f"（{i}）",
    lambda i: f"({i})",
    lambda i: "一二三四五六七八九十"[i - 1] + "、",
    lambda i: f"（{'一二三四五六七八九十'[i - 1]}）",
    lambda i: chr(0x2460 + i - 1),
)


@dataclass(frozen=True)
class LabelCorpus:
    texts: list[str]
    labels: list[str]


def base_wordings() -> dict[str, list[str]]:
    """Concept → wordings: the schema's official one first, then data/labels.yaml's variants."""
    raw = yaml.safe_load(resources.files("nianbao.data").joinpath("labels.yaml").read_text("utf-8"))
    wordings: dict[str, list[str]] = {}
    for section in load_schema().sections.values():
        for kind, names in (("row", section.rows), ("col", section.columns)):
            for name, zh in names.items():
                wordings[f"{kind}:{section.name}.{name}"] = [zh]
    for concept, variants in raw["wordings"].items():
        wordings.setdefault(concept, [])
        wordings[concept].extend(v for v in variants if v not in wordings[concept])
    return wordings


def _renumber(text: str, rng: random.Random) -> str:
    bare = _NUMBERING.sub("", text)
    if rng.random() < 0.4:
        return bare
    return rng.choice(_NUMBER_STYLES)(rng.randint(1, 8)) + bare


def _ocr(text: str, rng: random.Random) -> str:
    spots = [i for i, ch in enumerate(text) if ch in OCR_CONFUSIONS]
    if not spots:
        return text
    i = rng.choice(spots)
    return text[:i] + OCR_CONFUSIONS[text[i]] + text[i + 1 :]


def _drop_or_double(text: str, rng: random.Random) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(len(text))
    return text[:i] + text[i + 1 :] if rng.random() < 0.6 else text[:i] + text[i] + text[i:]


def _truncate(text: str, rng: random.Random) -> str:
    if len(text) < 6:
        return text
    keep = rng.randint(max(3, int(len(text) * 0.55)), len(text) - 1)
    return text[:keep] if rng.random() < 0.7 else text[len(text) - keep :]


def _spaces(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text) + 1)
    return text[:i] + rng.choice([" ", "  ", "\n", "<br>"]) + text[i:]


PERTURBATIONS: tuple[Callable[[str, random.Random], str], ...] = (
    _renumber,
    _ocr,
    _drop_or_double,
    _truncate,
    _spaces,
)
# Column headers of the templates are never numbered: a "(7)" prefix is evidence of a row.
COLUMN_PERTURBATIONS = tuple(p for p in PERTURBATIONS if p is not _renumber)


def _glue(text: str, furniture: list[str], rng: random.Random) -> str:
    """A neighbour's text glued before or after: parent cells, headers, wrapped fragments."""
    other = rng.choice(furniture)
    if rng.random() < 0.5:
        return other + rng.choice(["", " "]) + text
    return text + rng.choice(["", " "]) + other[: rng.randint(1, max(1, len(other) // 2))]


def build_corpus(
    seed: int, per_concept: int = 160, none_per_wording: int = 12, synthesized_reports: int = 600
) -> LabelCorpus:
    """Deterministic for a seed: every concept gets its wordings plus ``per_concept`` noisy copies, and
    each distinct label printed in ``synthesized_reports`` synthesized reports (wrapped, vertical, renumbered,
    reworded as agencies print them) is one more example."""
    rng = random.Random(seed)
    wordings = base_wordings()
    furniture = [w for w in wordings["none"] if len(w) <= 20]
    texts: list[str] = []
    labels: list[str] = []
    for concept, variants in sorted(wordings.items()):
        count = none_per_wording * len(variants) if concept == "none" else per_concept
        texts.extend(variants)
        labels.extend([concept] * len(variants))
        for _ in range(count):
            text = rng.choice(variants)
            pool = COLUMN_PERTURBATIONS if concept.startswith("col:") else PERTURBATIONS
            for perturb in rng.sample(pool, rng.randint(1, 2)):
                text = perturb(text, rng)
            if concept.startswith(("row:", "col:")) and rng.random() < 0.25:
                text = _glue(text, furniture, rng)
            texts.append(text)
            labels.append(concept)
    for text, concept in dict.fromkeys(printed_labels(seed, synthesized_reports)):
        texts.append(text)
        labels.append(concept)
    return LabelCorpus(texts, labels)
