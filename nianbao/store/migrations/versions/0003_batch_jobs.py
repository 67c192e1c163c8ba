"""batch_jobs: batches submitted to the REST service; files.batch_job_id: the job that last saw a path

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:50:12.114208

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILES_JOB_KEY = "fk_files_batch_job_id_batch_jobs"


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("paths", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_job_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_files_batch_job_id"), ["batch_job_id"], unique=False)
        batch_op.create_foreign_key(FILES_JOB_KEY, "batch_jobs", ["batch_job_id"], ["id"])


def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_constraint(FILES_JOB_KEY, type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_files_batch_job_id"))
        batch_op.drop_column("batch_job_id")

    op.drop_table("batch_jobs")
