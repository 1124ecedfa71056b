"""Conversations a person of the team has taken over from Grace: takeovers.

Revision ID: 0006_takeovers
Revises: 0005_payment_late
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_takeovers"
down_revision = "0005_payment_late"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "takeovers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("conversation_id", sa.String(120), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("taken_by", sa.String(254), nullable=True),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("last_human_at", sa.DateTime(), nullable=True),
        sa.Column("handed_back_at", sa.DateTime(), nullable=True),
        sa.Column("handed_back_by", sa.String(254), nullable=True),
        sa.UniqueConstraint("tenant_id", "conversation_id"),
    )


def downgrade() -> None:
    op.drop_table("takeovers")
