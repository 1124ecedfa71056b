"""Bringing customers back: consent on contacts, message receipts, broadcasts, restock alerts, scheduled notifications.

Revision ID: 0009_reach
Revises: 0008_inbox
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_reach"
down_revision = "0008_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("opted_in_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("opt_in_source", sa.String(20), nullable=True))
        batch.add_column(sa.Column("name", sa.String(120), nullable=True))
        batch.add_column(sa.Column("city", sa.String(80), nullable=True))
        # Existing rows: first known when they last wrote (or now).
        batch.add_column(sa.Column("created_at", sa.DateTime(), nullable=False,
                                   server_default=sa.text("CURRENT_TIMESTAMP")))
    # A number that wrote to the business opted in by writing first.
    op.execute("UPDATE contacts SET opted_in_at = last_inbound_at, opt_in_source = 'wrote_first' "
               "WHERE last_inbound_at IS NOT NULL AND opted_out_at IS NULL")
    with op.batch_alter_table("contacts") as batch:
        batch.alter_column("created_at", server_default=None)
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("not_before", sa.DateTime(), nullable=True))
    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False, index=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("provider_id", sa.String(128), nullable=False),
        sa.Column("to_phone", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True, index=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=True, index=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("error_code", sa.String(20), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("channel", "provider_id"),
    )
    op.create_index("ix_outbound_messages_tenant_phone", "outbound_messages", ["tenant_id", "to_phone"])
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False, index=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("template", sa.JSON(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(), nullable=True),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("paused_until", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "broadcast_recipients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("broadcast_id", sa.Integer(), sa.ForeignKey("broadcasts.id"), nullable=False, index=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("provider_id", sa.String(128), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("rate_limited", sa.Integer(), nullable=False),
        sa.UniqueConstraint("broadcast_id", "phone"),
    )
    op.create_table(
        "restock_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False, index=True),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("notified_at", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("restock_alerts")
    op.drop_table("broadcast_recipients")
    op.drop_table("broadcasts")
    op.drop_table("outbound_messages")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("not_before")
    with op.batch_alter_table("contacts") as batch:
        for column in ("created_at", "city", "name", "opt_in_source", "opted_in_at"):
            batch.drop_column(column)
