"""Migrations run from code: the models agree with the schema at head, and upgrades keep data safe."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from fusionguard.errors import AuditError
from fusionguard.store import db
from fusionguard.store.models import Base


def _to(engine_url: str, revision: str, *, down: bool = False) -> None:
    engine = db.open_engine(engine_url)
    config = db._alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
    engine.dispose()


def test_models_agree_with_the_schema_at_head(db_url: str) -> None:
    engine = db.open_engine(db_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_every_revision_downgrades_and_upgrades_again(db_url: str) -> None:
    _to(db_url, "base", down=True)
    engine = db.open_engine(db_url)
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()


def test_dropping_the_append_queue_refuses_to_lose_a_queued_record(db_url: str) -> None:
    _to(db_url, "0003", down=True)
    engine = db.open_engine(db_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_queue (record_id, body, queued_at) "
                "VALUES ('00000000000000000000000000000001', '{}', '2026-11-25 00:00:00')"
            )
        )
    with pytest.raises(AuditError, match=r"audit_queue holds 1 record\(s\) queued"):
        db.upgrade(engine)
    assert db.current_revision(engine) == "0003"
    assert "audit_queue" in inspect(engine).get_table_names()

    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_queue"))
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert "audit_queue" not in inspect(engine).get_table_names()
    engine.dispose()
