"""Append queue: PostgreSQL writers queue records and one of them integrates the whole queue per commit.

A commit on PostgreSQL waits for a WAL flush (about 2 ms on ordinary disks); holding the log's row lock
through one flush per record caps a fleet at a few hundred appends per second. Queued inserts commit in
parallel (their flushes are grouped by the server) and each integration commits a batch.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_queue",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("record_id", sa.String(32), nullable=False, unique=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_queue")
