"""Payments: `late`, a proof sent after the order's hold had lapsed (the order expired).

Revision ID: 0005_payment_late
Revises: 0004_user_email_per_tenant
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_payment_late"
down_revision = "0004_user_email_per_tenant"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("late")
