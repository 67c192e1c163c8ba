"""check_flags: doubts raised by checks across documents (cross-year); meta_reviews: reviewed agency and
year; extractions.meta_doubts: the record's flags that put its agency or year in doubt

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:12:40.518302

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

META_DOUBT_FLAGS = ("meta_uncertain", "meta_disagrees")  # as nianbao.store.META_DOUBT_FLAGS when written


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table(
        "check_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("other_field_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["field_id"],
            ["field_values.id"],
        ),
        sa.ForeignKeyConstraint(
            ["other_field_id"],
            ["field_values.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("check_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_check_flags_field_id"), ["field_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_check_flags_other_field_id"), ["other_field_id"], unique=False)

    op.create_table(
        "meta_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("reviewer", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("meta_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meta_reviews_document_id"), ["document_id"], unique=False)

    with op.batch_alter_table("extractions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meta_doubts", sa.JSON(none_as_null=True), nullable=True))

    _fill_meta_doubts()


def _fill_meta_doubts() -> None:
    """Extractions stored before this revision: their meta doubts, read from their records. Only records
    whose text names a meta doubt flag are read."""
    extractions = sa.table(
        "extractions",
        sa.column("id", sa.Integer()),
        sa.column("record", sa.JSON()),
        sa.column("meta_doubts", sa.JSON(none_as_null=True)),
    )
    as_text = sa.cast(extractions.c.record, sa.Text())
    named = sa.or_(*(as_text.contains(kind) for kind in META_DOUBT_FLAGS))
    bind = op.get_bind()
    rows = bind.execute(sa.select(extractions.c.id, extractions.c.record).where(named)).all()
    for extraction_id, record in rows:
        doubts = [
            f
            for f in (record or {}).get("flags", [])
            if f.get("kind") in META_DOUBT_FLAGS and f.get("field") in ("meta.agency", "meta.year")
        ]
        if doubts:
            bind.execute(
                extractions.update().where(extractions.c.id == extraction_id).values(meta_doubts=doubts)
            )


def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table("extractions", schema=None) as batch_op:
        batch_op.drop_column("meta_doubts")

    with op.batch_alter_table("meta_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meta_reviews_document_id"))

    op.drop_table("meta_reviews")
    with op.batch_alter_table("check_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_flags_other_field_id"))
        batch_op.drop_index(batch_op.f("ix_check_flags_field_id"))

    op.drop_table("check_flags")
