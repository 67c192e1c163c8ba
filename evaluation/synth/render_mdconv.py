"""The ``mdconv`` form: a report as PDF→Markdown converters (MinerU, marker, markitdown, pdf2md-style tools)
really print it, cut at every merged cell (shared/spec/real-world.md, "A converted table").

Why a form of its own: the ``md`` form prints whole grids; converters do not. They cut a table into
fragments at each merged block, move the labels of merged and wrapped cells out of the table as plain text
lines (wrapped at the cell's width, sometimes two run together), leave rows of numbers only, float a value
out of its row as a loose line (the row then printed short), mangle the header (group headers split off,
vertical headers one character a line) and print page marks between or inside fragments. Numbers always
keep the document's row order: only the template order, the row widths and the identities tell which row
is which.

The content is the synthesizer's (``content.draw`` / ``layout.report_blocks``, the same draws as every other
form, so the gold is the same); every rendering choice here comes from an rng of its own derived from the
document seed, so this form shifts no other form's random stream. :class:`Habits` lists the probabilities.

The Markdown pieces (pipe rows, headings) are the ``md`` form's (render_md.py). A real converter's output
of the same reports is the ``pdf2md`` form (converters.py).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field

from nianbao.evaluation.synth.blocks import Block, Cell, Heading, Page, Para, Table, grid, shape
from nianbao.evaluation.synth.content import Doc
from nianbao.evaluation.synth.render_md import md_heading, pipe_row, pipe_rule

SALT = "mdconv"  # the form's rng: random.Random(f"{doc seed}/mdconv")
PAGE_MARKS = ("— {n} —", "- {n} -", "第 {n} 页", "第{n}页")
HEADER_MODES = ("pipe", "split", "lines", "vertical")  # how a table's header rows come out
HEADER_WEIGHTS = (25, 30, 25, 20)
TEAR = {"s3": 0.4, "s2": 0.15, "s4": 0.15}  # a table torn across a page inside its body


# ---------------------------------------------------------------- one document's converter habits
@dataclass
class Habits:
    """How the converter treats one document, drawn once from the form's rng."""

    keep_label: float  # a body row keeps its label in the first cell (a wrapped or spanning label: a third)
    rowwise: float  # a fragment printed one table per row, each row followed by its own rule
    cut: float  # an extra fragment break between two rows of one block (single-row fragments)
    floated: float  # a value leaves its row as a loose line above/below the fragment (≤ 1 per fragment)
    glue: float  # the last line of one detached label and the first of the next run together
    after: float  # some detached row labels printed after their fragment instead of before
    group_after: float  # a merged block's label printed after its fragment
    empty_lead: float  # a numbers-only row keeps an empty first cell
    between: float  # a page mark at a fragment break
    page_mark: str
    keep_pages: bool  # page footers kept at all
    heading_marks: bool  # headings as '#' lines, else plain text
    sep: str  # between blocks
    loose: bool  # a blank line between a table fragment and the text lines around it

    @classmethod
    def draw(cls, rng: random.Random) -> Habits:
        return cls(
            keep_label=rng.choice([0.0, 0.15, 0.3, 0.5]),
            rowwise=rng.choice([0.0, 0.3, 0.6]),
            cut=rng.choice([0.0, 0.1, 0.25]),
            floated=rng.choice([0.0, 0.04, 0.1]),
            glue=rng.choice([0.0, 0.15, 0.35]),
            after=rng.choice([0.0, 0.3, 0.6]),
            group_after=rng.choice([0.0, 0.1]),
            empty_lead=rng.choice([0.0, 0.0, 0.0, 0.3]),
            between=rng.choice([0.0, 0.05, 0.1]),
            page_mark=rng.choice(PAGE_MARKS),
            keep_pages=rng.random() < 0.8,
            heading_marks=rng.random() < 0.6,
            sep=rng.choice(["\n", "\n\n"]),
            loose=rng.random() < 0.3,
        )


@dataclass
class _Row:
    """A body row: the labels that start in it (merged ones apart) and its printed numbers, blanks kept."""

    r: int  # grid row
    own: Cell | None  # the row's own label cell (one row high)
    merged: list[Cell]  # labels of cells spanning rows that start here (三、本年度办理结果, （三）不予公开)
    nums: list[str]


