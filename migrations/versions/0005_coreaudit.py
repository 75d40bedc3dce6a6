"""Sealed consent data: names and reference embeddings encrypted under per-identity keys.

``consent_identities.name_sealed`` holds the display name sealed with AES-256-GCM under the identity's
own key (kept outside the database), and ``consent_embeddings.sealed`` marks vectors stored sealed, so
erasing an identity by destroying its key leaves nothing readable in heap pages, WAL or backups.
Rows written before this revision stay readable as they are (plaintext, marked unsealed).

Self-contained: no fusionguard imports (a migration must run the same way for every later version).

Revision ID: 0005_coreaudit
Revises: 0005_bystanders (chained after it when main was merged; both were written against 0004)
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_coreaudit"
down_revision = "0005_bystanders"
branch_labels = None
depends_on = None


class SealedDataWouldBeLost(RuntimeError):
    """Downgrading would drop sealed names and embeddings that only this schema can read."""


def upgrade() -> None:
    with op.batch_alter_table("consent_identities") as batch:
        batch.add_column(sa.Column("name_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("consent_embeddings") as batch:
        batch.add_column(sa.Column("sealed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    bind = op.get_bind()
    sealed = bind.execute(
        sa.text(
            "SELECT (SELECT count(*) FROM consent_identities WHERE name_sealed IS NOT NULL)"
            " + (SELECT count(*) FROM consent_embeddings WHERE sealed)"
        )
    ).scalar_one()
    if sealed:
        raise SealedDataWouldBeLost(
            f"{sealed} sealed name(s)/embedding(s) would become unreadable below schema 0005_coreaudit; "
            "erase those identities first or stay at this schema"
        )
    with op.batch_alter_table("consent_embeddings") as batch:
        batch.drop_column("sealed")
    with op.batch_alter_table("consent_identities") as batch:
        batch.drop_column("name_sealed")
