"""A leaner field row: labels and block names once in ``texts``, a cell's row and column as integers, no
flags stored for a field without any, the record without the fields and confidences the rows hold, and
one index on field_values (extraction_id) instead of two (the unique (extraction_id, key) one held every
key again: a record's fields are a mapping, its rows written from it at once)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 05:40:00.000000

"""

import hashlib
import json
import re
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCATION = re.compile(r"^(?P<block>.+?)(?: row (?P<row>\d+))? col (?P<col>\d+)$")
CHUNK = 5000  # rows read and updated at a time
CELL_COLUMNS = ("label_id", "block_id", "cell_row", "cell_col")
# what field_values holds besides its id, extraction, key and provenance, in both versions
KEPT = ("id", "extraction_id", "key", "value", "confidence", "flags", "source_text")
BOX = ("page", "x0", "top", "x1", "bottom")

fields = sa.table(
    "field_values",
    sa.column("id", sa.Integer()),
    sa.column("extraction_id", sa.Integer()),
    sa.column("key", sa.String()),
    sa.column("value", sa.JSON()),
    sa.column("confidence", sa.Float()),
    sa.column("label", sa.Text()),
    sa.column("location", sa.Text()),
    *(sa.column(name, sa.Integer()) for name in CELL_COLUMNS),
)
texts = sa.table(
    "texts", sa.column("id", sa.Integer()), sa.column("sha256", sa.String()), sa.column("text", sa.Text())
)
extractions = sa.table("extractions", sa.column("id", sa.Integer()), sa.column("record", sa.JSON()))


def _columns(lean: bool) -> list[sa.Column]:
    """field_values' columns after this revision (``lean``) or before it."""
    provenance = (
        [sa.Column(name, sa.Integer(), nullable=True) for name in CELL_COLUMNS]
        if lean
        else [sa.Column("label", sa.Text(), nullable=True), sa.Column("location", sa.Text(), nullable=True)]
    )
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("extraction_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=lean),
        sa.Column("source_text", sa.Text(), nullable=True),
        *provenance,
        sa.Column("page", sa.Integer(), nullable=True),
        *(sa.Column(name, sa.Float(), nullable=True) for name in BOX[1:]),
    ]


def _join(block: str | None, row: int | None, col: int | None) -> str | None:
    if block is None or col is None:
        return block
    return f"{block}{'' if row is None else f' row {row}'} col {col}"


def _split(where: str | None) -> tuple[str | None, int | None, int | None]:
    found = LOCATION.match(where or "")
    if found is None:
        return where, None, None
    parts = (found["block"], None if found["row"] is None else int(found["row"]), int(found["col"]))
    return parts if _join(*parts) == where else (where, None, None)


def _chunks(query: sa.Select, id_column: sa.ColumnClause) -> Iterator[list]:
    """The rows of ``query`` (its first column ``id_column``) CHUNK at a time, by id, so a large database
    is never held in memory whole."""
    last = 0
    while rows := op.get_bind().execute(query.where(id_column > last).order_by(id_column).limit(CHUNK)).all():
        yield rows
        last = rows[-1][0]


def _rebuild_sqlite(lean: bool, copied: str) -> None:
    """SQLite cannot drop a table constraint or a NOT NULL in place, nor turn foreign keys off inside a
    transaction: field_values is rebuilt beside the old one, its children's rows (reviews, check flags)
    kept aside meanwhile so no row ever points nowhere. ``copied``: the new table's columns as SELECTed
    from the old."""
    bind = op.get_bind()
    for child in ("check_flags", "reviews"):
        bind.execute(sa.text(f"CREATE TEMP TABLE kept_{child} AS SELECT * FROM {child}"))
        bind.execute(sa.text(f"DELETE FROM {child}"))
    constraints = [
        sa.ForeignKeyConstraint(["extraction_id"], ["extractions.id"]),
        sa.PrimaryKeyConstraint("id"),
    ]
    if not lean:
        constraints.append(sa.UniqueConstraint("extraction_id", "key"))
    op.create_table("field_values_rebuilt", *_columns(lean), *constraints)
    names = ", ".join(column.name for column in _columns(lean))
    bind.execute(sa.text(f"INSERT INTO field_values_rebuilt ({names}) SELECT {copied} FROM field_values"))
    op.drop_table("field_values")
    op.rename_table("field_values_rebuilt", "field_values")
    op.create_index("ix_field_values_extraction_id", "field_values", ["extraction_id"], unique=False)
    for child in ("reviews", "check_flags"):  # a carried review points to an earlier one: in id order
        bind.execute(sa.text(f"INSERT INTO {child} SELECT * FROM kept_{child} ORDER BY id"))
        bind.execute(sa.text(f"DROP TABLE kept_{child}"))


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    with op.batch_alter_table("field_values", schema=None) as batch_op:  # columns added in place
        for name in CELL_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
    _fill_cells()
    _lean_records()
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        kept = [
            *KEPT[:5],
            "CASE WHEN flags = '[]' THEN NULL ELSE flags END",
            "source_text",
            *CELL_COLUMNS,
            *BOX,
        ]
        _rebuild_sqlite(lean=True, copied=", ".join(kept))
        return
    for unique in sa.inspect(bind).get_unique_constraints("field_values"):
        if unique["column_names"] == ["extraction_id", "key"]:
            op.drop_constraint(unique["name"], "field_values", type_="unique")
    op.alter_column("field_values", "flags", existing_type=sa.JSON(), nullable=True)
    bind.execute(sa.text("UPDATE field_values SET flags = NULL WHERE flags::text = '[]'"))
    op.drop_column("field_values", "label")
    op.drop_column("field_values", "location")


