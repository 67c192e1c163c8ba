"""The canonical schema, loaded once from ``data/schema.yaml``.

Everything that knows a field key, a row or a column asks this module; no
field name is written anywhere else in the code.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, cached_property
from importlib import resources

import yaml

MONEY_PLACES = 4  # an amount in 万元 is exact to the yuan: four decimal places
ROW_LABEL_SEP = " · "  # between a row's label and its sub-row's: （六）其他处理 · 3.其他


@dataclass(frozen=True)
class Identity:
    """One 勾稽关系 instance: sum(lhs) == sum(rhs) over concrete field keys."""

    id: str
    where: str  # the column (per-column identities) or row it applies to
    lhs: tuple[str, ...]
    rhs: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return self.lhs + self.rhs

    def sides(self, values: dict[str, int | float | None]) -> tuple[int | float, int | float]:
        """sum(lhs) and sum(rhs) of ``values``, a blank counted as 0."""
        return sum(values[k] or 0 for k in self.lhs), sum(values[k] or 0 for k in self.rhs)

    def holds(self, values: dict[str, int | float | None]) -> bool:
        lhs, rhs = self.sides(values)
        return abs(lhs - rhs) < 1e-6


@dataclass(frozen=True)
class Section:
    """A section's matrix: row concepts x column concepts, per format."""

    name: str
    zh: str
    rows: dict[str, str]  # concept -> official wording
    columns: dict[str, str]
    cells: dict[str, tuple[tuple[str, str], ...]]  # format -> (row, column) in template order
    decimal_columns: frozenset[str] = frozenset()
    signed_columns: frozenset[str] = frozenset()
    single_row: bool = False

    def key(self, row: str, column: str) -> str:
        return f"{self.name}.{row}.{column}"

    @cached_property
    def _layout(self) -> dict[str, dict[str, list[str]]]:
        """format -> row -> its columns, rows in template order (asked for every table row)."""
        layout: dict[str, dict[str, list[str]]] = {}
        for fmt, cells in self.cells.items():
            rows = layout.setdefault(fmt, {})
            for r, c in cells:
                rows.setdefault(r, []).append(c)
        return layout

    def row_order(self, fmt: str) -> list[str]:
        return list(self._layout[fmt])

    def columns_of(self, fmt: str, row: str) -> list[str]:
        """Template column order of ``row`` in ``fmt``."""
        return list(self._layout[fmt].get(row, ()))

    def column_set(self, fmt: str) -> set[str]:
        return {c for _, c in self.cells[fmt]}


@dataclass(frozen=True)
class Schema:
    formats: tuple[str, ...]
    meta: tuple[str, ...]
    sections: dict[str, Section]
    format_markers: dict[str, tuple[str, ...]]
    format_first_year: dict[str, int] = field(default_factory=dict)
    identities: dict[str, tuple[Identity, ...]] = field(default_factory=dict)  # format -> identities
    meta_zh: dict[str, str] = field(default_factory=dict)  # meta key -> its Chinese name

    def field_keys(self, fmt: str) -> list[str]:
        return [s.key(r, c) for s in self.sections.values() for r, c in s.cells[fmt]]

    def all_field_keys(self) -> list[str]:
        """Every key of every template, each once, in template order (newest template first)."""
        ordered = sorted(self.formats, key=lambda f: -self.format_first_year.get(f, 0))
        return list(dict.fromkeys(k for fmt in ordered for k in self.field_keys(fmt)))

    def format_of_year(self, year: int) -> str:
        """The template in force for reports on ``year`` (the oldest one before any started)."""
        started = [f for f, first in self.format_first_year.items() if first <= year]
        pool = started or [min(self.format_first_year, key=self.format_first_year.__getitem__)]
        return max(pool, key=self.format_first_year.__getitem__)

    def is_decimal(self, key: str) -> bool:
        return self._column_of(key) in self.sections[self.section_of(key)].decimal_columns

    def is_signed(self, key: str) -> bool:
        """May this field be below zero (a 增/减 change)? Every other field is a count or an amount."""
        return self._column_of(key) in self.sections[self.section_of(key)].signed_columns

    def check_value(self, key: str, value: object) -> int | float | None:
        """``value`` as field ``key`` holds it (a whole float of a count as an int), or ValueError saying why
        it cannot be: a count is a whole number, an amount a finite decimal of at most MONEY_PLACES places,
        and only a 增/减 column goes below zero. What a person or a corrections file sets must be a value
        the extractor itself could have read (and one every JSON writer can write)."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{value!r} is not a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        if value < 0 and not self.is_signed(key):
            raise ValueError(f"{key} cannot be below zero")
        if self.is_decimal(key):
            if -Decimal(str(value)).as_tuple().exponent > MONEY_PLACES:
                raise ValueError(f"{key} is an amount of at most {MONEY_PLACES} decimal places")
            return value
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{key} is a count: a whole number")
        return int(value)

    @staticmethod
    def _column_of(key: str) -> str:
        return key.rsplit(".", 1)[-1]

    def section_of(self, key: str) -> str:
        return key.partition(".")[0]

    def row_label(self, key: str) -> str:
        """The printed label of a field's row after those of the rows it sits under that the section names
        (``（六）其他处理 · 3.其他``): a numbered sub-row's own label says little on its own."""
        section = self.sections[self.section_of(key)]
        parts = self.row_of(key).split(".")[1:]
        rows = (".".join(parts[: n + 1]) for n in range(len(parts)))
        return ROW_LABEL_SEP.join(section.rows[r] for r in rows if r in section.rows)

    def column_label(self, key: str) -> str:
        """The printed label of a field's column (``自然人``)."""
        return self.sections[self.section_of(key)].columns[self._column_of(key)]

    def row_of(self, key: str) -> str:
        """ "<section>.<row>" of a field key (rows may hold dots: s3.withheld.state_secret.total)."""
        return key.rsplit(".", 1)[0]


