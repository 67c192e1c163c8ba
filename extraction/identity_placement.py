"""Rows whose values lost their columns, placed where the identities (勾稽关系) put them.

A row printed with its blank cells dropped (``2、重复申请 1 1`` under seven columns), in a form that keeps
no cell positions, says its values but not their columns. Each such row can only have its values in
template order at some choice of columns; the identities over the table (row totals, column totals,
the balance of applications) rule most choices out. Where exactly one choice for every such row
satisfies them all, that choice is the reading; where several do, the rows stay in doubt.

Solved as a feasibility problem over binary choice variables (SciPy's HiGHS MILP), twice: once for a
solution, once more excluding it to prove it unique. Pure: numbers in, column indices out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from nianbao.schema import Identity

Number = int | float


@dataclass(frozen=True)
class LooseRow:
    """A row's keys in column order and the values it printed, in order, columns unknown."""

    keys: tuple[str, ...]
    values: tuple[Number, ...]


@dataclass(frozen=True)
class PlacementLimits:
    """Bounds that keep the problem small whatever a document holds."""

    max_rows: int = 30  # loose rows one problem takes
    max_choices: int = 64  # column choices of one row left after its own identities
    max_variables: int = 1500


def _choices(row: LooseRow, own: list[Identity]) -> list[tuple[int, ...]]:
    """Column choices (increasing) for the row's values that its own identities (those over its keys
    only, e.g. a row total) allow, blanks counted as 0."""
    out = []
    for columns in itertools.combinations(range(len(row.keys)), len(row.values)):
        values = dict.fromkeys(row.keys, 0)
        values.update({row.keys[c]: v for c, v in zip(columns, row.values, strict=True)})
        if all(i.holds(values) for i in own):
            out.append(columns)
    return out


def place_by_identities(
    loose: list[LooseRow],
    known: dict[str, Number | None],
    identities: list[Identity],
    limits: PlacementLimits = PlacementLimits(),
) -> list[tuple[int, ...]] | None:
    """For each loose row, the columns of its values, when exactly one choice satisfies every identity
    that the known fields (``known``: printed values, None for a blank) and the loose rows determine;
    else None. Identities with a field that is neither known nor in a loose row are not used."""
    if not loose or len(loose) > limits.max_rows:
        return None
    owner = {key: r for r, row in enumerate(loose) for key in row.keys}
    usable = [i for i in identities if all(k in known or k in owner for k in i.fields)]
    choices = []
    for r, row in enumerate(loose):
        own = [i for i in usable if all(owner.get(k) == r for k in i.fields)]
        found = _choices(row, own)
        if not found or len(found) > limits.max_choices:
            return None
        choices.append(found)
    shared = [i for i in usable if any(k in owner for k in i.fields) and not _single_owner(i, owner)]
    variables = [(r, c) for r, found in enumerate(choices) for c in found]
    if len(variables) > limits.max_variables:
        return None
    solution = _solve(loose, variables, shared, known, owner, exclude=None)
    if solution is None:
        return None
    if _solve(loose, variables, shared, known, owner, exclude=solution) is not None:
        return None  # another reading fits as well: the identities do not decide
    return [variables[i][1] for i in solution]


def _single_owner(identity: Identity, owner: dict[str, int]) -> bool:
    rows = {owner.get(k) for k in identity.fields}
    return len(rows) == 1 and None not in rows


def _solve(
    loose: list[LooseRow],
    variables: list[tuple[int, tuple[int, ...]]],
    identities: list[Identity],
    known: dict[str, Number | None],
    owner: dict[str, int],
    exclude: list[int] | None,
) -> list[int] | None:
    """Indices of the chosen variables (one per loose row), or None when nothing fits."""
    n = len(variables)
    rows, lower, upper = [], [], []
    for r in range(len(loose)):  # one choice per row
        rows.append([1.0 if v[0] == r else 0.0 for v in variables])
        lower.append(1.0)
        upper.append(1.0)
    for identity in identities:
        coefficients, constant = np.zeros(n), 0.0
        for sign, side in ((1.0, identity.lhs), (-1.0, identity.rhs)):
            for key in side:
                if key in owner:
                    coefficients += sign * np.array([_value(loose, v, key) for v in variables])
                else:
                    constant += sign * (known[key] or 0)
        rows.append(list(coefficients))
        lower.append(-constant - 1e-6)
        upper.append(-constant + 1e-6)
    if exclude is not None:  # not the same choice for every row again
        rows.append([1.0 if i in exclude else 0.0 for i in range(n)])
        lower.append(0.0)
        upper.append(len(exclude) - 1.0)
    result = milp(
        np.zeros(n),
        constraints=LinearConstraint(np.array(rows), lower, upper),
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
    )
    if result.x is None:
        return None
    return [i for i in range(n) if result.x[i] > 0.5]


def _value(loose: list[LooseRow], variable: tuple[int, tuple[int, ...]], key: str) -> float:
    """The value ``key`` takes under a row's choice of columns (0 where the choice leaves it blank)."""
    r, columns = variable
    row = loose[r]
    if key not in row.keys:
        return 0.0
    column = row.keys.index(key)
    return float(row.values[columns.index(column)]) if column in columns else 0.0
