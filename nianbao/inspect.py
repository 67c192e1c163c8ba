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
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import jinja2

from nianbao.errors import ErrorCode
from nianbao.extraction.document import Document
from nianbao.extraction.grid import document_rows
from nianbao.extraction.pipeline import Extractor
from nianbao.extraction.record import FieldEvidence
from nianbao.inspect_blocks import block_views
from nianbao.inspect_overlay import page_views
from nianbao.inspect_views import FieldLine, Filed, Inspection, UnfiledRow, field_colour
from nianbao.models.calibration import flag_kinds_by_field

TEMPLATES = Path(__file__).parent / "app" / "templates"
PAGED_FORMS = {"pdf", "scan"}  # forms whose cells carry page boxes


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
            view.pages, drawn = page_views(path.read_bytes(), document, filed, evidence, unfiled)
        else:
            view.blocks, drawn = block_views(document, filed, evidence, unfiled)
        view.undrawn = [f for key, f in filed.items() if key not in drawn]
    except Exception as exc:  # a page that says why beats a run that stops
        view.problem = _failed(exc)
    return view


def _filed(key: str, cell: FieldEvidence, record: dict, kinds: set[str]) -> Filed:
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


def _unfiled_rows(document: Document, evidence: dict[str, FieldEvidence]) -> list[UnfiledRow]:
    """Rows holding values none of which was filed (prose sentences aside): a row the mapper could not
    place, or whose label it did not match."""
    filed_rows = {_row_of(cell.where) for cell in evidence.values()}
    return [
        UnfiledRow(row.where, row.label_text, " ".join(v.text for v in row.values if v.text))
        for row in document_rows(document)
        if row.has_values and not row.sentence and row.where not in filed_rows
    ]


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


def _failed(exc: Exception) -> str:
    """What went wrong in inspect's own code, said on the page (``E_INTERNAL``), not as a traceback."""
    return ErrorCode.E_INTERNAL.message(f"inspect: {exc.__class__.__name__}: {exc}")


def render(view: Inspection) -> str:
    """The page; should the template fail on an odd record, a bare page that still says what failed."""
    try:
        return _template().render(view=view, record=view.record)
    except Exception as exc:
        said = _failed(exc)
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