def _cells(spec: dict) -> dict[str, tuple[tuple[str, str], ...]]:
    if "fields" in spec:
        return {fmt: tuple(tuple(f.rsplit(".", 1)) for f in keys) for fmt, keys in spec["fields"].items()}
    matrix = spec["matrix"]
    return {
        fmt: tuple((r, c) for r in rows for c in matrix["columns"]) for fmt, rows in matrix["rows"].items()
    }


def _expand(names: list[str], universe: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        out.extend(u for u in universe if fnmatch.fnmatchcase(u, name) and u not in out)
    return out


def _identities(raw: list[dict], sections: dict[str, Section], fmt: str) -> tuple[Identity, ...]:
    """Each identity of the schema, once per line it holds on: a per-column identity sums rows within
    each column, a per-row one columns within each row."""
    found: list[Identity] = []
    for spec in raw:
        section = sections[spec["section"]]
        rows = section.row_order(fmt)
        columns = list(dict.fromkeys(c for _, c in section.cells[fmt]))
        per_column = spec["per"] == "column"
        terms, lines = (rows, columns) if per_column else (columns, rows)
        lhs, rhs = _expand(spec["lhs"], terms), _expand(spec["rhs"], terms)
        for line in lines:
            keys = (
                tuple(section.key(t, line) if per_column else section.key(line, t) for t in side)
                for side in (lhs, rhs)
            )
            found.append(Identity(spec["id"], line, *keys))
    return tuple(found)


@cache
def load_schema() -> Schema:
    raw = yaml.safe_load(resources.files("nianbao.data").joinpath("schema.yaml").read_text("utf-8"))
    sections = {
        name: Section(
            name=name,
            zh=spec["zh"],
            rows={k: v["zh"] for k, v in spec["rows"].items()},
            columns={k: v["zh"] for k, v in spec["columns"].items()},
            cells=_cells(spec),
            decimal_columns=frozenset(spec.get("decimal_columns", ())),
            signed_columns=frozenset(spec.get("signed_columns", ())),
            single_row=bool(spec.get("single_row", False)),
        )
        for name, spec in raw["sections"].items()
    }
    formats = tuple(raw["formats"])
    return Schema(
        formats=formats,
        meta=tuple(raw["meta"]),
        sections=sections,
        format_markers={f: tuple(m) for f, m in raw["format_markers"].items()},
        format_first_year={f: int(y) for f, y in raw["format_first_year"].items()},
        identities={fmt: _identities(raw["identities"], sections, fmt) for fmt in formats},
        meta_zh={k: v["zh"] for k, v in raw["meta"].items()},
    )
