"""The audit log on SQLite and PostgreSQL: appends, queries, proofs, and attacks on the database."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from fusionguard.audit.canonical import canonical_json, parse_json_object
from fusionguard.audit.checkpoint import Checkpoint, verify_checkpoint
from fusionguard.audit.keys import KeyRing, LocalSigner
from fusionguard.audit.log import AuditLog, Filters, seal_envelope, signing_input
from fusionguard.audit.merkle import EMPTY_ROOT
from fusionguard.audit.verify import verify_log, verify_proof_file
from fusionguard.errors import AuditError, NotFound, TamperDetected
from fusionguard.store import db
from tests.audit.records import run_record
from tests.conftest import FixedClock
from tests.support.postgres import PostgresCluster


def open_log(db_url: str, ring: KeyRing, clock: FixedClock, home: Path, **kw: int) -> AuditLog:
    return AuditLog.open(db_url, ring, clock=clock, witness_path=home / "log-head.note", **kw)


def fill(log: AuditLog, clock: FixedClock, n: int) -> None:
    start = log.state()[1]
    for i in range(start, start + n):
        clock.advance(seconds=1)
        log.append(run_record(i, clock()))


def kinds(log: AuditLog) -> dict[str, set[tuple[int, ...]]]:
    found: dict[str, set[tuple[int, ...]]] = {}
    for problem in verify_log(log).problems:
        found.setdefault(problem.kind, set()).add(problem.sequence_numbers)
    return found


def attack(log: AuditLog, *statements: str) -> None:
    """Run SQL as an attacker with file access: triggers dropped first, as they could."""
    with log.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            for table in (
                "audit_records",
                "audit_record_identities",
                "audit_checkpoints",
                "log_state",
            ):
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            names = (
                connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
                .scalars()
                .all()
            )
            for name in names:
                connection.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            connection.exec_driver_sql(statement)


def test_append_verify_and_query(db_url: str, ring: KeyRing, clock: FixedClock, home: Path) -> None:
    log = open_log(db_url, ring, clock, home)
    fill(log, clock, 10)
    log.append(run_record(99, clock(), decision="blocked", identity="id-carol"))
    with pytest.raises(AuditError, match="watermark_id"):
        log.append(run_record(3, clock()))  # watermark IDs are unique in the log
    report = verify_log(log, full=True)
    assert report.ok, report.problems
    assert report.records == 11 and report.signatures_checked == 11
    assert [s.seq for s in log.query(Filters(identity="id-carol"))] == [10]
    assert len(log.query(Filters(decision="allowed"))) == 10
    assert len(log.query(Filters(limit=3))) == 3
    assert log.get("3").record.seq == 3
    assert log.get(log.get("4").record.output.watermark_id).seq == 4  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        log.get("f" * 32)


def test_head_is_signed_and_covers_every_append(
    db_url: str, ring: KeyRing, clock: FixedClock, home: Path
) -> None:
    log = open_log(db_url, ring, clock, home, checkpoint_every=4)
    origin = log.state()[0]
    receipts = [log.append(run_record(i, clock())) for i in range(6)]
    for n, receipt in enumerate(receipts, start=1):
        assert verify_checkpoint(receipt.checkpoint, ring, origin=origin).tree_size == n
    assert [size for size, _, _ in log.checkpoints()] == [4]
    assert log.witness_path is not None
    assert "\n6\n" in log.witness_path.read_bytes().decode(errors="ignore")


def test_inclusion_and_consistency_proofs_verify_offline(
    db_url: str, ring: KeyRing, clock: FixedClock, home: Path
) -> None:
    log = open_log(db_url, ring, clock, home)
    fill(log, clock, 5)
    old = log.checkpoint()
    fill(log, clock, 7)
    public = KeyRing(None, [ring.public_key(k) for k in ring.key_ids])
    for key in ("0", "4", "11"):
        proof = json.dumps(log.inclusion_proof(key)).encode()
        assert verify_proof_file(proof, public)["seq"] == int(key)
    consistency = json.dumps(log.consistency_proof(old)).encode()
    assert verify_proof_file(consistency, public)["new_size"] == 12
    forged = log.inclusion_proof("2")
    forged["envelope"]["record"]["actor"] = "someone else"
    with pytest.raises(TamperDetected, match="edited record"):
        verify_proof_file(json.dumps(forged).encode(), public)
    stranger = KeyRing(LocalSigner.generate(), [])
    with pytest.raises(TamperDetected, match="unknown key"):
        verify_proof_file(proof, stranger)


def test_envelope_bytes_are_canonical(ring: KeyRing, clock: FixedClock) -> None:
    body = run_record(1, clock()).with_seq(0).to_json()
    signature = ring.signer.sign(signing_input(body))
    envelope = {
        "record": body,
        "signature": {
            "key_id": ring.signer.key_id,
            "value": __import__("base64").b64encode(signature).decode(),
        },
    }
    assert seal_envelope(canonical_json(body), ring.signer.key_id, signature) == canonical_json(envelope)


def test_triggers_refuse_update_and_delete(db_url: str, ring: KeyRing, clock: FixedClock, home: Path) -> None:
    log = open_log(db_url, ring, clock, home)
    fill(log, clock, 2)
    for statement in (
        "UPDATE audit_records SET actor = 'x' WHERE seq = 0",
        "DELETE FROM audit_records WHERE seq = 1",
        "UPDATE log_state SET tree_size = 1",
    ):
        with (
            pytest.raises(Exception, match=r"append-only|may only grow"),
            log.engine.begin() as connection,
        ):
            connection.exec_driver_sql(statement)
    assert verify_log(log).ok


def _edit_field(log: AuditLog) -> None:
    envelope = parse_json_object(json.dumps(log.get("3").envelope))
    envelope["record"]["actor"] = "mallory"
    attack(
        log,
        f"UPDATE audit_records SET envelope = '{canonical_json(envelope).decode()}' WHERE seq = 3",
    )


def _resign_foreign(log: AuditLog) -> None:
    foreign = LocalSigner.generate()
    body = log.get("5").envelope["record"]
    body["actor"] = "mallory"
    encoded = canonical_json(body)
    sealed = seal_envelope(encoded, foreign.key_id, foreign.sign(signing_input(body)))
    attack(
        log,
        f"UPDATE audit_records SET envelope = '{sealed.decode()}', key_id = '{foreign.key_id}' WHERE seq = 5",
    )


def _swap(log: AuditLog) -> None:
    a, b = log.get("2"), log.get("6")
    attack(
        log,
        f"UPDATE audit_records SET envelope = '{canonical_json(b.envelope).decode()}' WHERE seq = 2",
        f"UPDATE audit_records SET envelope = '{canonical_json(a.envelope).decode()}' WHERE seq = 6",
    )


def _forge_checkpoint(log: AuditLog) -> None:
    origin = log.state()[0]
    forged = Checkpoint(origin, 4, EMPTY_ROOT).sign(LocalSigner.generate())
    attack(log, f"UPDATE log_state SET head_note = '{forged}'")


def _edit_column(log: AuditLog) -> None:
    attack(log, "UPDATE audit_records SET decision = 'blocked' WHERE seq = 1")


ATTACKS: dict[str, tuple[Callable[[AuditLog], None], str, tuple[int, ...]]] = {
    "changed field": (_edit_field, "edited record", (3,)),
    "deleted middle record": (
        lambda log: attack(
            log,
            "DELETE FROM audit_record_identities WHERE seq = 4",
            "DELETE FROM audit_records WHERE seq = 4",
        ),
        "missing record",
        (4,),
    ),
    "deleted last record": (
        lambda log: attack(
            log,
            "DELETE FROM audit_record_identities WHERE seq = 7",
            "DELETE FROM audit_records WHERE seq = 7",
        ),
        "truncated tail",
        (7,),
    ),
    "two records swapped": (_swap, "reordered records", (2, 6)),
    "re-signed with a foreign key": (_resign_foreign, "unknown key", (5,)),
    "forged checkpoint": (_forge_checkpoint, "unknown key", ()),
    "edited query column": (_edit_column, "edited record", (1,)),
    "identity hidden from queries": (
        lambda log: attack(log, "DELETE FROM audit_record_identities WHERE seq = 2"),
        "edited record",
        (2,),
    ),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_verify_names_each_attack(
    name: str, db_url: str, ring: KeyRing, clock: FixedClock, home: Path
) -> None:
    log = open_log(db_url, ring, clock, home)
    fill(log, clock, 8)
    assert verify_log(log).ok
    tamper, kind, seqs = ATTACKS[name]
    tamper(log)
    found = kinds(log)
    assert kind in found, found
    if seqs:
        assert seqs in found[kind], found


def test_truncation_with_rolled_back_head_is_caught_by_witness(
    db_url: str, ring: KeyRing, clock: FixedClock, home: Path
) -> None:
    log = open_log(db_url, ring, clock, home, checkpoint_every=4)
    fill(log, clock, 6)
    old_head = log.checkpoints()[0][2]  # size 4: a genuine signed head the attacker can reuse
    attack(
        log,
        "DELETE FROM audit_record_identities WHERE seq >= 4",
        "DELETE FROM audit_records WHERE seq >= 4",
        f"UPDATE log_state SET head_note = '{old_head}', tree_size = 4",
    )
    found = kinds(log)
    assert "truncated tail" in found, found


def _appender(db_url: str, keys_dir: str, worker: int, count: int) -> None:
    ring = KeyRing.load(Path(keys_dir))
    log = AuditLog.open(db_url, ring, witness_path=Path(keys_dir).parent / "log-head.note")
    from datetime import UTC, datetime

    for i in range(count):
        log.append(run_record(worker * 100_000 + i, datetime.now(UTC), identity=f"w{worker}"))


@pytest.mark.slow
def test_four_processes_append_concurrently(
    db_url: str, ring: KeyRing, clock: FixedClock, home: Path
) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_appender, args=(db_url, str(home / "keys"), w, 500)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)
        assert worker.exitcode == 0
    log = open_log(db_url, ring, clock, home)
    report = verify_log(log, full=True)
    assert report.ok, report.problems[:5]
    assert report.records == 2000
    seqs = [row.seq for row in log.iter_rows()]
    assert seqs == list(range(2000))
    for w in range(4):
        assert len(log.query(Filters(identity=f"w{w}"))) == 500


def test_refuses_database_not_at_head(db_url: str, ring: KeyRing) -> None:
    engine = db.open_engine(db_url)
    from alembic import command

    config = db._alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    with pytest.raises(AuditError, match="run 'fusionguard init'"):
        AuditLog.open(db_url, ring)


@pytest.mark.postgres
def test_postgres_ack_waits_for_the_flush_barrier_or_commits_synchronously(
    postgres: PostgresCluster | None, ring: KeyRing, clock: FixedClock, home: Path
) -> None:
    """Appends commit asynchronously only when the flush barrier can be used; otherwise synchronously."""
    if postgres is None:
        pytest.skip("PostgreSQL is not installed (mandatory in CI)")
    url = postgres.create_database(f"fgbarrier_{os.getpid()}")
    engine = db.open_engine(url)
    db.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE ROLE fg_restricted LOGIN"))
        connection.execute(
            text("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO fg_restricted")
        )
        connection.execute(
            text("REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) FROM PUBLIC")
        )
    engine.dispose()

    for user, barrier in (("postgres", True), ("fg_restricted", False)):
        log = open_log(url.replace("postgres@", f"{user}@"), ring, clock, home)
        fill(log, clock, 3)
        appender = log._checkout()
        try:
            assert appender.barrier is barrier
            with appender.connection.cursor() as cursor:  # outside an append: the server's default
                cursor.execute("SHOW synchronous_commit")
                assert cursor.fetchone() == ("on",)
        finally:
            log._checkin(appender)
        log.close()
    log = open_log(url, ring, clock, home)
    report = verify_log(log, full=True)
    assert report.ok, report.problems
    assert report.records == 6
