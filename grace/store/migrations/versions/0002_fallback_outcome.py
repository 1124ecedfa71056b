"""Fallback log: what the customer was told, and whether they wrote again (decided by `grace learn`).

Revision ID: 0002_fallback_outcome
Revises: 0001_baseline
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_fallback_outcome"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot alter tables in place, Alembic copies the table there.
    with op.batch_alter_table("fallback_log") as batch:
        batch.add_column(sa.Column("answer", sa.Text(), nullable=True))
        batch.add_column(sa.Column("continued", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fallback_log") as batch:
        batch.drop_column("continued")
        batch.drop_column("answer")
