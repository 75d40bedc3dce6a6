"""Admin console: accounts, sessions, API tokens and failed-login attempts.

Kept apart from the audit tables (which stay append-only): these rows are mutable state of the console.
Every admin *action* is a signed record in the audit log; these tables only say who may act. Passwords,
session IDs and API tokens are stored hashed, never in clear. Sessions and login attempts live in the
database so several server processes sharing one PostgreSQL see the same sessions and rate limits.

Revision ID: 0005_console
Revises: 0005_trace
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_console"
down_revision = "0005_trace"  # chained after the trace fingerprints table
branch_labels = None
depends_on = None


# Record search pages newest first under a filter (WHERE decision = ? ORDER BY seq DESC LIMIT n): an index
# on (column, seq) answers that from the index in order, where one on the column alone sorts every match
# (a second at 1,000,000 records). Takedown lookups by kind need (kind, seq).
_SEARCH_INDEXES = {
    "ix_audit_records_decision_seq": ("ix_audit_records_decision", ["decision", "seq"], ["decision"]),
    "ix_audit_records_model_name_seq": ("ix_audit_records_model_name", ["model_name", "seq"], ["model_name"]),
    "ix_audit_records_kind_seq": (None, ["kind", "seq"], None),
}


def upgrade() -> None:
    for name, (replaces, columns, _old) in _SEARCH_INDEXES.items():
        op.create_index(name, "audit_records", columns)
        if replaces:
            op.drop_index(replaces, table_name="audit_records")
    op.create_table(
        "console_accounts",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        # a generated (printed, one-time) password must be replaced at the first login
        sa.Column("must_change", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), sa.ForeignKey("console_accounts.username"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_console_sessions_username", "console_sessions", ["username"])
    op.create_table(
        "console_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("username", sa.String(64), sa.ForeignKey("console_accounts.username"), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_console_tokens_username", "console_tokens", ["username"])
    op.create_table(
        "console_login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("remote", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_console_login_failures_username", "console_login_failures", ["username"])
    op.create_index("ix_console_login_failures_remote", "console_login_failures", ["remote"])
    op.create_index("ix_console_login_failures_at", "console_login_failures", ["at"])


def downgrade() -> None:
    for name, (replaces, _columns, old) in _SEARCH_INDEXES.items():
        if replaces and old:
            op.create_index(replaces, "audit_records", old)
        op.drop_index(name, table_name="audit_records")
    op.drop_table("console_login_failures")
    op.drop_table("console_tokens")
    op.drop_table("console_sessions")
    op.drop_table("console_accounts")
