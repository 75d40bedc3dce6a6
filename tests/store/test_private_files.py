"""The biometric store is private: home 0700, SQLite database and its -wal/-shm files 0600."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from fusionguard.cli import main
from fusionguard.store import db


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> object:
    previous = os.umask(0o022)  # the common default: files 0644, directories 0755
    yield
    os.umask(previous)


def test_init_tightens_an_existing_open_home_and_creates_private_database_files(
    tmp_path: Path, open_umask: object, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    assert main(["--home", str(home), "init"]) == 0
    assert "tightened home" in capsys.readouterr().out
    assert mode(home) == 0o700
    assert mode(home / "audit.db") == 0o600
    engine = db.open_engine(f"sqlite:///{home / 'audit.db'}")
    with engine.begin() as connection:  # a write makes the -wal and -shm files exist
        connection.execute(text("SELECT count(*) FROM audit_records"))
        for suffix in ("-wal", "-shm"):
            assert mode(home / f"audit.db{suffix}") == 0o600, suffix
    engine.dispose()


def test_database_files_left_world_readable_by_an_older_version_are_tightened(
    tmp_path: Path, open_umask: object
) -> None:
    database = tmp_path / "old.db"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    engine = db.open_engine(f"sqlite:///{database}")
    db.upgrade(engine)
    assert mode(database) == 0o600
    assert {mode(p) for p in tmp_path.glob("old.db*")} == {0o600}
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    engine.dispose()
