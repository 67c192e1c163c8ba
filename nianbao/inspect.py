"""``nianbao inspect``: one self-contained HTML page per document showing what each step made of it.

Why: when a new layout fails, the first question is where it failed — no table found, cells cut wrong,
a row the mapper did not file, a label it did not know. Like pdfplumber's ``debug_tablefinder`` and
camelot's ``plot``, the page shows the reader's tables, cells and text lines over the page image (PDFs,
scans, page images) or the document's blocks (other forms), each cell coloured by the field it was filed
under, and marks the value rows nothing was filed from. It sits beside the pipeline, not in it: readers
know nothing of fields and the mapper nothing of formats, so only here are the two put side by side.
"""

from __future__ import annotations

import html
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2

from nianbao.extraction.document import Block, Document, PageBox, TableBlock, TextBlock
from nianbao.extraction.grid import cell_where, document_rows, row_where
from nianbao.extraction.mapping import CellEvidence
from nianbao.extraction.pipeline import Extractor
from nianbao.inspect_pages import PAGE_SCALE, page_images
from nianbao.models.calibration import flag_kinds_by_field

TEMPLATES = Path(__file__).parent / "app" / "templates"
PAGED_FORMS = {"pdf", "scan"}  # forms whose cells carry page boxes
# A field's colour: its section's hue, a shade per column, so neighbouring cells of a row differ.
SECTION_HUES = {"s2": 140, "s3": 210, "s4": 28}  # green, blue, orange
OTHER_HUE = 290
COLUMN_SHADES = (38, 50, 62)  # HSL lightness, percent
FILED_SATURATION = 80  # percent
FILED_ALPHA = 0.45  # the print shows through
_TEXT_WHERE = re.compile(r"page (\d+) y (-?\d+)$")  # a PDF reader's text line (readers/pdf.py)
MARK_LAYERS = {"table": 0, "cell": 1, "text": 1, "unfiled-row": 2, "filed": 3}  # filed cells drawn on top


def field_colour(key: str) -> str:
    """The overlay colour of a cell filed under ``key``."""
    hue = SECTION_HUES.get(key.split(".", 1)[0], OTHER_HUE)
    shade = COLUMN_SHADES[zlib.crc32(key.rsplit(".", 1)[-1].encode()) % len(COLUMN_SHADES)]
    return f"hsla({hue}, {FILED_SATURATION}%, {shade}%, {FILED_ALPHA})"


@dataclass(frozen=True)
class Filed:
    """A field filed from a cell: what its overlay shows on hover."""

    key: str
    colour: str
    title: str
    where: str


@dataclass(frozen=True)
class Mark:
    """Something drawn over a page image, in pixels; ``kind`` is its CSS class."""

    kind: str
    left: float
    top: float
    width: float
    height: float
    title: str
    filed: Filed | None = None


@dataclass(frozen=True)
class PageView:
    number: int
    width: float
    height: float
    uri: str
    marks: list[Mark]


@dataclass(frozen=True)
class Seg:
    """A run of a block's text, filed under a field or not."""

    text: str
    filed: Filed | None = None


@dataclass
class RowView:
    """A table row (a text block: one row of one cell) with its cells' runs."""

    where: str
    cells: list[list[Seg]]
    copies: list[bool]
    unfiled: bool = False


@dataclass
class BlockView:
    where: str
    table: bool
    rows: list[RowView]


@dataclass(frozen=True)
class UnfiledRow:
    where: str
    label: str
    values: str


@dataclass(frozen=True)
class FieldLine:
    key: str
    value: object
    confidence: float | None
    flags: str
    evidence: CellEvidence | None


@dataclass
class Inspection:
    """Everything the page shows of one document."""

    name: str
    record: dict
    form: str | None = None
    pages: list[PageView] = field(default_factory=list)
    blocks: list[BlockView] = field(default_factory=list)
    unfiled: list[UnfiledRow] = field(default_factory=list)
    undrawn: list[Filed] = field(default_factory=list)
    fields: list[FieldLine] = field(default_factory=list)
    problem: str | None = None  # inspect's own failure after the extraction went through

    @property
    def error_code(self) -> str | None:
        error = self.record["error"] or self.problem
        return error.split(":", 1)[0] if error else None


