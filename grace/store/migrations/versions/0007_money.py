"""Money from quote to balance: what an order has paid, its delivery, payment kinds and providers, what
OCR read off a proof, and payment links.

Revision ID: 0007_money
Revises: 0006_takeovers
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_money"
down_revision = "0006_takeovers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("amount_paid_minor", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("balance_requested_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("balance_reminded_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("delivery_method", sa.String(12), nullable=True))
        batch.add_column(sa.Column("delivery_zone", sa.String(80), nullable=True))
        batch.add_column(sa.Column("delivery_address", sa.Text(), nullable=True))
        batch.add_column(sa.Column("delivery_fee_minor", sa.Integer(), nullable=False, server_default="0"))
    # Orders already paid their deposit before this revision: that deposit is what they have paid.
    op.execute("UPDATE orders SET amount_paid_minor = deposit_minor WHERE status NOT IN "
               "('awaiting_payment', 'payment_submitted', 'cancelled', 'expired')")
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("kind", sa.String(12), nullable=False, server_default="deposit"))
        batch.add_column(sa.Column("provider", sa.String(20), nullable=False, server_default="transfer"))
        batch.add_column(sa.Column("provider_reference", sa.String(120), nullable=True))
        batch.add_column(sa.Column("reading", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("reading_verdict", sa.String(12), nullable=True))
        batch.add_column(sa.Column("image_hash", sa.String(32), nullable=True))
        batch.add_column(sa.Column("reused_payment_id", sa.Integer(), nullable=True))
        batch.create_index("ix_payments_image_hash", ["image_hash"])
    op.create_table(
        "payment_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False, index=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(120), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("provider", "reference"),
    )


def downgrade() -> None:
    op.drop_table("payment_links")
    with op.batch_alter_table("payments") as batch:
        batch.drop_index("ix_payments_image_hash")
        for name in ("reused_payment_id", "image_hash", "reading_verdict", "reading", "provider_reference",
                     "provider", "kind"):
            batch.drop_column(name)
    with op.batch_alter_table("orders") as batch:
        for name in ("delivery_fee_minor", "delivery_address", "delivery_zone", "delivery_method",
                     "balance_reminded_at", "balance_requested_at", "amount_paid_minor"):
            batch.drop_column(name)
