"""Held-out perturbations of the seed tables, each with its own expected values.

The seeds print almost only zeros; here every value cell gets a generated number
(identities kept), and labels, row order, columns and page breaks are perturbed
the way real reports differ. Expectations come from the generator, not from the
extractor.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from nianbao.schema import load_schema

ZERO = re.compile(r"(?<=[\s|])\d+(?=[\s|]|$)")
HEADINGS = {
    "s2": "主动公开政府信息情况",
    "s3": "收到和处理政府信息公开申请情况",
    "s4": "政府信息公开行政复议、行政诉讼情况",
}


def consistent_values(rng: random.Random, fmt: str) -> dict[str, int]:
    """An s3/s4 table whose identities hold, with the sparse counts real agencies report."""
    schema = load_schema()
    s3 = schema.sections["s3"]
    rows = s3.row_order(fmt)
    outcome_rows = [r for r in rows if r not in ("new", "carried_over", "total", "carried_forward")]
    applicants = ["natural_person", "commercial", "research", "social_welfare", "legal_service", "other_org"]
    values: dict[str, int] = {}
    for col in applicants:
        scale = rng.choice([0, 1, 3, 20, 400])
        for r in outcome_rows:
            values[s3.key(r, col)] = rng.randint(0, scale) if rng.random() < 0.4 else 0
        total = sum(values[s3.key(r, col)] for r in outcome_rows)
        forward = rng.randint(0, scale)
        carried = rng.randint(0, total + forward)
        values.update(
            {
                s3.key("total", col): total,
                s3.key("carried_forward", col): forward,
                s3.key("carried_over", col): carried,
                s3.key("new", col): total + forward - carried,
            }
        )
    for r in rows:
        values[s3.key(r, "total")] = sum(values[s3.key(r, c)] for c in applicants)
    for group in ("review", "suit_direct", "suit_after_review"):
        parts = [rng.randint(0, 3) for _ in range(4)]
        for outcome, v in zip(
            ("upheld", "corrected", "other", "pending", "total"), [*parts, sum(parts)], strict=True
        ):
            values[f"s4.{group}.{outcome}"] = v
    return values


def _is_heading(line: str, heading: str) -> bool:
    bare = re.sub(
        r"^[\s#*]*(?:[一二三四五六七八九十\d]+\s*[、.．]|[（(][一二三四五六七八九十\d]+[)）])?[\s*]*",
        "",
        line,
    )
    return bare.startswith(heading)


def regions(text: str) -> list[tuple[list[str], int, int]]:
    """(sections, start, end) character spans of the tables; a section without heading joins the previous."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    # the last heading of that name: 一、总体情况 may have a sub-heading of the same words
    starts = [
        (max((i for i, line in enumerate(lines) if _is_heading(line, h)), default=None), name)
        for name, h in HEADINGS.items()
    ]
    last = max((i for i, _ in starts if i is not None), default=0)
    end_line = next(
        (
            i
            for i, line in enumerate(lines)
            if i > last and "存在的主要问题" in line and len(line.strip()) < 45
        ),
        len(lines),
    )
    spans: list[tuple[list[str], int, int]] = []
    for (start, name), nxt in zip(starts, [*starts[1:], (None, None)], strict=True):
        if start is None:
            if spans:
                spans[-1][0].append(name)
            continue
        stop = nxt[0] if nxt[0] is not None else end_line
        spans.append(([name], offsets[start], offsets[stop]))
    return spans


def fill(text: str, gold: dict, rng: random.Random) -> tuple[str, dict]:
    """Every printed 0 of the tables becomes a generated value; gold follows."""
    fmt = gold["meta"]["format"]
    generated = consistent_values(rng, fmt)
    expected = dict(gold["fields"])
    for sections, start, end in reversed(regions(text)):  # back to front, so earlier spans stay valid
        keys = [k for k in expected if k.split(".")[0] in sections and expected[k] is not None]
        zeros = list(ZERO.finditer(text, start, end))
        short_row = "s3" in sections and len(zeros) == len(keys) - 1  # a row that printed one cell less
        if short_row:
            keys.remove("s3.carried_forward.natural_person")
        assert len(zeros) == len(keys), (sections, len(zeros), len(keys))
        for match, key in reversed(list(zip(zeros, keys, strict=True))):
            if key.startswith("s2."):
                value: int | float = round(rng.uniform(0, 500), 2) if "amount" in key else rng.randint(0, 60)
            else:
                value = generated[key]
            expected[key] = value
            text = text[: match.start()] + f"{value}" + text[match.end() :]
        if short_row:  # the identities give the missing cell back
            expected["s3.carried_forward.natural_person"] = generated["s3.carried_forward.natural_person"]
    return text, expected


