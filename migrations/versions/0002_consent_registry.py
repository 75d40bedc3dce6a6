"""Consent registry: identities, consents per role, reference embeddings per face model.

Kept apart from the audit tables: erasing a person's biometric data edits these rows only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_identities",
        sa.Column("identity_id", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "consent_grants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "identity_id",
            sa.String(64),
            sa.ForeignKey("consent_identities.identity_id"),
            nullable=False,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_until", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("evidence_sha256", sa.String(64), nullable=True),
    )
    op.create_index("ix_consent_grants_identity_id", "consent_grants", ["identity_id"])
    op.create_table(
        "consent_embeddings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "identity_id",
            sa.String(64),
            sa.ForeignKey("consent_identities.identity_id"),
            nullable=False,
        ),
        sa.Column("model_id", sa.String(100), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("photo_sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_consent_embeddings_identity_id", "consent_embeddings", ["identity_id"])
    op.create_index("ix_consent_embeddings_model_id", "consent_embeddings", ["model_id"])


def downgrade() -> None:
    op.drop_table("consent_embeddings")
    op.drop_table("consent_grants")
    op.drop_table("consent_identities")
