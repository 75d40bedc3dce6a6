"""The CLI as a user runs it: exit codes, one-line errors, and nothing changed by a failure."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fusionguard.cli import main


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fusionguard.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def content(database: Path) -> list[str]:
    """The database's logical content (SQLite may rewrite file bytes on a WAL checkpoint)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


@pytest.fixture
def initialised(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    assert main(["--home", str(home), "init"]) == 0
    return home


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), lines[0]
    return lines[0]


def test_init_list_verify_proof_round_trip(initialised: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from fusionguard.audit.keys import KeyRing
    from fusionguard.audit.log import AuditLog
    from fusionguard.config import Settings
    from tests.audit.records import run_record

    settings = Settings.resolve(initialised)
    log = AuditLog.open(settings.db_url, KeyRing.load(settings.keys_dir), witness_path=settings.witness_path)
    receipt = log.append(run_record(1, datetime.now(UTC)))
    log.append(run_record(2, datetime.now(UTC), decision="blocked"))

    listed = run(initialised, "audit", "list", "--json")
    assert listed.returncode == 0
    assert json.loads(listed.stdout)["ok"] is True
    assert [row["decision"] for row in json.loads(listed.stdout)["records"]] == ["blocked", "allowed"]
    blocked = run(initialised, "audit", "list", "--decision", "blocked", "--json")
    assert [row["seq"] for row in json.loads(blocked.stdout)["records"]] == [1]

    assert run(initialised, "audit", "verify").returncode == 0
    proof, key = tmp_path / "proof.json", tmp_path / "public.json"
    assert run(initialised, "audit", "proof", receipt.record_id, "--out", str(proof)).returncode == 0
    assert run(initialised, "keys", "export-public", "--out", str(key)).returncode == 0
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusionguard.cli",
            "audit",
            "verify-proof",
            str(proof),
            "--public-key",
            str(key),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "FUSIONGUARD_HOME": str(tmp_path / "nowhere")},
    )
    assert checked.returncode == 0, checked.stderr
    assert receipt.record_id in checked.stdout
    assert not (tmp_path / "nowhere").exists()  # offline verification touched no home or database

    taken = run(initialised, "audit", "takedown", receipt.record_id, "--reason", "leaked")
    assert taken.returncode == 0, taken.stderr
    down = run(initialised, "audit", "list", "--taken-down", "--json")
    assert [row["record_id"] for row in json.loads(down.stdout)["records"]] == [receipt.record_id]

    exported = run(initialised, "audit", "export")
    assert len(exported.stdout.splitlines()) == 3

    cp = tmp_path / "head.note"
    assert run(initialised, "audit", "checkpoint", "--export", str(cp)).returncode == 0
    assert run(initialised, "audit", "verify", "--checkpoint", str(cp)).returncode == 0


def test_rotation_keeps_old_records_verifiable(initialised: Path) -> None:
    assert run(initialised, "keys", "rotate").returncode == 0
    shown = json.loads(run(initialised, "keys", "show", "--json").stdout)
    assert shown["ok"] is True
    assert [row["signing"] for row in shown["keys"]] == [False, True]
    assert run(initialised, "audit", "verify").returncode == 0


def test_unknown_record_id(initialised: Path) -> None:
    db = initialised / "audit.db"
    before = content(db)
    assert "no audit record" in one_line_error(run(initialised, "audit", "show", "f" * 32))
    assert content(db) == before


def test_corrupt_database_file(initialised: Path) -> None:
    db = initialised / "audit.db"
    for extra in ("audit.db-wal", "audit.db-shm"):
        (initialised / extra).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    before = digest(db)
    assert "not a database" in one_line_error(run(initialised, "audit", "list"))
    assert digest(db) == before


def test_database_at_old_migration(initialised: Path) -> None:
    from alembic import command

    from fusionguard.store import db

    engine = db.open_engine(f"sqlite:///{initialised / 'audit.db'}")
    config = db._alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    message = one_line_error(run(initialised, "audit", "list"))
    assert "is at schema 0001" in message and "fusionguard init" in message
    assert run(initialised, "init").returncode == 0  # the fix the message names works
    assert run(initialised, "audit", "list").returncode == 0


def test_missing_key(initialised: Path) -> None:
    for key in (initialised / "keys").glob("signing-*.pem"):
        key.unlink()
    assert "is missing" in one_line_error(run(initialised, "audit", "checkpoint"))


def test_world_readable_key(initialised: Path) -> None:
    key = next((initialised / "keys").glob("signing-*.pem"))
    key.chmod(0o644)
    message = one_line_error(run(initialised, "audit", "checkpoint"))
    assert "chmod 600" in message


def test_wrong_passphrase(tmp_path: Path) -> None:
    home = tmp_path / "locked"
    assert run(home, "init", env={"FUSIONGUARD_KEY_PASSPHRASE": "correct horse"}).returncode == 0
    key = next((home / "keys").glob("signing-*.pem"))
    assert b"ENCRYPTED" in key.read_bytes()
    before = content(home / "audit.db")
    wrong = run(home, "audit", "checkpoint", env={"FUSIONGUARD_KEY_PASSPHRASE": "battery staple"})
    assert "wrong passphrase" in one_line_error(wrong)
    missing = run(home, "audit", "checkpoint", env={"FUSIONGUARD_KEY_PASSPHRASE": ""})
    assert "is encrypted" in one_line_error(missing)
    assert content(home / "audit.db") == before
    ok = run(home, "audit", "checkpoint", env={"FUSIONGUARD_KEY_PASSPHRASE": "correct horse"})
    assert ok.returncode == 0, ok.stderr


def test_tampered_log_fails_verify_with_named_problem(initialised: Path) -> None:
    from datetime import UTC, datetime

    from fusionguard.audit.keys import KeyRing
    from fusionguard.audit.log import AuditLog
    from fusionguard.config import Settings
    from tests.audit.records import run_record
    from tests.audit.test_log import attack

    settings = Settings.resolve(initialised)
    log = AuditLog.open(settings.db_url, KeyRing.load(settings.keys_dir), witness_path=settings.witness_path)
    for i in range(4):
        log.append(run_record(i, datetime.now(UTC)))
    attack(
        log, "DELETE FROM audit_record_identities WHERE seq = 1", "DELETE FROM audit_records WHERE seq = 1"
    )
    result = run(initialised, "audit", "verify")
    assert result.returncode == 3
    assert "missing record (seq 1)" in result.stderr
