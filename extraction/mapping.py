"""Rows → canonical cells: the trained mapper names labels, a joint assignment decodes them.

The mapper knows nothing of file formats: it sees rows of text pieces and value
slots (grid.Row), asks the field mapper what each text names, and decodes a
whole section at once, so that one noisy label cannot take a row its neighbour
owns (one canonical row per observed row, in the template's order when in doubt).

The decoder's parts, one module each: the walk over the rows (row_observer, listed_labels,
label_lines), the template (format_detection), labelled rows → canonical rows (label_assignment),
rows without a label placed by order (order_gains, order_rows), columns (columns) and cells
(cell_filing). This module holds the settings and the sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nianbao.extraction.cell_filing import (
    CellFiling,
    attach_floated,
    flag_order_doubt,
    floated_numbers,
    unclaimed,
)
from nianbao.extraction.columns import ColumnReading, chunk_starts
from nianbao.extraction.format_detection import FormatDetection
from nianbao.extraction.grid import Row
from nianbao.extraction.label_assignment import LabelAssignment
from nianbao.extraction.listed_labels import ListedLabels
from nianbao.extraction.order_rows import OrderPlacement
from nianbao.extraction.printed_order import as_printed, printed_order
from nianbao.extraction.record import Flag, FlagKind
from nianbao.extraction.row_observer import RowObserving
from nianbao.extraction.rows import LabelHabit, LooseCells, MappingResult, RowObservation, RunToPlace
from nianbao.extraction.scorer import LabelScorer
from nianbao.schema import Schema


@dataclass(frozen=True)
class MappingSettings:
    """Every tunable of the decoder in one place; unknown keys are refused."""

    accept_row: float = 0.2  # least probability for a row label to take a canonical row
    order_weight: float = 0.6  # cost of a row far from its template position
    section_prior_other: float = 0.25  # weight of classes of another section than the heading says
    heading_min: float = 0.55  # least probability for a line to count as a section heading
    header_min: float = 0.5  # least probability for a text to count as a column header
    confident_label: float = 0.6  # a label this sure is not re-joined with earlier fragments
    max_join: int = 8  # most earlier fragments a wrapped label is re-joined from
    format_marker_weight: float = 4.0  # the template's 国办公开办函 number cited in the text
    format_year_weight: float = 3.0  # the report year falls in the years a template was in force
    format_concept_min: float = 0.8  # least probability for a row or header to count as structure
    format_structure_cap: int = 4  # most evidence that rows and headers of one template can add
    row_mass_floor: float = 0.1  # a label with less row-class mass than this keeps its low row probability
    # Rows placed by order (no label of their own, e.g. the numbers-only rows of a converted table):
    order_gain: float = 1.5  # what placing a row between its anchors is worth by itself
    order_label_weight: float = 2.0  # times the best probability that a label near the run names the row
    order_near_weight: float = 0.5  # times the probability that the text right beside the row names it
    order_width_weight: float = 0.5  # added when the row shows as many values as the template row's columns
    order_margin_scale: float = 1.5  # row probability = 1 - exp(-scale * margin of the placement)
    max_order_run: int = 40  # most rows one order placement aligns (its cost grows with the square)
    order_identity_weight: float = 1.0  # per identity of the section that a choice of placements makes hold
    identity_rounds: int = 2  # passes over a section's runs choosing each run's alignment by the identities
    near_lines: int = 12  # lines of loose text on either side of a row that may hold its label
    near_after_discount: float = 0.5  # text after a row names it less surely than text before it
    near_decay: float = 0.7  # per line between a text and the row, the weight of what it names
    close_label_share: float = 0.8  # of numbers-only rows with labels right before: the closest names it
    near_mass_floor: float = 0.5  # text beside a row names a row only as far as it reads as a row label
    foreign_row_min: float = 0.6  # a label this sure of a row of the other template leaves its row unfiled
    # Added to the cost of filing a labelled row that prints no value: where a row with values names the
    # same template row as surely, that one is the row (a wrapped label's tail, 另行制作 or 复申请, is
    # printed over blank cells), however the two stand in the order.
    blank_row_cost: float = 0.3
    glued_part_min: int = 2  # fewest characters of each label a glued line of two is cut into
    glued_line_max: int = 40  # longest line tried as two glued labels (longer: prose)
    # Most labelled rows one section's joint assignment weighs, the surest first: its cost matrix grows with
    # the square of their number (a report printed a thousand times over in one file), and a report's
    # section has a few dozen rows.
    max_assign_rows: int = 120
    # A second table of a section: value rows that surely name again this many of the rows filed surely,
    # and this share of them at least (a stray line or two that names a filed row is no table).
    duplicate_rows: int = 4
    duplicate_share: float = 0.5
    # Two neighbouring rows are read swapped where the report's labels name the second before the first,
    # at most this many named rows apart (printed_order).
    swap_reach: int = 3
    # Filing cells: how sure a cell is beside its row's label probability.
    one_row_table_trust: float = 0.95  # a one-row table's cells, known by width and not by a label
    # A row as wide as a one-row table is that table's unless its label names a row of another section
    # at least this surely.
    one_row_label_max: float = 0.9
    headerless_column_trust: float = 0.97  # a column known from the template's order, no header naming it
    unplaced_slot_trust: float = 0.5  # times the confidence of a value whose column was chosen by order alone

    @classmethod
    def from_dict(cls, values: dict) -> MappingSettings:
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown mapping settings: {sorted(unknown)}")
        return cls(**values)


class Decoder(
    RowObserving, ListedLabels, FormatDetection, LabelAssignment, CellFiling, ColumnReading, OrderPlacement
):
    """Decides which canonical cell (section, row, column) each printed value of a report is.

    Why it exists: a label alone does not say which row it is. Reports reword, renumber, wrap and
    glue their labels, converters tear labels away from their numbers, and one noisy label must not
    take the row its neighbour owns. So the decoder reads a whole document at once, with the trained
    field mapper (``scorer``) as its only source of what a text names, and decides, in this order:

    1. what each line is (``observe``): a section heading, a column header, a label fragment, or a
       data row with its label, header, section and the text around it;
    2. which template the report fills (``detect_format``) and how it prints labels apart from their
       numbers (``_label_habit``);
    3. which canonical row each labelled row is, jointly per section (``_assign``), and where the rows
       without a label of their own go in the order between them (order_rows);
    4. which column each value stands in (columns), and with what confidence and doubts each cell is
       filed (``_file_cells``, the flags).

    Every threshold and weight of those decisions is a field of ``settings`` (``MappingSettings``).
    """

    def __init__(self, scorer: LabelScorer, schema: Schema, settings: MappingSettings | None = None) -> None:
        self.scorer = scorer
        self.schema = schema
        self.settings = settings or MappingSettings()
        self._foreign: dict[tuple[str, frozenset[str]], np.ndarray] = {}
        self._named_columns: dict[tuple[str, str], tuple[str | None, float]] = {}

    def decode(self, rows: list[Row], text: str, year: int | None) -> MappingResult:
        """The rows' cells in the template ``text`` and ``year`` point to, with the flags of every doubt."""
        observed = self.observe(rows)
        fmt, evidence = self.detect_format(text, observed.rows, observed.headers, year)
        habit = self._label_habit(observed.rows)
        return self._read(observed.rows, fmt, evidence, habit, observed.named_in_order)

    def _label_habit(self, observations: list[RowObservation]) -> LabelHabit:
        """How the report most likely prints labels apart from their numbers. Where nearly every
        numbers-only row has label lines right before it, the closest label names the row and label
        lines between are rows left blank; where numbers-only rows come in runs (a converter printed a
        block of labels, then the block of their numbers), the labels around a run name its rows in
        order, however far. The identities may choose another habit per section (_place_by_habit)."""
        loose = [o.labelled_before for o in observations if not o.own and o.row.has_values]
        close = bool(loose) and sum(loose) >= self.settings.close_label_share * len(loose)
        return "before" if close else "around"

    def _read(
        self,
        observations: list[RowObservation],
        fmt: str,
        evidence: dict[str, float],
        habit: LabelHabit,
        named: list[tuple[str, bool]],
    ) -> MappingResult:
        """The observed rows read as the template's cells (``habit``: see _label_habit), each section's
        rows in the order the report prints them (``named``: see observe)."""
        result = MappingResult(fmt, evidence, {})
        floated = floated_numbers(observations)
        floated_chunks = {c for _, chunks in floated for c in chunks}
        single_rows, by_section, unlabelled = self._split_sections(observations, fmt, floated_chunks)
        # Each section's rows in the order the report prints them, as far as its numbered labels show.
        reach = self.settings.swap_reach
        sections = {
            name: as_printed(
                s, fmt, printed_order(s.row_order(fmt), _of_section(named, name, numbered=True), reach)
            )
            for name, s in self.schema.sections.items()
        }
        decided = {
            name: self._in_order(self._assign(by_section.get(name, []), s, fmt), s, fmt)
            for name, s in sections.items()
        }
        for name, section in sections.items():
            self._flag_duplicate_table(by_section.get(name, []), decided[name], section, fmt, result)
        # Rows without a label of their own, and rows whose own label was refused, may still fit by order.
        labelled = {id(d.obs) for ds in decided.values() for d in ds}
        unplaced = {name: [o for o in by_section.get(name, []) if id(o) not in labelled] for name in sections}
        for obs in unlabelled:
            unplaced[self._loose_section(obs, decided, sections, fmt)].append(obs)
        # A row the other template's label names is left unfiled, not placed, unless the table prints the
        # rows that stand for it: then the label is a torn piece of a group's.
        answered = {name: self._answered_foreign(s, fmt, decided[name]) for name, s in sections.items()}
        for name in sections:
            unplaced[name] = [
                o
                for o in unplaced[name]
                if not (o.own and self._names_foreign(o.probs, fmt, excluded=answered[name]))
            ]
        placed: set[int] = set()
        loose: list[LooseCells] = []  # rows filed in order for want of cell positions
        for name, section in sections.items():
            to_place = RunToPlace(
                sorted(unplaced[name], key=lambda o: o.index), decided[name], fmt, habit, answered[name]
            )
            section, by_order, swap = self._place_in_printed_order(to_place, section)
            decided[name] += by_order
            placed.update(id(d.obs) for d in decided[name])
            doubted = self._order_doubts(by_order, section, to_place, _of_section(named, name), swap)
            starts = chunk_starts(decided[name], section, fmt)
            # One header that contradicts the template's column order puts the whole table's in doubt:
            # a continuation page repeats no header, but the converter moved its columns all the same.
            header_doubt = any(
                self._header_contradicts(d.obs, section, section.columns_of(fmt, d.concept))
                for d in decided[name]
            )
            for decision in decided[name]:
                if decision.concept in doubted:
                    flag_order_doubt(decision, section, fmt, doubted[decision.concept], result)
                loose_row = self._emit_row(decision, section, fmt, starts, result, header_doubt)
                if loose_row is not None:
                    loose.append(loose_row)
            lost = [
                o for o in to_place.rows if id(o) not in placed and self._fits_section(o, section, to_place)
            ]
            result.unplaced[name] = len(lost)
            self._flag_rows_not_found(section, fmt, decided[name], lost, result)
        for name, section in sections.items():
            for obs in single_rows.get(name, []):
                loose_row = self._emit_single_row(obs, section, fmt, result)
                if loose_row is not None:
                    loose.append(loose_row)
                placed.add(id(obs))
        attached = attach_floated(loose, floated, placed)
        self._place_loose(attached, fmt, result)
        self._doubt_rows_short_of(unclaimed(floated, attached, placed), decided, fmt, result)
        for obs in observations:
            concept, p = self.scorer.best(obs.probs, "row:")
            if (
                concept
                and p > self.settings.foreign_row_min
                and not self._in_format(concept, fmt)
                and obs.row.has_values
                and id(obs) not in placed
            ):
                why = (
                    f"row {obs.label!r} ({obs.row.where}) belongs to the other format's template; "
                    "its values are not filed"
                )
                result.flags.append(Flag.on_field(FlagKind.UNMAPPED_ROW, concept[4:], why))
        return result


def _of_section(named: list[tuple[str, bool]], section: str, numbered: bool = False) -> list[str]:
    """The rows of ``section`` among canonical rows named with their section (s3.withheld.secret), only
    those named by numbered labels if ``numbered``."""
    return [
        row.partition(".")[2]
        for row, by_number in named
        if row.partition(".")[0] == section and by_number >= numbered
    ]
