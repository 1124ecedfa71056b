"""The team's inbox: notes and labels on conversations, canned replies; a takeover held from an ops number.

Revision ID: 0008_inbox
Revises: 0007_money
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_inbox"
down_revision = "0007_money"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("takeovers") as batch:
        batch.add_column(sa.Column("relay_phone", sa.String(64), nullable=True))
        batch.add_column(sa.Column("relay_ref", sa.String(40), nullable=True))
    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False, index=True),
        sa.Column("conversation_id", sa.String(120), nullable=False),
        sa.Column("author", sa.String(254), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "conversation_labels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False, index=True),
        sa.Column("conversation_id", sa.String(120), nullable=False),
        sa.Column("label", sa.String(30), nullable=False),
        sa.UniqueConstraint("tenant_id", "conversation_id", "label"),
    )
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False, index=True),
        sa.Column("title", sa.String(60), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "title"),
    )


def downgrade() -> None:
    op.drop_table("canned_replies")
    op.drop_table("conversation_labels")
    op.drop_table("conversation_notes")
    with op.batch_alter_table("takeovers") as batch:
        batch.drop_column("relay_ref")
        batch.drop_column("relay_phone")
