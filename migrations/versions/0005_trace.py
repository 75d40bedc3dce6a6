"""Content fingerprints of released outputs, for traces that check content against the record.

One row per allowed run record, keyed by its record ID and written before the record is appended
(so a record never exists without its fingerprint; a fingerprint whose record append failed is an
orphan that no trace can reach). The signed record carries the fingerprint's SHA-256
(``output.fingerprint``), so an edited row is detected when a trace reads it.

Revision ID: 0005_trace
Revises: 0005_coreaudit (written against 0004; chained after the other 0005 migrations when main was merged)
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_trace"
down_revision = "0005_coreaudit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_fingerprints",
        sa.Column("record_id", sa.String(32), primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("trace_fingerprints")
