"""Witness cosignatures: the cosigned checkpoints the log's witnesses returned (C2SP tlog-witness).

One row per (witness, tree size): the log-signed checkpoint note that was submitted and the witness's
cosignature line over it, with the cosignature's own timestamp. Rows are only ever inserted; like the
log tables, triggers refuse UPDATE and DELETE, so a cosignature once stored stays evidence.

Revision ID: 0005_witness
Revises: 0005_console
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_witness"
down_revision = "0005_console"  # the last of the 0005 chain: bystanders, coreaudit, trace, console
branch_labels = None
depends_on = None

_TABLE = "witness_cosignatures"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("witness", sa.String(200), primary_key=True, autoincrement=False),
        sa.Column("tree_size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cosignature", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_witness_cosignatures_tree_size", _TABLE, ["tree_size"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION fusionguard_witness_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'witness_cosignatures is append-only'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {_TABLE}_append_only BEFORE UPDATE OR DELETE ON {_TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION fusionguard_witness_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {_TABLE}_no_{action.lower()} BEFORE {action} ON {_TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{_TABLE} is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table(_TABLE)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS fusionguard_witness_append_only()")