def inspect_file(path: Path, extractor: Extractor) -> Inspection:
    """The extraction of ``path`` beside what its reader made of it; never raises for a bad file."""
    try:
        document = extractor.read_file(path)
    except Exception:  # the extractor words the reader's failure as the record's error, as everywhere
        document = None
    record, evidence = (
        extractor.extract_with_evidence(path) if document is None else extractor.extract_document(document)
    )
    record["document"] = str(path)
    kinds = flag_kinds_by_field(record)
    filed = {key: _filed(key, cell, record, kinds.get(key, set())) for key, cell in evidence.items()}
    view = Inspection(path.name, record)
    view.fields = [
        FieldLine(key, value, record["confidence"].get(key), ", ".join(sorted(kinds[key])), evidence.get(key))
        for key, value in record["fields"].items()
    ]
    if record["error"] or document is None:
        return view
    try:
        view.form = document.form
        view.unfiled = _unfiled_rows(document, evidence)
        unfiled = {row.where for row in view.unfiled}
        if document.form in PAGED_FORMS:
            view.pages, drawn = _pages(path.read_bytes(), document, filed, evidence, unfiled)
        else:
            view.blocks, drawn = _blocks(document, filed, evidence, unfiled)
        view.undrawn = [f for key, f in filed.items() if key not in drawn]
    except Exception as exc:  # a page that says why beats a run that stops
        view.problem = f"E_INTERNAL: inspect: {exc.__class__.__name__}: {exc}"
    return view


def _filed(key: str, cell: CellEvidence, record: dict, kinds: set[str]) -> Filed:
    confidence = record["confidence"].get(key)
    title = "\n".join(
        [
            f"{key} = {record['fields'].get(key)}",
            "confidence " + ("—" if confidence is None else f"{confidence:.2f}"),
            "flags: " + (", ".join(sorted(kinds)) or "none"),
            f"{cell.where}: label {cell.label!r}, raw {cell.raw!r}",
        ]
    )
    return Filed(key, field_colour(key), title, cell.where)


def _row_of(where: str) -> str:
    """The row a cell's place names: "page 1 table 1 row 4 col 3" → "page 1 table 1 row 4"."""
    return where.rsplit(" col ", 1)[0]


def _unfiled_rows(document: Document, evidence: dict[str, CellEvidence]) -> list[UnfiledRow]:
    """Rows holding values none of which was filed (prose sentences aside): a row the mapper could not
    place, or whose label it did not match."""
    filed_rows = {_row_of(cell.where) for cell in evidence.values()}
    return [
        UnfiledRow(row.where, row.label_text, " ".join(v.text for v in row.values if v.text))
        for row in document_rows(document)
        if row.has_values and not row.sentence and row.where not in filed_rows
    ]


def _union(boxes: Iterable[PageBox]) -> PageBox | None:
    boxes = list(boxes)
    if not boxes:
        return None
    return PageBox(
        boxes[0].page,
        min(b.x0 for b in boxes),
        min(b.top for b in boxes),
        max(b.x1 for b in boxes),
        max(b.bottom for b in boxes),
    )


def _mark(kind: str, box: PageBox, title: str, filed: Filed | None = None) -> Mark:
    return Mark(
        kind,
        box.x0 * PAGE_SCALE,
        box.top * PAGE_SCALE,
        (box.x1 - box.x0) * PAGE_SCALE,
        (box.bottom - box.top) * PAGE_SCALE,
        title,
        filed,
    )


