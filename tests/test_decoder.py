"""The row decoder on its own: hand-made label probabilities (a stand-in for the trained field mapper) and
hand-made rows, so that each decision is asserted for what it is, not through a whole extraction."""

from __future__ import annotations

import numpy as np
import pytest

from nianbao.extraction.grid import Piece, Row
from nianbao.extraction.mapping import Decoder, MappingSettings
from nianbao.extraction.rows import RowDecision, RowObservation
from nianbao.extraction.scorer import LabelScorer
from nianbao.models.field_mapper import normalize_label
from nianbao.schema import load_schema

SCHEMA = load_schema()
S3 = SCHEMA.sections["s3"]


class Mapper:
    """A field mapper that knows only the texts it is given: each names the classes it is given with the
    probabilities it is given, the rest of its mass on "other" (a text that names nothing)."""

    def __init__(self, named: dict[str, dict[str, float]]) -> None:
        classes = ["other", "sec:other"]
        for name, section in SCHEMA.sections.items():
            classes += [f"sec:{name}"]
            classes += [f"row:{name}.{r}" for r in section.rows]
            classes += [f"col:{name}.{c}" for c in section.columns]
        self.classes_ = np.array(classes)
        self.named = {normalize_label(text): probs for text, probs in named.items()}

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.classes_)))
        index = {c: i for i, c in enumerate(self.classes_)}
        for k, text in enumerate(texts):
            for concept, p in self.named.get(text, {}).items():
                out[k, index[concept]] = p
            out[k, 0] = 1.0 - out[k].sum()
        return out


def decoder(named: dict[str, dict[str, float]], **settings: float) -> Decoder:
    return Decoder(LabelScorer(Mapper(named)), SCHEMA, MappingSettings(**settings))


def values(n: int, first: int = 1) -> list[Piece]:
    return [Piece(str(first + i), i + 1) for i in range(n)]


def data_row(label: str, n: int = 7, where: str = "row") -> Row:
    return Row([Piece(label, 0)] if label else [], values(n), where)


def observation(dec: Decoder, index: int, label: str, row: Row | None = None) -> RowObservation:
    probs = dec.scorer.score([label])[0]
    return RowObservation(index, label, probs, row or data_row(label), [], None, "s3")


def test_one_noisy_label_does_not_take_its_neighbours_row() -> None:
    """Alone, 结转 names 新收 best; decoded with its neighbours, 新收 is taken and it is 上年结转."""
    dec = decoder(
        {
            "新收": {"row:s3.new": 0.9},
            "结转": {"row:s3.new": 0.55, "row:s3.carried_over": 0.4},
            "予以公开": {"row:s3.granted": 0.9},
        }
    )
    rows = [observation(dec, i, label) for i, label in enumerate(["新收", "结转", "予以公开"])]
    decided = dec._assign(rows, S3, "2021")
    assert [(d.obs.label, d.concept) for d in decided] == [
        ("新收", "new"),
        ("结转", "carried_over"),
        ("予以公开", "granted"),
    ]
    # Its probability is of the row classes alone: of the 0.95 it gives rows, 0.4.
    assert decided[1].probability == pytest.approx(0.4 / 0.95)


def test_a_label_that_names_no_row_surely_is_left_unfiled() -> None:
    named = {"新收": {"row:s3.new": 0.9}, "说明": {"row:s3.partial": 0.01}}
    dec = decoder(named)
    rows = [observation(dec, 0, "新收"), observation(dec, 1, "说明")]
    # 0.01 of row mass, read against row_mass_floor (0.1): 0.1, under accept_row (0.2).
    assert [d.concept for d in dec._assign(rows, S3, "2021")] == ["new"]
    # The same label is filed once the least probability a row label needs is below what it names.
    taken = decoder(named, accept_row=0.05)
    assert [d.concept for d in taken._assign(rows, S3, "2021")] == ["new", "partial"]


def test_an_unsure_label_out_of_order_is_left_to_order_placement() -> None:
    dec = decoder({})
    rows = [observation(dec, i, label) for i, label in enumerate("abc")]
    decided = [
        RowDecision(rows[0], "new", 0.9),
        RowDecision(rows[1], "withheld.state_secret", 0.4),  # after 予以公开 in the template: out of order
        RowDecision(rows[2], "granted", 0.9),
    ]
    assert [d.concept for d in dec._in_order(decided, S3, "2021")] == ["new", "granted"]
    decided[1] = RowDecision(rows[1], "withheld.state_secret", 0.7)  # sure: kept where its label says
    assert len(dec._in_order(decided, S3, "2021")) == 3


