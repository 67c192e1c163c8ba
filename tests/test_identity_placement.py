"""Values that lost their columns are placed only where the identities leave exactly one choice."""

from __future__ import annotations

from scipy.optimize import OptimizeResult

import nianbao.extraction.identity_placement as placement
from nianbao.extraction.identity_placement import LooseRow, place_by_identities
from nianbao.schema import load_schema

SCHEMA = load_schema()
COLUMNS = list(SCHEMA.sections["s3"].columns)


def _row(name: str) -> tuple[str, ...]:
    return tuple(f"s3.{name}.{c}" for c in COLUMNS)


def _known(total: list[int], without: set[str]) -> dict:
    """Every s3 field of the 2021 template blank, but the new and total rows (the same numbers)."""
    known: dict = {k: None for k in SCHEMA.field_keys("2021") if k.startswith("s3.")}
    for name in ("new", "total"):
        known.update(dict(zip(_row(name), total, strict=True)))
    for key in without:
        known.pop(key)
    return known


def test_the_one_choice_the_identities_leave_is_taken() -> None:
    granted, partial = LooseRow(_row("granted"), (1, 1)), LooseRow(_row("partial"), (2, 2))
    known = _known([1, 0, 2, 0, 0, 0, 3], set(granted.keys) | set(partial.keys))
    placed = place_by_identities([granted, partial], known, SCHEMA.identities["2021"]).columns
    # 1 under 自然人 and its row total; 2 under 科研机构 and its row total: nothing else sums up.
    assert placed == [(0, 6), (2, 6)]


def test_two_readings_that_both_fit_decide_nothing() -> None:
    # Two rows of the same two values: which of them holds 自然人 and which 科研机构 is not decided.
    granted, partial = LooseRow(_row("granted"), (1, 1)), LooseRow(_row("partial"), (1, 1))
    known = _known([1, 0, 1, 0, 0, 0, 2], set(granted.keys) | set(partial.keys))
    assert place_by_identities([granted, partial], known, SCHEMA.identities["2021"]).columns == [None, None]


def test_without_the_totals_nothing_is_placed() -> None:
    granted = LooseRow(_row("granted"), (1, 1))
    known = _known([1, 0, 0, 0, 0, 0, 1], set(granted.keys) | set(_row("total")))  # total row not found
    assert place_by_identities([granted], known, SCHEMA.identities["2021"]).columns == [None]


def test_values_that_fit_no_choice_are_left_alone() -> None:
    granted = LooseRow(_row("granted"), (1, 5))  # a row total of 5 that no part reaches
    known = _known([1, 0, 0, 0, 0, 0, 1], set(granted.keys))
    assert place_by_identities([granted], known, SCHEMA.identities["2021"]).columns == [None]


def test_a_row_the_identities_decide_is_placed_beside_rows_they_leave_open() -> None:
    # Only 科研机构 holds 2 in the total row: granted's 2 stands there. Partial's 1 and not_held's 1 fill
    # 商业企业 and 公益组织 in either order: those two rows stay open.
    granted, partial = LooseRow(_row("granted"), (2, 2)), LooseRow(_row("partial"), (1, 1))
    not_held = LooseRow(_row("unavailable.not_held"), (1, 1))
    rows = [granted, partial, not_held]
    known = _known([0, 1, 2, 1, 0, 0, 4], {k for r in rows for k in r.keys})
    assert place_by_identities(rows, known, SCHEMA.identities["2021"]).columns == [(2, 6), None, None]


def test_a_floated_value_fills_the_column_the_identities_leave_free() -> None:
    # Printed 3 … 5 with a lone 2 floated out of the table: only 3, 2, 5 (2 under 商业企业) sums to
    # the column totals; the 2 belongs to the one free column.
    granted = LooseRow(_row("granted"), (3, 0, 0, 0, 0, 5), floated=2)
    known = _known([3, 2, 0, 0, 0, 0, 5], set(granted.keys))
    placed = place_by_identities([granted], known, SCHEMA.identities["2021"]).columns
    assert placed is not None and placed[0] is not None
    assert granted.filled(placed[0])["s3.granted.commercial"] == 2


