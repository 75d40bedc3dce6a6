"""Sealed regions: anonymised bystanders' original pixels, encrypted to the admin's recovery key.

Not append-only (``audit shred`` deletes rows); the log holds each ciphertext's SHA-256.

Revision ID: 0005_bystanders
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_bystanders"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sealed_regions",
        sa.Column("record_id", sa.String(32), primary_key=True),
        sa.Column("region_index", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sealed_regions")