def _pages(
    data: bytes,
    document: Document,
    filed: dict[str, Filed],
    evidence: dict[str, CellEvidence],
    unfiled: set[str],
) -> tuple[list[PageView], set[str]]:
    """Each page image with the reader's tables, cells and text lines, unfiled rows and filed cells."""
    marks: dict[int, list[Mark]] = defaultdict(list)
    for block in document.blocks:
        if not isinstance(block, TableBlock):
            continue
        for page, box in _table_boxes(block):
            marks[page].append(_mark("table", box, block.where))
        for r, cells in enumerate(block.grid):
            row = row_where(block, r)
            for c, cell in enumerate(cells):
                if cell.box is not None and not cell.copy:
                    marks[cell.box.page].append(_mark("cell", cell.box, f"{cell_where(row, c)}: {cell.text}"))
            box = _union(c.box for c in cells if c.box is not None)
            if row in unfiled and box is not None:
                marks[box.page].append(_mark("unfiled-row", box, f"{row}: nothing filed from this row"))
    text_tops = {
        (int(m[1]), int(m[2])): b.where for b in document.blocks if (m := _TEXT_WHERE.match(b.where))
    }
    shared: dict[str, list[str]] = defaultdict(list)  # several fields read from one cell
    for key, cell in evidence.items():
        if cell.box is not None:
            shared[cell.where].append(key)
    pages, drawn = [], set()
    for image in page_images(data):
        for text, box in image.lines:
            where = text_tops.get((image.number, round(box.top)))
            if where is not None:
                marks[image.number].append(_mark("text", box, f"{where}: {text}"))
                if where in unfiled:
                    marks[image.number].append(_mark("unfiled-row", box, f"{where}: nothing filed from it"))
        for keys in shared.values():
            box = evidence[keys[0]].box
            if box is None or box.page != image.number:
                continue
            step = (box.x1 - box.x0) / len(keys)  # values run into one cell share it, left to right
            for i, key in enumerate(keys):
                part = PageBox(box.page, box.x0 + i * step, box.top, box.x0 + (i + 1) * step, box.bottom)
                marks[image.number].append(_mark("filed", part, filed[key].title, filed[key]))
                drawn.add(key)
        page_marks = sorted(marks[image.number], key=lambda m: MARK_LAYERS[m.kind])
        width, height = image.width * PAGE_SCALE, image.height * PAGE_SCALE
        pages.append(PageView(image.number, width, height, image.uri, page_marks))
    return pages, drawn


def _table_boxes(block: TableBlock) -> Iterator[tuple[int, PageBox]]:
    """The outline of a table on each page it has cells on."""
    by_page: dict[int, list[PageBox]] = defaultdict(list)
    for cells in block.grid:
        for cell in cells:
            if cell.box is not None:
                by_page[cell.box.page].append(cell.box)
    for page, boxes in by_page.items():
        box = _union(boxes)
        if box is not None:
            yield page, box


def _slots(block: TextBlock) -> list[str]:
    """A text line's slots as the grid counts them: its cells (tabs), else its tokens."""
    return list(block.cells) if block.cells is not None else block.text.split()


