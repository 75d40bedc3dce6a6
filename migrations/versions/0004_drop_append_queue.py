"""Drop the append queue: PostgreSQL appends no longer queue (see fusionguard.audit.log._Appender).

Each append now holds the log's row lock for one pipelined round trip and commits asynchronously,
acknowledging only after a flush barrier, which beats the queue's group commit without a second table.

A queued record was integrated by the next append of the version that queued it, so the queue is empty
unless a writer died between queueing and integrating. Those records were never acknowledged, and they
cannot be signed here (a migration has no keys): the upgrade refuses rather than drop them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


class QueuedRecordsPending(RuntimeError):
    """Defined here, not imported: a migration must not depend on application code that moves on."""


def upgrade() -> None:
    pending = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_queue")).scalar_one()
    if pending:
        raise QueuedRecordsPending(
            f"audit_queue holds {pending} record(s) queued by a writer that stopped before appending "
            "them; run one guarded run (or any append) with the fusionguard version that queued them, "
            "which integrates the queue, then upgrade again"
        )
    op.drop_table("audit_queue")


def downgrade() -> None:
    op.create_table(
        "audit_queue",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("record_id", sa.String(32), nullable=False, unique=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
    )