def test_the_cited_template_outweighs_the_year() -> None:
    dec = decoder({})
    assert dec.detect_format("按照国办公开办函〔2019〕60号的要求", [], [], 2023)[0] == "2019"
    assert dec.detect_format("no citation", [], [], 2023)[0] == "2021"
    assert dec.detect_format("no citation", [], [], 2019)[0] == "2019"


def test_rows_only_one_template_has_decide_the_format_without_citation_or_year() -> None:
    only_2019 = [r for r in S3.row_order("2019") if r not in S3.row_order("2021")]
    labels = {f"label {r}": {f"row:s3.{r}": 0.95} for r in only_2019}
    dec = decoder(labels)
    rows = [observation(dec, i, label) for i, label in enumerate(labels)]
    fmt, evidence = dec.detect_format("", rows, [], None)
    assert fmt == "2019" and evidence["2019"] == min(len(only_2019), dec.settings.format_structure_cap)


def test_label_habit_follows_where_the_loose_rows_find_their_labels() -> None:
    dec = decoder({})
    loose = [observation(dec, i, "") for i in range(5)]
    for obs in loose:
        obs.own = False
    for obs in loose[:4]:
        obs.labelled_before = True
    assert dec._label_habit(loose) == "before"  # 4 of 5 ≥ close_label_share (0.8)
    loose[3].labelled_before = False
    assert dec._label_habit(loose) == "around"


def test_observe_reads_heading_header_and_label_lines() -> None:
    dec = decoder(
        {
            "三、收到和处理政府信息公开申请情况": {"sec:s3": 0.9},
            "自然人": {"col:s3.natural_person": 0.9},
            "总计": {"col:s3.total": 0.9},
            "新收政府信息公开申请数量": {"row:s3.new": 0.9},
            "予以公开": {"row:s3.granted": 0.9},
        }
    )
    rows = [
        Row([Piece("三、收到和处理政府信息公开申请情况", 0)], [], "heading"),
        Row([Piece("自然人", 1), Piece("总计", 2)], [], "header"),
        data_row("新收政府信息公开申请数量", 2, "first"),
        Row([Piece("予以公开", 0)], [], "label line"),
        data_row("", 2, "numbers only"),
    ]
    observed = dec.observe(rows)
    first, loose = observed.rows
    assert (first.label, first.section_hint, first.own) == ("新收政府信息公开申请数量", "s3", True)
    assert [h.concept for h in first.header] == ["col:s3.natural_person", "col:s3.total"]
    assert [h.text for h in observed.headers] == ["自然人", "总计"]
    # The numbers-only row has no label of its own: the line right before it names it.
    assert not loose.own and loose.labelled_before
    assert loose.near[dec.scorer.index["row:s3.granted"]] == pytest.approx(1.0)  # its only row class
    assert loose.near[dec.scorer.index["row:s3.new"]] == 0.0
    assert observed.named_in_order == [("s3.granted", False)]


def test_decode_files_each_value_under_its_key() -> None:
    dec = decoder({"新收政府信息公开申请数量": {"row:s3.new": 0.9}, "予以公开": {"row:s3.granted": 0.9}})
    rows = [data_row("新收政府信息公开申请数量", 7, "r1"), data_row("予以公开", 7, "r2")]
    result = dec.decode(rows, "", 2023)
    assert result.format == "2021"
    filed = {key: cell.raw for key, cell in result.cells.items()}
    assert filed["s3.new.natural_person"] == "1" and filed["s3.new.total"] == "7"
    assert filed["s3.granted.commercial"] == "2"
    assert result.rows_found >= {"s3.new", "s3.granted"}
    # Seven values for seven columns, without header: each in its column, as sure as the template's order.
    cell = result.cells["s3.new.total"]
    assert cell.probability == pytest.approx(dec.settings.headerless_column_trust)
    assert not result.flags


def test_settings_refuse_unknown_keys() -> None:
    with pytest.raises(ValueError, match="order_wieght"):
        MappingSettings.from_dict({"order_wieght": 1.0})