def _line_parts(block: TextBlock) -> Iterator[tuple[str, int | None]]:
    """A text line as printed, each run with its slot (None: the blanks or tabs between slots)."""
    if block.cells is not None:
        for slot, cell in enumerate(block.cells):
            if slot:
                yield "\t", None
            yield cell, slot
        return
    for n, part in enumerate(re.split(r"(\S+)", block.text)):
        if part:
            yield part, (n // 2 if n % 2 else None)


def _is_dump_line(block: Block) -> bool:
    """A Word dump's one-cell line ("\\tcell"): a row's cells run over the lines after it (grid.py)."""
    return (
        isinstance(block, TextBlock)
        and block.cells is not None
        and block.cells[0] == ""
        and not any(block.cells[2:])
    )


def _text_slot(blocks: list[Block], at: dict[str, int], where: str, raw: str) -> tuple[int, int] | None:
    """Which block and slot of a text line a cell's place names; the slot must hold the raw text."""
    row, _, col = where.rpartition(" col ")
    if row not in at or not col.isdigit():
        return None
    first, pos = at[row], int(col) - 1
    candidates = [(first, pos)]
    if _is_dump_line(blocks[first]):  # the row's n-th cell is the n-th one-cell line from here
        lines = [i for i in range(first, len(blocks)) if _is_dump_line(blocks[i])]
        if pos < len(lines):
            candidates.insert(0, (lines[pos], 1))
    for index, slot in candidates:
        slots = _slots(blocks[index])
        if slot < len(slots) and (raw in slots[slot].split() or raw == slots[slot]):
            return index, slot
    return None


def _segs(text: str, keys: list[str], filed: dict[str, Filed], raws: dict[str, str]) -> list[Seg]:
    """A cell's text as runs: each field's own value where several were run into one cell."""
    if not keys:
        return [Seg(text)]
    tokens = text.split()
    if len(keys) > 1 and len(tokens) == len(keys):
        order = sorted(keys, key=lambda k: tokens.index(raws[k]) if raws[k] in tokens else len(tokens))
        runs = [Seg(t, filed[k]) for t, k in zip(tokens, order, strict=True)]
        return [s for run in runs for s in (run, Seg(" "))][:-1]
    return [Seg(text, filed[keys[0]]), *(Seg("", filed[k]) for k in keys[1:])]


def _blocks(
    document: Document,
    filed: dict[str, Filed],
    evidence: dict[str, CellEvidence],
    unfiled: set[str],
) -> tuple[list[BlockView], set[str]]:
    """The document's blocks in order: tables as tables, text lines with their filed tokens."""
    blocks = document.blocks
    at: dict[str, int] = {}
    for i, block in enumerate(blocks):
        if isinstance(block, TextBlock):
            at.setdefault(block.where, i)
    keys_at: dict[tuple[int, int] | str, list[str]] = defaultdict(list)
    for key, cell in evidence.items():
        slot = _text_slot(blocks, at, cell.where, cell.raw)
        keys_at[slot if slot is not None else cell.where].append(key)
    raws = {key: cell.raw for key, cell in evidence.items()}
    drawn: set[str] = set()
    views = []
    for i, block in enumerate(blocks):
        if isinstance(block, TableBlock):
            rows = []
            for r, cells in enumerate(block.grid):
                row = row_where(block, r)
                segs = []
                for c, cell in enumerate(cells):
                    keys = keys_at.get(cell_where(row, c), [])
                    drawn.update(keys)
                    segs.append(_segs(cell.text, keys, filed, raws))
                rows.append(RowView(row, segs, [cell.copy for cell in cells], row in unfiled))
            views.append(BlockView(block.where, True, rows))
            continue
        segs = [Seg(" " * block.indent)] if block.indent else []
        for text, slot in _line_parts(block):
            keys = [] if slot is None else keys_at.get((i, slot), [])
            drawn.update(keys)
            segs += _segs(text, keys, filed, raws)
        row = RowView(block.where, [segs], [False], block.where in unfiled and at[block.where] == i)
        views.append(BlockView(block.where, False, [row]))
    return views, drawn


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("inspect.html")


def render(view: Inspection) -> str:
    """The page; should the template fail on an odd record, a bare page that still says what failed."""
    try:
        return _template().render(view=view, record=view.record)
    except Exception as exc:
        said = f"E_INTERNAL: inspect: {exc.__class__.__name__}: {exc}"
        first = view.record["error"] or said
        return (
            f"<!doctype html><meta charset='utf-8'><title>{html.escape(view.name)}</title>"
            f"<h1>{html.escape(view.name)}</h1><p id='error'><b>{html.escape(first.split(':', 1)[0])}</b> "
            f"{html.escape(first)}</p><p>{html.escape(said)}</p>"
        )


def page_name(path: Path, taken: set[str]) -> str:
    """``NAME.SUFFIX.html``, numbered where two inputs share a file name, so no page overwrites another."""
    name, n = f"{path.name}.html", 1
    while name in taken:
        n += 1
        name = f"{path.name}.{n}.html"
    taken.add(name)
    return name


def inspect_paths(paths: Iterable[Path], out_dir: Path, extractor: Extractor) -> Iterator[tuple[Path, dict]]:
    """Write one page per file into ``out_dir``; yield each page's path and the file's record."""
    taken: set[str] = set()
    for path in paths:
        view = inspect_file(path, extractor)
        out = out_dir / page_name(path, taken)
        out.write_text(render(view), encoding="utf-8")
        yield out, view.record
