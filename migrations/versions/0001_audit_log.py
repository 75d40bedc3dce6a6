"""Audit log: records, identities per record, checkpoints, log state; append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_records", "audit_record_identities", "audit_checkpoints")


def upgrade() -> None:
    op.create_table(
        "log_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("head_note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "audit_records",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("record_id", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=True),
        sa.Column("model_license", sa.String(100), nullable=True),
        sa.Column("watermark_id", sa.String(16), nullable=True, unique=True),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("output_sha256", sa.String(64), nullable=True),
        sa.Column("refers_to", sa.String(32), nullable=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_index("ix_audit_records_decision", "audit_records", ["decision"])
    op.create_index("ix_audit_records_created_at", "audit_records", ["created_at"])
    op.create_index("ix_audit_records_model_name", "audit_records", ["model_name"])
    op.create_index("ix_audit_records_output_sha256", "audit_records", ["output_sha256"])
    op.create_index("ix_audit_records_refers_to", "audit_records", ["refers_to"])
    op.create_table(
        "audit_record_identities",
        sa.Column(
            "seq",
            sa.BigInteger(),
            sa.ForeignKey("audit_records.seq"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("identity_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_audit_record_identities_identity", "audit_record_identities", ["identity_id"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    _create_triggers()


def _create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION fusionguard_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        op.execute(
            "CREATE FUNCTION fusionguard_log_grows() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF NEW.tree_size < OLD.tree_size OR NEW.origin <> OLD.origin THEN "
            "RAISE EXCEPTION 'log_state may only grow'; END IF; RETURN NEW; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION fusionguard_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION fusionguard_append_only()"
            )
        op.execute(
            "CREATE TRIGGER log_state_grows BEFORE UPDATE ON log_state "
            "FOR EACH ROW EXECUTE FUNCTION fusionguard_log_grows()"
        )
        op.execute(
            "CREATE TRIGGER log_state_no_delete BEFORE DELETE OR TRUNCATE ON log_state "
            "FOR EACH STATEMENT EXECUTE FUNCTION fusionguard_append_only()"
        )
    else:
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        op.execute(
            "CREATE TRIGGER log_state_grows BEFORE UPDATE ON log_state "
            "WHEN NEW.tree_size < OLD.tree_size OR NEW.origin <> OLD.origin "
            "BEGIN SELECT RAISE(ABORT, 'log_state may only grow'); END"
        )
        op.execute(
            "CREATE TRIGGER log_state_no_delete BEFORE DELETE ON log_state "
            "BEGIN SELECT RAISE(ABORT, 'log_state may not be deleted'); END"
        )


class LogNotEmpty(RuntimeError):
    """Downgrading past 0001 drops the audit log; a log with records is never dropped by a migration."""


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    records = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_records")).scalar_one()
    if records:
        raise LogNotEmpty(
            f"refusing to drop an audit log of {records} record(s); export it ('fusionguard audit "
            "export') and drop the database yourself if you really mean to destroy it"
        )
    for table in ("audit_checkpoints", "audit_record_identities", "audit_records", "log_state"):
        op.drop_table(table)
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS fusionguard_append_only()")
        op.execute("DROP FUNCTION IF EXISTS fusionguard_log_grows()")
