"""Rows whose values lost their columns, placed where the identities (勾稽关系) put them.

A row printed with its blank cells dropped (``2、重复申请 1 1`` under seven columns), in a form that keeps
no cell positions, says its values but not their columns; so does a row one of whose values a converter
floated out of the table as a lone line. Each such row can only have its values in
template order at some choice of columns; the identities over the table (row totals, column totals,
the balance of applications) rule most choices out. A row that takes the same choice in every reading
that breaks the fewest identities (none, unless a value elsewhere in the table was misread) is placed
there; a row that several choices fit stays in doubt.

Solved over binary choice and break variables (SciPy's HiGHS MILP), the problem built once: once for
the fewest breaks, then once per row without its choice, to prove it the only one; a row another solve
already moved needs none (a table of 24 such rows: 25 solves, 3.3 s, became a handful). Pure: numbers in,
column indices out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from nianbao.schema import Identity

Number = int | float
Solution = tuple[list[int], int]  # the variables chosen (one per loose row), the identities broken
MILP_OPTIMAL, MILP_INFEASIBLE = 0, 2  # scipy.optimize.milp's statuses
# a solve that ran out of nodes first: it found no reading and proved none impossible, or found one it did not
# prove the best
UNSETTLED = "unsettled"


@dataclass(frozen=True)
class LooseRow:
    """A row's keys in column order and the values it printed, in order, columns unknown.

    ``floated``: a lone number printed outside the row's table fragment, when the row printed one value
    fewer than its columns (a converter floats the value of a cell it could not place): it fills the
    column the printed values leave free.
    """

    keys: tuple[str, ...]
    values: tuple[Number, ...]
    floated: Number | None = None

    def filled(self, columns: tuple[int, ...]) -> dict[str, Number | None]:
        """The row's fields when its printed values stand in ``columns`` (a free column: the floated
        value, else blank)."""
        out: dict[str, Number | None] = dict.fromkeys(self.keys, self.floated)
        out.update({self.keys[c]: v for c, v in zip(columns, self.values, strict=True)})
        return out


@dataclass(frozen=True)
class PlacementLimits:
    """Bounds that keep the problem small whatever a document holds."""

    max_rows: int = 30  # loose rows one problem takes
    max_choices: int = 64  # column choices of one row left after its own identities
    max_variables: int = 1500
    max_broken: int = 4  # identities a reading may leave broken (a row misread elsewhere) and still decide
    # branch-and-bound nodes one solve may take (the most a synthesized or seed table took: 163): past it a
    # reading is not proved, so the rows stay open; a count, not a time, so every machine reads alike
    max_nodes: int = 2000


def _choices(row: LooseRow, own: list[Identity]) -> list[tuple[int, ...]]:
    """Column choices (increasing) for the row's values that its own identities (those over its keys
    only, e.g. a row total) allow, blanks counted as 0; of choices that file the same values (a floated
    0 among printed 0s), one."""
    out: dict[tuple, tuple[int, ...]] = {}
    for columns in itertools.combinations(range(len(row.keys)), len(row.values)):
        values = row.filled(columns)
        if all(i.holds(values) for i in own):
            out.setdefault(tuple(values.values()), columns)
    return list(out.values())


@dataclass(frozen=True)
class IdentityReading:
    """Per loose row, the columns of its values (None: left open), and how many identities the
    reading leaves broken: 0 proves the columns; more makes them the best guess, not a proof."""

    columns: list[tuple[int, ...] | None]
    broken: int = 0


def place_by_identities(
    loose: list[LooseRow],
    known: dict[str, Number | None],
    identities: list[Identity],
    limits: PlacementLimits = PlacementLimits(),
) -> IdentityReading:
    """For each loose row, the columns of its values when every choice that satisfies the identities
    best (over the known fields, ``known``: printed values, None for a blank, and the loose rows) puts
    them there; None for a row the identities leave open. Identities with a field that is neither known
    nor in a loose row are not used."""
    undecided = IdentityReading([None] * len(loose))
    if not loose or len(loose) > limits.max_rows:
        return undecided
    owner = {key: r for r, row in enumerate(loose) for key in row.keys}
    usable = [i for i in identities if all(k in known or k in owner for k in i.fields)]
    choices = []
    for r, row in enumerate(loose):
        own = [i for i in usable if all(owner.get(k) == r for k in i.fields)]
        found = _choices(row, own)
        if not found or len(found) > limits.max_choices:
            return undecided
        choices.append(found)
    shared = [i for i in usable if any(k in owner for k in i.fields) and not _single_owner(i, owner)]
    variables = [(r, c) for r, found in enumerate(choices) for c in found]
    if len(variables) > limits.max_variables:
        return undecided
    problem = _Problem.build(loose, variables, shared, known, owner, limits.max_nodes)
    found_best = problem.solve()
    if not isinstance(found_best, tuple) or found_best[1] > limits.max_broken:
        return undecided
    solution, broken = found_best
    # A row is decided when no reading that breaks as few identities gives it another choice: a row of one
    # choice has none; a reading found for one row's other choice leaves open every row it changes.
    open_rows: set[int] = set()
    for i in solution:
        row = variables[i][0]
        if row in open_rows or len(choices[row]) == 1:
            continue
        other = problem.solve(exclude=i, most_broken=broken)
        if other is UNSETTLED:
            open_rows.add(row)
        elif other is not None:
            open_rows |= {variables[j][0] for j in set(other[0]) - set(solution)}
    columns = [None if variables[i][0] in open_rows else variables[i][1] for i in solution]
    return IdentityReading(columns, broken)


def _single_owner(identity: Identity, owner: dict[str, int]) -> bool:
    rows = {owner.get(k) for k in identity.fields}
    return len(rows) == 1 and None not in rows


@dataclass(frozen=True)
class _Problem:
    """A reading as a MILP over binary variables: one column choice per loose row (``variables``), then
    one break variable per identity; built once, solved for the best reading and once per row proved."""

    variables: int
    breaks: int
    matrix: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    max_nodes: int

    @classmethod
    def build(
        cls,
        loose: list[LooseRow],
        variables: list[tuple[int, tuple[int, ...]]],
        identities: list[Identity],
        known: dict[str, Number | None],
        owner: dict[str, int],
        max_nodes: int,
    ) -> _Problem:
        """One choice per row; each identity holds (residual 0) unless its break variable is set, which
        lets any residual within reach."""
        n, m = len(variables), len(identities)
        filled = [loose[r].filled(columns) for r, columns in variables]
        rows, lower, upper = [], [], []
        for r in range(len(loose)):
            rows.append(np.concatenate([[1.0 if v[0] == r else 0.0 for v in variables], np.zeros(m)]))
            lower.append(1.0)
            upper.append(1.0)
        for b, identity in enumerate(identities):
            coefficients, constant = np.zeros(n), 0.0
            for sign, side in ((1.0, identity.lhs), (-1.0, identity.rhs)):
                for key in side:
                    if key in owner:  # the value the key takes under each choice, 0 where it leaves it blank
                        coefficients += sign * np.array([float(f.get(key) or 0) for f in filled])
                    else:
                        constant += sign * (known[key] or 0)
            reach = float(np.abs(coefficients).sum() + abs(constant) + 1.0)
            broken = np.zeros(m)
            broken[b] = reach
            rows += [np.concatenate([coefficients, -broken]), np.concatenate([coefficients, broken])]
            lower += [-np.inf, -constant - 1e-6]
            upper += [-constant + 1e-6, np.inf]
        return cls(n, m, np.array(rows), np.array(lower), np.array(upper), max_nodes)

    def solve(self, exclude: int | None = None, most_broken: int | None = None) -> Solution | str | None:
        """The chosen variables (one per loose row) of a reading that breaks the fewest identities (a value
        misread elsewhere in the table breaks some whatever the loose rows say), and how many it breaks;
        None when no reading keeps within ``most_broken`` (``exclude``: a variable that may not be
        chosen); UNSETTLED when the node budget ran out first (a reading found by then is not proved the
        best, so it is UNSETTLED too unless ``most_broken`` bounds the question to any reading)."""
        n, m = self.variables, self.breaks
        rows, lower, upper = [self.matrix], [self.lower], [self.upper]
        if exclude is not None:  # another choice for this variable's row
            rows.append(np.eye(1, n + m, exclude))
            lower.append([0.0])
            upper.append([0.0])
        if most_broken is not None:
            rows.append(np.concatenate([np.zeros(n), np.ones(m)])[None, :])
            lower.append([0.0])
            upper.append([float(most_broken)])
        result = milp(
            np.concatenate([np.zeros(n), np.ones(m)]),
            constraints=LinearConstraint(np.vstack(rows), np.concatenate(lower), np.concatenate(upper)),
            integrality=np.ones(n + m),
            bounds=Bounds(0, 1),
            options={"node_limit": self.max_nodes},
        )
        if result.status == MILP_INFEASIBLE:
            return None
        if result.x is None or (result.status != MILP_OPTIMAL and most_broken is None):
            return UNSETTLED
        return [i for i in range(n) if result.x[i] > 0.5], round(float(result.x[n:].sum()))