def test_a_floated_zero_among_printed_zeros_is_one_reading() -> None:
    granted = LooseRow(_row("granted"), (3, 0, 0, 0, 0, 3), floated=0)
    known = _known([3, 0, 0, 0, 0, 0, 3], set(granted.keys))
    placed = place_by_identities([granted], known, SCHEMA.identities["2021"]).columns
    assert placed[0] is not None and set(granted.filled(placed[0]).values()) == {0, 3}


def test_a_value_misread_elsewhere_does_not_stop_a_reading_the_other_identities_decide() -> None:
    granted = LooseRow(_row("granted"), (2, 2))
    known = _known([1, 0, 2, 0, 0, 0, 3], set(granted.keys))
    known["s3.partial.legal_service"] = 4  # misread: its column adds up whatever granted says
    known["s3.partial.natural_person"] = 1
    reading = place_by_identities([granted], known, SCHEMA.identities["2021"])
    assert reading.columns == [(2, 6)] and reading.broken > 0  # a best guess, not a proof


def test_rows_a_reading_moves_together_are_proved_open_by_that_reading(monkeypatch) -> None:
    # Six rows of 1 under 自然人 or 科研机构, three each: any row swaps with one of the other three. A
    # reading found for one row's other choice moves two rows at least, so both are open without a solve
    # of their own: fewer solves than one for the best reading and one a row.
    solves = []
    counted = placement.milp

    def milp(*args, **kwargs):
        solves.append(1)
        return counted(*args, **kwargs)

    monkeypatch.setattr(placement, "milp", milp)
    names = ["granted", "partial", "unavailable.not_held", "unavailable.unclear", "not_processed.duplicate"]
    rows = [LooseRow(_row(name), (1, 1)) for name in [*names, "other.other"]]
    known = _known([3, 0, 3, 0, 0, 0, 6], {k for r in rows for k in r.keys})
    assert place_by_identities(rows, known, SCHEMA.identities["2021"]).columns == [None] * 6
    assert len(solves) < 1 + len(rows)


def _out_of_nodes(monkeypatch, proved: int = 0, keep_found: bool = False) -> None:
    """The solver as itself for its first ``proved`` solves; after them it runs out of nodes, with nothing
    found, or (``keep_found``) with the reading it found but did not prove the best."""
    real, made = placement.milp, []

    def milp(*args, **kwargs):
        made.append(1)
        result = real(*args, **kwargs)
        if len(made) <= proved:
            return result
        return OptimizeResult(status=1, x=result.x if keep_found else None, message="node limit reached")

    monkeypatch.setattr(placement, "milp", milp)


def test_a_reading_not_proved_the_best_within_the_node_budget_decides_nothing(monkeypatch) -> None:
    _out_of_nodes(monkeypatch, keep_found=True)
    granted, partial = LooseRow(_row("granted"), (1, 1)), LooseRow(_row("partial"), (2, 2))
    known = _known([1, 0, 2, 0, 0, 0, 3], set(granted.keys) | set(partial.keys))
    assert place_by_identities([granted, partial], known, SCHEMA.identities["2021"]).columns == [None, None]


def test_a_row_whose_proof_ran_out_of_nodes_stays_open(monkeypatch) -> None:
    # The best reading is found (the one the identities leave); proving each row's choice the only one is not.
    _out_of_nodes(monkeypatch, proved=1)
    granted, partial = LooseRow(_row("granted"), (1, 1)), LooseRow(_row("partial"), (2, 2))
    known = _known([1, 0, 2, 0, 0, 0, 3], set(granted.keys) | set(partial.keys))
    assert place_by_identities([granted, partial], known, SCHEMA.identities["2021"]).columns == [None, None]
