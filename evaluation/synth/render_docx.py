"""The ``docx`` form: a report as Word saves it (merged table cells, headings as styles or bold runs), the
zip re-packed with a fixed date so one seed gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH

from nianbao.evaluation.synth.blocks import Block, Heading, Para, Table, shape
from nianbao.evaluation.synth.content import Doc


def render_docx(blocks: list[Block], d: Doc) -> bytes:
    doc = docx.Document()
    props = doc.core_properties
    props.author = props.last_modified_by = d.agency
    props.created = props.modified = datetime(d.year + 1, 1, 20)
    for b in blocks:
        if isinstance(b, Table):
            nrows, ncols = shape(b)
            table = doc.add_table(rows=nrows, cols=ncols)
            table.style = "Table Grid"
            slots = [row.cells for row in table.rows]  # before merging: Table.cell() is quadratic
            for c in b.cells:
                target = slots[c.r][c.c]
                if c.rs > 1 or c.cs > 1:
                    target = target.merge(slots[c.r + c.rs - 1][c.c + c.cs - 1])
                target.text = c.text
        elif isinstance(b, Heading) and d.rng.random() < 0.5:
            doc.add_heading(b.text, min(b.level, 3))
        elif isinstance(b, Heading | Para):
            p = doc.add_paragraph()
            p.add_run(b.text).bold = isinstance(b, Heading)
            if isinstance(b, Heading) and b.level == 0:
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    buf = io.BytesIO()
    doc.save(buf)
    return _stable_zip(buf.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """Re-pack with a fixed timestamp: zipfile stamps members with the current time."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(
                zipfile.ZipInfo(info.filename, (2000, 1, 1, 0, 0, 0)),
                src.read(info.filename),
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return out.getvalue()
