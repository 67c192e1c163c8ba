"""Field keys interned in ``texts`` like labels and blocks (``key_id``), and one unique index on
field_values (extraction_id, key_id) instead of the one on extraction_id: a key once per extraction is
enforced again, at a few bytes a row instead of the key's text a second time

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 09:10:00.000000

"""

import hashlib
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5000  # rows read and updated at a time
UNIQUE = "field_values_extraction_id_key_id_key"  # PostgreSQL's own name for it
INDEX = "ix_field_values_extraction_id"  # the index before
CELL = ("label_id", "block_id", "cell_row", "cell_col", "page")  # integer columns, as 0006 left them
BOX = ("x0", "top", "x1", "bottom")

fields = sa.table(
    "field_values",
    sa.column("id", sa.Integer()),
    sa.column("key", sa.String()),
    sa.column("key_id", sa.Integer()),
)
texts = sa.table(
    "texts", sa.column("id", sa.Integer()), sa.column("sha256", sa.String()), sa.column("text", sa.Text())
)


def _columns(interned: bool) -> list[sa.Column]:
    """field_values' columns after this revision (``interned``) or before it."""
    key = ("key_id", sa.Integer()) if interned else ("key", sa.String(length=64))
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("extraction_id", sa.Integer(), nullable=False),
        sa.Column(*key, nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=True),
        sa.Column("source_text", sa.Text(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=True) for name in CELL),
        *(sa.Column(name, sa.Float(), nullable=True) for name in BOX),
    ]


def _chunks(query: sa.Select) -> Iterator[list]:
    """The rows of ``query`` (field ids first) CHUNK at a time, by id, never the whole table in memory."""
    last, ids = 0, fields.c.id
    while rows := op.get_bind().execute(query.where(ids > last).order_by(ids).limit(CHUNK)).all():
        yield rows
        last = rows[-1][0]


def _set_each(column: str, values: list[dict]) -> None:
    """``column`` of each field row: ``values`` of {"i": id, "v": value}."""
    update = fields.update().where(fields.c.id == sa.bindparam("i")).values({column: sa.bindparam("v")})
    op.get_bind().execute(update, values)


def _rebuild_sqlite(interned: bool) -> None:
    """SQLite cannot drop a NOT NULL column or add one in place, nor turn foreign keys off inside a
    transaction: field_values is rebuilt beside the old one (as in 0006), its children's rows (reviews,
    check flags) kept aside meanwhile so no row ever points nowhere."""
    bind = op.get_bind()
    for child in ("check_flags", "reviews"):
        bind.execute(sa.text(f"CREATE TEMP TABLE kept_{child} AS SELECT * FROM {child}"))
        bind.execute(sa.text(f"DELETE FROM {child}"))
    constraints = [
        sa.ForeignKeyConstraint(["extraction_id"], ["extractions.id"]),
        sa.PrimaryKeyConstraint("id"),
    ]
    if interned:
        constraints.append(sa.UniqueConstraint("extraction_id", "key_id"))
    op.create_table("field_values_rebuilt", *_columns(interned), *constraints)
    names = ", ".join(column.name for column in _columns(interned))
    bind.execute(sa.text(f"INSERT INTO field_values_rebuilt ({names}) SELECT {names} FROM field_values"))
    op.drop_table("field_values")
    op.rename_table("field_values_rebuilt", "field_values")
    if not interned:
        op.create_index(INDEX, "field_values", ["extraction_id"], unique=False)
    for child in ("reviews", "check_flags"):  # a carried review points to an earlier one: in id order
        bind.execute(sa.text(f"INSERT INTO {child} SELECT * FROM kept_{child} ORDER BY id"))
        bind.execute(sa.text(f"DROP TABLE kept_{child}"))


def _text_ids(wanted: set[str]) -> dict[str, int]:
    """The texts id of each text, added when texts lacks it (a key may be a label already, or be left
    from a downgrade)."""
    bind = op.get_bind()
    by_digest = {hashlib.sha256(t.encode()).hexdigest(): t for t in wanted}
    query = sa.select(texts.c.sha256, texts.c.id).where(texts.c.sha256.in_(list(by_digest)))
    ids = {by_digest[digest]: i for digest, i in bind.execute(query)}
    for digest, text in by_digest.items():
        if text not in ids:
            insert = texts.insert().values(sha256=digest, text=text).returning(texts.c.id)
            ids[text] = bind.execute(insert).scalar_one()
    return ids


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("field_values", schema=None) as batch_op:  # added in place
        batch_op.add_column(sa.Column("key_id", sa.Integer(), nullable=True))
    ids: dict[str, int] = {}
    for rows in _chunks(sa.select(fields.c.id, fields.c.key)):
        ids |= _text_ids({key for _, key in rows} - ids.keys())
        _set_each("key_id", [{"i": i, "v": ids[key]} for i, key in rows])
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(interned=True)
        return
    op.alter_column("field_values", "key_id", existing_type=sa.Integer(), nullable=False)
    op.create_unique_constraint(UNIQUE, "field_values", ["extraction_id", "key_id"])
    op.drop_index(INDEX, table_name="field_values")
    op.drop_column("field_values", "key")


def downgrade() -> None:
    """Downgrade schema. The keys' texts stay in ``texts`` (never deleted; an upgrade finds them again)."""
    with op.batch_alter_table("field_values", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    text_of: dict[int, str] = {}
    for rows in _chunks(sa.select(fields.c.id, fields.c.key_id)):
        missing = {key_id for _, key_id in rows} - text_of.keys()
        text_of |= dict(
            bind.execute(sa.select(texts.c.id, texts.c.text).where(texts.c.id.in_(missing))).all()
        )
        _set_each("key", [{"i": i, "v": text_of[key_id]} for i, key_id in rows])
    if bind.dialect.name == "sqlite":
        _rebuild_sqlite(interned=False)
        return
    op.alter_column("field_values", "key", existing_type=sa.String(length=64), nullable=False)
    op.create_index(INDEX, "field_values", ["extraction_id"], unique=False)
    op.drop_constraint(UNIQUE, "field_values", type_="unique")
    op.drop_column("field_values", "key_id")
