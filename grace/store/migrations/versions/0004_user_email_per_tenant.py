"""Dashboard accounts: an email is unique within a tenant, not across them.

Revision ID: 0004_user_email_per_tenant
Revises: 0003_accounts
"""
from __future__ import annotations

from alembic import op

revision = "0004_user_email_per_tenant"
down_revision = "0003_accounts"
branch_labels = None
depends_on = None

# The unique constraints were made unnamed: PostgreSQL named them <table>_<columns>_key, SQLite left
# them nameless. Batch mode names SQLite's reflected ones by the same pattern, so one name serves both.
NAMES = {"uq": "%(table_name)s_%(column_0_N_name)s_key"}


def upgrade() -> None:
    with op.batch_alter_table("users", naming_convention=NAMES) as batch:
        batch.drop_constraint("users_email_key", type_="unique")
        batch.create_unique_constraint("users_tenant_id_email_key", ["tenant_id", "email"])


def downgrade() -> None:
    # Fails while an email has accounts at two tenants: which one to delete is a person's decision.
    with op.batch_alter_table("users", naming_convention=NAMES) as batch:
        batch.drop_constraint("users_tenant_id_email_key", type_="unique")
        batch.create_unique_constraint("users_email_key", ["email"])