def _fill_cells() -> None:
    """Each field's label and block as texts ids, its row and column as integers."""
    bind = op.get_bind()
    ids: dict[str, int] = {}
    query = sa.select(fields.c.id, fields.c.label, fields.c.location).where(
        sa.or_(fields.c.label.is_not(None), fields.c.location.is_not(None))
    )
    for rows in _chunks(query, fields.c.id):
        updates = []
        for field_id, label, location in rows:
            block, row, col = _split(location)
            for text in {label, block} - {None} - ids.keys():
                digest = hashlib.sha256(text.encode()).hexdigest()
                insert = texts.insert().values(sha256=digest, text=text).returning(texts.c.id)
                ids[text] = bind.execute(insert).scalar()
            updates.append({"i": field_id, "l": ids.get(label), "b": ids.get(block), "r": row, "c": col})
        bind.execute(
            fields.update()
            .where(fields.c.id == sa.bindparam("i"))
            .values(
                label_id=sa.bindparam("l"),
                block_id=sa.bindparam("b"),
                cell_row=sa.bindparam("r"),
                cell_col=sa.bindparam("c"),
            ),
            updates,
        )


def _stored_fields(extraction_id: int) -> list:
    query = sa.select(fields.c.key, fields.c.value, fields.c.confidence).where(
        fields.c.extraction_id == extraction_id
    )
    return op.get_bind().execute(query.order_by(fields.c.id)).all()


def _lean_records() -> None:
    """Records whose fields (and confidences) the field rows give back exactly keep them there only."""
    bind = op.get_bind()
    for rows in _chunks(sa.select(extractions.c.id, extractions.c.record), extractions.c.id):
        for extraction_id, record in rows:
            if not isinstance(record, dict) or record.get("fields") is None:
                continue
            stored = _stored_fields(extraction_id)
            if json.dumps({k: v for k, v, _ in stored}) != json.dumps(record["fields"]):
                continue
            lean = {**record, "fields": None}
            if json.dumps({k: c for k, _, c in stored}) == json.dumps(record.get("confidence")):
                lean["confidence"] = None
            bind.execute(extractions.update().where(extractions.c.id == extraction_id).values(record=lean))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("field_values", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("location", sa.Text(), nullable=True))
    bind = op.get_bind()
    text_of = dict(bind.execute(sa.select(texts.c.id, texts.c.text)).all())
    query = sa.select(fields.c.id, *(fields.c[name] for name in CELL_COLUMNS))
    for rows in _chunks(query, fields.c.id):
        updates = [
            {"i": i, "l": text_of.get(label), "w": _join(text_of.get(block), row, col)}
            for i, label, block, row, col in rows
        ]
        bind.execute(
            fields.update()
            .where(fields.c.id == sa.bindparam("i"))
            .values(label=sa.bindparam("l"), location=sa.bindparam("w")),
            updates,
        )
    for rows in _chunks(sa.select(extractions.c.id, extractions.c.record), extractions.c.id):
        for extraction_id, record in rows:
            if not isinstance(record, dict) or None not in (record.get("fields"), record.get("confidence")):
                continue
            stored = _stored_fields(extraction_id)
            full = dict(record)
            if full.get("fields") is None:
                full["fields"] = {k: v for k, v, _ in stored}
            if full.get("confidence") is None:
                full["confidence"] = {k: c for k, _, c in stored}
            bind.execute(extractions.update().where(extractions.c.id == extraction_id).values(record=full))
    if bind.dialect.name == "sqlite":
        kept = [*KEPT[:5], "COALESCE(flags, '[]')", "source_text", "label", "location", *BOX]
        _rebuild_sqlite(lean=False, copied=", ".join(kept))
    else:
        bind.execute(sa.text("UPDATE field_values SET flags = '[]' WHERE flags IS NULL"))
        op.alter_column("field_values", "flags", existing_type=sa.JSON(), nullable=False)
        op.create_unique_constraint(
            "field_values_extraction_id_key_key", "field_values", ["extraction_id", "key"]
        )
        for name in CELL_COLUMNS:
            op.drop_column("field_values", name)
    op.drop_table("texts")
