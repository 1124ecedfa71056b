"""A platform many businesses can trust: their own provider accounts, standing and plans, usage, platform
admins and customers' privacy requests.

Revision ID: 0011_platform
Revises: 0010_audit
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_platform"
down_revision = "0010_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_credentials",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("hint", sa.String(60), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(254), nullable=False),
        sa.UniqueConstraint("tenant_id", "kind"),
    )
    op.create_table(
        "tenant_accounts",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("plan", sa.String(30), nullable=True),
        sa.Column("suspended_at", sa.DateTime(), nullable=True),
        sa.Column("suspended_reason", sa.String(200), nullable=True),
        sa.Column("suspended_by", sa.String(254), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "usage_counts",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("metric", sa.String(30), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("warned_at", sa.DateTime(), nullable=True),
        sa.Column("exceeded_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "platform_admins",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False, index=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(254), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    for table in ("privacy_requests", "platform_admins", "usage_counts", "tenant_accounts", "tenant_credentials"):
        op.drop_table(table)