def typos(text: str) -> str:
    for right, wrong in (
        ("本年废止件数", "本年度止件数"),
        ("上年结转", "上年结传"),
        ("（一）予以公开", "（一）予以公幵"),
        ("属于国家秘密", "属于国家秘蜜"),
    ):
        text = text.replace(right, wrong, 1)
    return text


def swap_lines(text: str, first: str, second: str) -> str:
    """Two rows change places; their values go with them."""
    lines = text.split("\n")
    i = next(n for n, line in enumerate(lines) if first in line)
    j = next(n for n, line in enumerate(lines) if second in line)
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def page_break(text: str, before: str) -> str:
    at = text.index(before)
    at = text.rindex("\n", 0, at) + 1
    return text[:at] + "\n— 3 —\n\n" + text[at:]


def permute_tsv_columns(text: str, rng: random.Random) -> str:
    """Applicant columns in another order: a flat header that says so, and every row's cells moved."""
    _, start, end = next(r for r in regions(text) if "s3" in r[0])
    names = ["自然人", "商业企业", "科研机构", "社会组织", "法律服务机构", "其他", "总计"]
    order = list(range(7))
    while order == sorted(order):
        rng.shuffle(order)
    out = []
    for line in text[start:end].split("\n"):
        cells = line.split("\t")
        numeric = [i for i, c in enumerate(cells) if re.fullmatch(r"[\d.]+", c)]
        if len(numeric) == 7:
            moved = [cells[numeric[k]] for k in order]
            for slot, value in zip(numeric, moved, strict=True):
                cells[slot] = value
            out.append("\t".join(cells))
        elif "申请人情况" in line:
            out.append("\t\t" + "\t".join(names[k] for k in order))
        elif "法人或其他组织" in line or "商业企业" in line:
            continue
        else:
            out.append(line)
    return text[:start] + "\n".join(out) + text[end:]


CASES = {
    "000_44be292995cf85e2": ("typos", "swap", "break"),
    "001_0d7ee8767c66e459": ("typos", "swap"),
    "002_2bbf5a6dca21b53c": ("typos", "columns", "break"),
    "003_fe1734465fe07058": ("typos",),
    "004_548bc2f7026a6c36": ("typos",),
}


@pytest.mark.parametrize("seed_name", sorted(CASES))
@pytest.mark.parametrize("variant", range(3))
def test_perturbed_seed(extractor, seeds: Path, tmp_path: Path, seed_name: str, variant: int) -> None:
    rng = random.Random(f"{seed_name}-{variant}")
    text = (seeds / f"{seed_name}.txt").read_text("utf-8")
    gold = json.loads((seeds / f"{seed_name}.gold.json").read_text("utf-8"))
    text, expected = fill(text, gold, rng)
    for perturbation in CASES[seed_name]:
        if perturbation == "typos":
            text = typos(text)
        elif perturbation == "swap":
            text = swap_lines(
                text,
                "4. 保护第三方合法权益" if "4. 保护" in text else "4.保护第三方合法权益",
                "6. 属于四类过程性信息" if "6. 属于" in text else "6.属于四类过程性信息",
            )
        elif perturbation == "break":
            text = page_break(text, "（四）无法提供" if "（四）无法提供" in text else "(四) 无法提供")
        elif perturbation == "columns":
            text = permute_tsv_columns(text, rng)
    path = tmp_path / f"{seed_name}.txt"
    path.write_text(text, "utf-8")
    record = extractor.extract(path)
    wrong = {
        k: (record["fields"].get(k), v)
        for k, v in expected.items()
        if not (
            record["fields"].get(k) == v
            or (isinstance(v, float) and abs((record["fields"].get(k) or 0) - v) < 1e-6)
        )
    }
    assert not wrong, wrong
