"""Broken identities as one decision: the fields one identity flag names, shown and accepted together.

Why: a misread total breaks an identity over as many as 22 cells, and the validator flags every one of
them (``source_inconsistent``, or ``identity_gap`` for the blanks holding a gap). Asked one by one, the
reviewer makes as many decisions about one fact — whether the source itself is inconsistent. A group shows
that fact once, as a formula in the template's own labels (``自然人: （七）总计 ≠ （一）+…+（六）, 差 1``)
with the value of every cell of the identity, and takes one decision for all its fields; any one of them
can still be corrected on its own. Labels are the schema's, never written here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from nianbao.app.queue import DocumentQueue, FieldName, QueueItem, current_values, field_name, split_key
from nianbao.schema import ROW_LABEL_SEP, Identity, Schema
from nianbao.store import FieldRow, Value

GROUP_KINDS = ("source_inconsistent", "identity_gap")  # record flags that name an identity and its fields
MAX_TERMS = 3  # a side with more labels is shown as its first and last: （一）+…+（六）
ELLIPSIS = "…"
# The numbering a printed label starts with: （七）, 一、, 3. — what a reader finds the row by.
ORDINAL = re.compile(
    r"^(?:（[一二三四五六七八九十\d]+）|\([一二三四五六七八九十\d]+\)|[一二三四五六七八九十]+、|\d+[.．、])"
)


def ordinal(label: str) -> str:
    """The label's numbering without its trailing mark (``一、本年新收…`` → ``一``), else the label."""
    found = ORDINAL.match(label)
    return found.group(0).rstrip("、.．") if found else label


@dataclass(frozen=True)
class Formula:
    """An identity over the values in use, in short labels: ``where: lhs ≠ rhs, 差 d``."""

    where: str
    lhs: str
    rhs: str
    difference: float
    holds: bool

    def __str__(self) -> str:
        if self.holds:
            return f"{self.where}: {self.lhs} = {self.rhs}"
        return f"{self.where}: {self.lhs} ≠ {self.rhs}, 差 {abs(self.difference):g}"


def formula(identity: Identity, values: dict[str, Value], schema: Schema) -> Formula:
    """The identity in the schema's labels. Per column (its fields share a column) the terms are rows, by
    their top-level label, so sub-rows under one printed parent count once; per row they are columns."""
    names = {k: field_name(schema, k) for k in identity.fields}
    per_column = len({split_key(k)[2] for k in identity.fields}) == 1
    first = names[identity.fields[0]]

    def term(key: str) -> str:
        return names[key].row.split(ROW_LABEL_SEP)[0] if per_column else names[key].column

    lhs, rhs = identity.sides(values)
    where = first.column if per_column else first.row
    return Formula(
        where, _side(identity.lhs, term), _side(identity.rhs, term), lhs - rhs, identity.holds(values)
    )


def _side(keys: tuple[str, ...], term: Callable[[str], str]) -> str:
    """One label as printed; several by their numbering, the middle of a long sum elided."""
    labels = list(dict.fromkeys(term(k) for k in keys))
    if len(labels) == 1:
        return labels[0]
    shorts = [ordinal(label) for label in labels]
    if len(shorts) > MAX_TERMS:
        shorts = [shorts[0], ELLIPSIS, shorts[-1]]
    return "+".join(shorts)


@dataclass
class Member:
    """A cell of the identity: its name, value in use, whether the flag names it and its field waits."""

    row: FieldRow
    name: FieldName
    flagged: bool
    pending: bool


@dataclass
class IdentityGroup:
    """One identity flag of a document: its formula, every cell of the identity, and the fields that wait
    for review under it (``items``; a field two flags name is shown under the larger group only)."""

    identity: str  # "s3.outcomes:natural_person", as the flag names it
    kind: str
    detail: str
    formula: Formula
    members: list[Member]
    items: list[QueueItem] = field(default_factory=list)

    @property
    def pending_ids(self) -> list[int]:
        """Every waiting field the flag names, also those shown under another group: one decision takes
        them all."""
        return [m.row.id for m in self.members if m.flagged and m.pending]


def identities_of(schema: Schema, fmt: str) -> dict[str, Identity]:
    """The format's identities by the name a flag gives them (``id:where``)."""
    return {f"{i.id}:{i.where}": i for i in schema.identities.get(fmt, ())}


def identity_groups(queue: DocumentQueue, schema: Schema) -> tuple[list[IdentityGroup], list[QueueItem]]:
    """The document's identity groups with fields waiting, largest first, and the waiting fields no group
    holds (in the queue's order). Only flags over identities of the document's template make groups; a
    group whose fields are all shown under larger ones has no ``items`` of its own."""
    identities = identities_of(schema, queue.extraction.format or "")
    flags: dict[str, dict] = {}
    for item in queue.items:
        for flag in item.row.flags:
            if flag.get("kind") in GROUP_KINDS and flag.get("identity") in identities:
                flags.setdefault(flag["identity"], flag)
    pending = {item.row.key: item for item in queue.items}
    rows = {row.key: row for row in queue.extraction.fields}
    values = current_values(queue.extraction)
    groups = []
    for name, flag in flags.items():
        identity = identities[name]
        named = set(flag.get("fields", ()))
        members = [
            Member(rows[k], field_name(schema, k), k in named, k in pending)
            for k in identity.fields
            if k in rows
        ]
        groups.append(
            IdentityGroup(
                name, flag["kind"], flag.get("detail", ""), formula(identity, values, schema), members
            )
        )
    groups.sort(key=lambda g: -len(g.pending_ids))
    taken: set[str] = set()
    for group in groups:
        group.items = [
            pending[m.row.key] for m in group.members if m.flagged and m.pending and m.row.key not in taken
        ]
        taken.update(item.row.key for item in group.items)
    loose = [item for item in queue.items if item.row.key not in taken]
    return [g for g in groups if g.pending_ids], loose


def group_out(group: IdentityGroup) -> dict:
    """A group as the page and the API show it."""
    return {
        "identity": group.identity,
        "kind": group.kind,
        "formula": str(group.formula),
        "holds": group.formula.holds,
        "pending": group.pending_ids,
        "members": [
            {
                "id": m.row.id,
                "key": m.row.key,
                "label": str(m.name),
                "value": m.row.current,
                "flagged": m.flagged,
                "pending": m.pending,
            }
            for m in group.members
        ],
    }