@dataclass
class _Writer:
    """Lines of one converted document, and what was done (tests look for the patterns)."""

    rng: random.Random
    habits: Habits
    lines: list[str] = field(default_factory=list)
    events: Counter = field(default_factory=Counter)
    page: int = 1
    open_width: int = 0  # a pipe table is open (a header just printed): the next rows may continue it

    def text(self, *lines: str) -> None:
        if not lines:
            return
        if self.habits.loose and self.lines and self.lines[-1].startswith("|"):
            self.lines.append("")
        self.lines += lines
        self.open_width = 0

    def table(self, rows: list[list[str]], rules: list[bool], width: int = 0) -> None:
        """Pipe rows, a rule after those marked; the table stays open for a continuation."""
        if self.habits.loose and self.lines and not self.lines[-1].startswith("|"):
            self.lines.append("")
        for row, rule in zip(rows, rules, strict=True):
            self.lines.append(pipe_row(row))
            if rule:
                self.lines.append(pipe_rule(len(row)))
        self.open_width = width or len(rows[-1])

    def mark(self, n: int | None = None) -> None:
        self.page = max(self.page + 1, n or 0)
        self.text(self.habits.page_mark.format(n=self.page))
        self.events["page_mark"] += 1


# ---------------------------------------------------------------- labels
def _lines(text: str, width: int, rng: random.Random, vertical: bool = False) -> list[str]:
    """A cell's text as a converter prints it outside the table: wrapped at about the cell's width (2–4
    lines for a long label), one character a line for a narrow vertical header; its own breaks kept."""
    out: list[str] = []
    for piece in text.split("\n"):
        if vertical and len(piece) > 1:
            out += list(piece)
            continue
        w = max(2, width + rng.randint(-1, 1))
        if len(piece) > 4 * w:
            w = -(-len(piece) // 4)
        out += [piece[i : i + w] for i in range(0, len(piece), w)] or [""]
    return [line for line in out if line.strip()]


def _width(t: Table, c: Cell) -> int:
    """A cell's wrap width in characters (the layout widths of its grid columns)."""
    return sum(t.widths[i] if i < len(t.widths) else 8 for i in range(c.c, c.c + c.cs))


def _run(groups: list[list[str]], w: _Writer) -> list[str]:
    """Detached labels one after another; now and then one label's last line runs into the next's first."""
    out: list[str] = []
    for i, lines in enumerate(groups):
        lines = list(lines)
        if i and out and lines and w.rng.random() < w.habits.glue:
            out[-1] += lines.pop(0)
            w.events["glued"] += 1
        out += lines
    return out


# ---------------------------------------------------------------- tables
def _header(t: Table, cells: list[Cell], w: _Writer, mode: str) -> None:
    """Header rows (or an s2 band row): kept as pipe rows, group headers split off, or all as text lines."""
    rng = w.rng
    if mode == "pipe":
        expanded = grid(t, "pad", "pad")
        rows = [[c.text.replace("\n", "") for c in expanded[r]] for r in sorted({c.r for c in cells})]
        w.table(rows, [i == 0 for i in range(len(rows))], len(rows[0]))
        w.events["header_pipe"] += 1
        return
    reading = sorted(cells, key=lambda c: (c.r, c.c))
    if mode == "split":
        groups = [c for c in reading if c.cs > 1 and c.text.strip()]
        leaves = sorted((c for c in reading if c.cs == 1), key=lambda c: (c.c, c.r))
        w.text(*_run([_lines(c.text, _width(t, c), rng) for c in groups], w))
        if groups:
            w.events["header_split"] += 1
        if leaves:
            w.table([[c.text.replace("\n", "") for c in leaves]], [True])
        return
    vertical = mode == "vertical"
    w.text(*_run([_lines(c.text, _width(t, c), rng, vertical and _width(t, c) <= 4) for c in reading], w))
    w.events[f"header_{mode}"] += 1


def _body_rows(segment: list[tuple[int, list[Cell]]]) -> list[_Row]:
    out = []
    for r, cells in segment:
        own = [c for c in cells if not c.num and c.rs == 1]
        merged = [c for c in cells if not c.num and c.rs > 1]
        out.append(_Row(r, own[-1] if own else None, merged, [c.text for c in cells if c.num]))
    return out


def _fragments(body: list[_Row], w: _Writer) -> list[list[_Row]]:
    """Cut where a merged block starts or ends, and now and then between any two rows."""
    ends = {c.r + c.rs - 1 for row in body for c in row.merged}
    frags: list[list[_Row]] = []
    for row in body:
        if not frags or row.merged or frags[-1][-1].r in ends or w.rng.random() < w.habits.cut:
            frags.append([])
        frags[-1].append(row)
    return frags


def _fragment(t: Table, frag: list[_Row], w: _Writer) -> None:
    """One fragment: detached labels before (some after), the rows as numbers (a few keep their label), a
    floated value as a loose line above or below."""
    rng, h = w.rng, w.habits
    head = [_lines(c.text, _width(t, c), rng) for row in frag for c in row.merged if c.text.strip()]
    group_after = bool(head) and rng.random() < h.group_after
    leads: list[list[str]] = []  # per row: its kept label, an empty first cell, or nothing
    nums = [list(row.nums) for row in frag]
    detached: list[list[str]] = []
    first_kept = len(frag)
    for i, row in enumerate(frag):
        label = row.own.text if row.own is not None and row.own.text.strip() else ""
        if not label:
            leads.append([""] if rng.random() < h.empty_lead else [])
            w.events["numbers_only_row"] += 1
            continue
        assert row.own is not None
        wide = "\n" in label or row.own.cs > 1 or len(label) > _width(t, row.own)
        if rng.random() < h.keep_label * (1 / 3 if wide else 1):
            first_kept = min(first_kept, i)
            leads.append([label.replace("\n", "")])
            w.events["labelled_row"] += 1
        else:
            detached.append(_lines(label, _width(t, row.own), rng))
            leads.append([""] if rng.random() < h.empty_lead else [])
            w.events["numbers_only_row"] += 1
            w.events["detached_label"] += 1
    # the labels of rows above the first labelled one may all come first; the others follow the fragment
    ahead = sum(1 for row in frag[:first_kept] if row.own is not None and row.own.text.strip())
    k = rng.randint(0, ahead) if rng.random() < h.after else ahead
    above = below = ""
    full = [i for i, row in enumerate(nums) if sum(bool(x.strip()) for x in row) >= 2 and _digits(row)]
    if full and rng.random() < h.floated * len(frag):
        i = rng.choice(full)
        value = nums[i].pop(rng.choice(_digits(nums[i])))
        above, below = (value, "") if rng.random() < 0.5 else ("", value)
        w.events["floated"] += 1
    pre = _run(([] if group_after else head) + detached[:k], w)
    post = _run((head if group_after else []) + detached[k:], w)
    if post:
        w.events["labels_after"] += 1
    w.text(*pre, *([above] if above else []))
    rows = [lead + row for lead, row in zip(leads, nums, strict=True)]
    rowwise = rng.random() < h.rowwise
    w.table(rows, [rowwise or (i == 0 and not w.open_width) for i in range(len(rows))])
    w.open_width = 0  # the next fragment is a table of its own
    w.text(*([below] if below else []), *post)


def _digits(cells: list[str]) -> list[int]:
    """Positions of the cells that print a number (not blank, not a "—" or "无")."""
    return [j for j, x in enumerate(cells) if any(ch.isdigit() for ch in x)]


def _table(t: Table, w: _Writer) -> None:
    rng = w.rng
    mode = rng.choices(HEADER_MODES, HEADER_WEIGHTS)[0]
    rows = [(r, sorted((c for c in t.cells if c.r == r), key=lambda c: c.c)) for r in range(shape(t)[0])]
    body_at = [r for r, cells in rows if any(c.num for c in cells)]
    tear = rng.choice(body_at[1:]) if len(body_at) > 2 and rng.random() < TEAR.get(t.kind, 0.0) else None
    segments: list[tuple[bool, list[tuple[int, list[Cell]]]]] = []
    for r, cells in rows:  # header-like rows (no numbers: header, s2 band rows) and body rows, in turn
        body = any(c.num for c in cells)
        if not segments or segments[-1][0] != body:
            segments.append((body, []))
        segments[-1][1].append((r, cells))
    for body, segment in segments:
        if not body:
            _header(t, [c for _, cells in segment for c in cells], w, mode)
            continue
        for n, frag in enumerate(_fragments(_body_rows(segment), w)):
            at = next((i for i, row in enumerate(frag) if row.r == tear), None)
            if at:  # torn inside the fragment: two fragments, a page mark between
                _fragment(t, frag[:at], w)
                frag = frag[at:]
                w.events["torn_inside"] += 1
            if at is not None or (n and rng.random() < w.habits.between):
                w.mark()
            _fragment(t, frag, w)
    w.open_width = 0


# ---------------------------------------------------------------- the document
_PAGE_NUMBER = re.compile(r"\d+")


def convert(blocks: list[Block], d: Doc, habits: Habits | None = None) -> tuple[str, Counter]:
    """The converted document's text and a count of the patterns it shows (``habits``: forced, for tests)."""
    rng = random.Random(f"{d.seed}/{SALT}")
    drawn = Habits.draw(rng)
    w = _Writer(rng, habits or drawn)
    pieces: list[str] = []
    for b in blocks:
        w.lines = []
        if isinstance(b, Heading):
            w.text(*(md_heading(b, rng) if w.habits.heading_marks else b.text.split("\n")))
        elif isinstance(b, Para):
            w.text(b.text)
        elif isinstance(b, Page):
            found = _PAGE_NUMBER.search(b.text)
            n = int(found.group()) if found else None
            if w.habits.keep_pages:
                w.mark(n)
            else:
                w.page = max(w.page, n or 0)
        elif isinstance(b, Table):
            _table(b, w)
        if w.lines:
            pieces.append("\n".join(w.lines))
    return w.habits.sep.join(pieces) + "\n", w.events


def render_mdconv(blocks: list[Block], d: Doc) -> bytes:
    return convert(blocks, d)[0].encode("utf-8")
