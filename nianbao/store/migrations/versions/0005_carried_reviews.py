"""reviews.carried_from: a decision carried over to a later extraction of its document points to the
person's own decision

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 09:30:12.104233

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carried_from", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_reviews_carried_from_reviews"), "reviews", ["carried_from"], ["id"]
        )


def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_reviews_carried_from_reviews"), type_="foreignkey")
        batch_op.drop_column("carried_from")
