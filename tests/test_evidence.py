"""What a reviewer is shown of a text form's field: the source rows around it, read back from where the
store says the cell was (its block, row and column), the field's own cell marked."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from nianbao.app.evidence import source_rows
from nianbao.extraction.pipeline import Extractor
from nianbao.store import FieldRow, Store
from nianbao.workers import fingerprint

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
CONTEXT = 2


@pytest.mark.parametrize("suffix", ["md", "html", "txt"])
def test_each_read_field_is_marked_in_its_own_source_row(
    extractor: Extractor, tmp_path: Path, suffix: str
) -> None:
    path = sorted(SAMPLES.glob(f"*.{suffix}"))[0]
    record, evidence = extractor.extract_with_evidence(path)
    store = Store.open(f"sqlite:///{tmp_path / 'evidence.db'}")
    document = store.add_document(fingerprint(path)[0], str(path), path.stat().st_size)
    store.save_extraction(document, record, evidence, "p", "m")
    with store.sessions() as session:
        rows = session.scalars(select(FieldRow).where(FieldRow.cell_col.is_not(None))).all()
        assert len(rows) > 20  # the sample's fields were read from cells
        for row in rows:
            shown = source_rows(path, row, CONTEXT)
            targets = [r for r in shown if r.target]
            assert len(targets) == 1, row.key
            assert len(shown) <= 2 * CONTEXT + 1
            (target,) = targets
            if target.marked is None:  # a line whose cells the reader did not know: the value is in it
                assert row.source_text in " ".join(target.cells), row.key
            else:
                assert target.marked == row.cell_col - 1
                assert target.cells[target.marked] == row.source_text, row.key
    store.close()


def test_a_field_without_a_cell_has_no_source_rows(extractor: Extractor, tmp_path: Path) -> None:
    path = sorted(SAMPLES.glob("*.md"))[0]
    record, evidence = extractor.extract_with_evidence(path)
    unread = next(iter(evidence))
    store = Store.open(f"sqlite:///{tmp_path / 'evidence.db'}")
    document = store.add_document(fingerprint(path)[0], str(path), path.stat().st_size)
    store.save_extraction(document, record, {k: v for k, v in evidence.items() if k != unread}, "p", "m")
    with store.sessions() as session:
        row = session.scalars(select(FieldRow).where(FieldRow.key == unread)).one()
        assert row.location is None
        assert source_rows(path, row, CONTEXT) == []
    store.close()
