"""Migrations run from code: the models agree with the schema at head, and upgrades keep data safe."""

from __future__ import annotations

from pathlib import Path

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


def test_migrations_import_no_application_code() -> None:
    import ast

    for path in sorted(db.MIGRATIONS.joinpath("versions").glob("*.py")):
        tree = ast.parse(path.read_text())
        imported = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        ]
        assert not [m for m in imported if m and m.startswith("fusionguard")], (path.name, imported)


def test_downgrade_to_base_refuses_to_drop_a_log_with_records(db_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from fusionguard.audit.keys import KeyRing
    from fusionguard.audit.log import AuditLog
    from tests.audit.records import run_record

    ring = KeyRing.create(tmp_path / "keys", now=datetime.now(UTC))
    AuditLog.open(db_url, ring).append(run_record(1, datetime.now(UTC)))
    with pytest.raises(RuntimeError, match=r"refusing to drop an audit log of 1 record\(s\)"):
        _to(db_url, "base", down=True)
    engine = db.open_engine(db_url)
    assert db.current_revision(engine) == db.head_revision()  # nothing was dropped
    assert "audit_records" in inspect(engine).get_table_names()
    engine.dispose()


def test_downgrade_below_sealed_consent_data_refuses(db_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import numpy as np

    from fusionguard.audit.keys import KeyRing
    from fusionguard.audit.log import AuditLog
    from fusionguard.faces.base import Embedding
    from fusionguard.registry import ConsentRegistry, IdentityKeyStore

    log = AuditLog.open(db_url, KeyRing.create(tmp_path / "keys", now=datetime.now(UTC)))
    registry = ConsentRegistry(log.engine, keys=IdentityKeyStore(tmp_path / "identity-keys"), log=log)
    registry.enroll("Ada", [Embedding("m", np.ones(4))], roles=["source"], photo_hashes=["ab" * 32])
    with pytest.raises(RuntimeError, match="would become unreadable below schema 0005_coreaudit"):
        _to(db_url, "0005_bystanders", down=True)
