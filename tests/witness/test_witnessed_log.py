"""A log witnessed by two real witness processes on loopback, on SQLite and PostgreSQL.

Normal operation; a database rolled back together with the local witness file; a fork signed with the
stolen log key; a witness that hangs or is down while the log keeps appending.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import text

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.audit.verify import verify_log
from fusionguard.witness.client import wait_for
from fusionguard.witness.cosignature import Verifier
from fusionguard.witness.policy import WitnessPolicy
from fusionguard.witness.report import witness_report
from tests.conftest import FixedClock
from tests.witness.conftest import Setup, open_log
from tests.witness.support import WitnessProcess


def _problems(log: AuditLog, notes: list[str]) -> set[str]:
    return {p.kind for p in verify_log(log, external_checkpoints=notes).problems}


def test_background_witnessing_meets_the_quorum(setup: Setup) -> None:
    client = setup.client().start()
    setup.fill(5)
    assert wait_for(client, 5, timeout=30), client.status
    setup.fill(8)
    assert wait_for(client, 13, timeout=30), client.status
    client.stop()
    report = witness_report(setup.log, setup.policy)
    assert report.newest is not None and report.newest.tree_size == 13
    assert set(report.newest.cosigners) == {"w1", "w2"}
    assert report.lag_records == 0 and not report.problems
    assert {w["size"] for w in report.witnesses.values()} == {13}
    assert _problems(setup.log, report.notes) == set()
    # Several rounds ran, each from the size the witness last cosigned (consistency proofs verified).
    with setup.log.engine.connect() as connection:
        sizes = (
            connection.execute(text("SELECT DISTINCT tree_size FROM witness_cosignatures")).scalars().all()
        )
    assert len(sizes) >= 2 and max(sizes) == 13


def test_witness_state_survives_a_restart(setup: Setup) -> None:
    client = setup.client()
    setup.fill(5)
    client.submit_now()
    setup.w1.stop()
    setup.w1.start()
    setup.fill(3)
    statuses = client.submit_now()
    assert statuses["w1"].size == 8 and statuses["w1"].error is None
    # A fresh client (a restarted log process) starts from the sizes stored beside the checkpoints.
    setup.fill(2)
    assert setup.client().submit_now()["w1"].size == 10


def _snapshot(log: AuditLog) -> dict[str, object]:
    with log.engine.connect() as connection:
        row = connection.execute(text("SELECT tree_size, frontier, head_note FROM log_state")).one()
    return {"tree_size": row[0], "frontier": bytes(row[1]), "head_note": row[2]}


def _roll_back(log: AuditLog, state: dict[str, object], *, keep_cosignatures: bool = False) -> None:
    """An attacker with the database (triggers dropped, as they could) restores an old state."""
    size = state["tree_size"]
    tables = ("audit_records", "audit_record_identities", "audit_checkpoints", "log_state")
    with log.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            for table in (*tables, "witness_cosignatures"):
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for name in connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars():
                connection.execute(text(f"DROP TRIGGER {name}"))
        connection.execute(text("DELETE FROM audit_record_identities WHERE seq >= :n"), {"n": size})
        connection.execute(text("DELETE FROM audit_records WHERE seq >= :n"), {"n": size})
        connection.execute(text("DELETE FROM audit_checkpoints WHERE tree_size > :n"), {"n": size})
        if not keep_cosignatures:
            connection.execute(text("DELETE FROM witness_cosignatures WHERE tree_size > :n"), {"n": size})
        connection.execute(
            text("UPDATE log_state SET tree_size = :tree_size, frontier = :frontier, head_note = :head_note"),
            state,
        )
        if connection.dialect.name == "postgresql":
            for table in (*tables, "witness_cosignatures"):
                connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def _rolled_back(setup: Setup, ring: KeyRing, *, keep_cosignatures: bool = False) -> AuditLog:
    """Witness 6 records, snapshot, witness 4 more, then restore the snapshot and the witness file."""
    setup.fill(6)
    setup.client().submit_now()
    state = _snapshot(setup.log)
    assert setup.log.witness_path is not None
    saved_file = setup.log.witness_path.read_bytes()
    setup.fill(4)
    assert setup.client().submit_now()["w2"].size == 10
    _roll_back(setup.log, state, keep_cosignatures=keep_cosignatures)
    setup.log.close()
    setup.log.witness_path.write_bytes(saved_file)
    setup.log = open_log(
        str(setup.log.engine.url.render_as_string(hide_password=False)), ring, setup.clock, setup.home
    )
    return setup.log


def test_rollback_with_the_witness_file_is_caught_by_the_witnesses(setup: Setup, ring: KeyRing) -> None:
    log = _rolled_back(setup, ring)
    assert verify_log(log).ok  # the database and the local witness file agree: locally invisible
    report = witness_report(log, setup.policy)
    assert {w["size"] for w in report.witnesses.values()} == {10}
    assert "truncated tail" in _problems(log, report.notes)
    statuses = setup.client().submit_now()
    assert all(s.alarm and "rolled back" in s.alarm for s in statuses.values())


def test_fork_signed_with_the_stolen_key_is_refused_and_detected(setup: Setup, ring: KeyRing) -> None:
    log = _rolled_back(setup, ring)
    setup.fill(2, offset=1000)  # a different history at sizes 7..8, validly signed with the log's key
    statuses = setup.client().submit_now()
    assert all(s.error and s.error.startswith("409") for s in statuses.values()), statuses
    setup.fill(4, offset=1000)  # now longer than what the witnesses cosigned
    statuses = setup.client().submit_now()
    for status in statuses.values():
        assert status.error and status.error.startswith("422") and status.alarm and "fork" in status.alarm
    assert "inconsistent checkpoint" in _problems(log, witness_report(log, setup.policy).notes)
    # The witnesses kept the refused, validly signed checkpoints as evidence.
    with sqlite3.connect(setup.w1.home / "witness.db") as witness_db:
        refused = witness_db.execute("SELECT status FROM refused ORDER BY id").fetchall()
    assert [s for (s,) in refused] == [409, 409, 422]


class _Hang:
    """A witness URL that accepts a request and answers only when released."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.received = threading.Event()
        self.release = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        connection.recv(65536)
        self.received.set()
        self.release.wait(60)
        connection.close()
        self.listener.close()


def test_a_hung_or_down_witness_delays_cosigning_but_never_appends(
    db_url: str, ring: KeyRing, clock: FixedClock, home: Path, tmp_path: Path
) -> None:
    log = open_log(db_url, ring, clock, home)
    vkey = Verifier.log(log.state()[0], ring.signer.public_key).vkey
    w1 = WitnessProcess.create(tmp_path / "w1", "witness.test/w1", [vkey]).start()
    hang = _Hang()
    w2 = WitnessProcess.create(tmp_path / "w2", "witness.test/w2", [vkey], port=hang.port)
    policy = WitnessPolicy.parse(
        w1.policy_line("w1") + w2.policy_line("w2") + "group both all w1 w2\nquorum both\n"
    )
    setup = Setup(log, policy, w1, w2, clock, home)
    client = setup.client(every_appends=1, timeout=60).start()
    try:
        setup.fill(1)
        assert hang.received.wait(30)  # the client thread now waits on w2's answer
        setup.fill(40)  # ... and every append still completes
        assert not hang.release.is_set() and log.state()[1] == 41
        report = witness_report(log, policy, online=False)
        assert report.newest is None and report.lag_records == 41  # w2 has cosigned nothing
        hang.release.set()  # w2 drops the connection: an error, retried next round
        w2.start()  # the witness comes up on its URL; cosigning catches up without a new append
        assert wait_for(client, 41, timeout=30), client.status
        report = witness_report(log, policy)
        assert report.newest is not None and report.newest.tree_size == 41 and report.lag_records == 0
    finally:
        client.stop()
        w1.stop()
        w2.stop()
        log.close()


def test_a_stored_cosigned_checkpoint_the_records_no_longer_match_fails_verify_offline(
    setup: Setup, ring: KeyRing
) -> None:
    """A fork that forgot the cosignatures stored beside the checkpoints: caught with witnesses offline."""
    log = _rolled_back(setup, ring, keep_cosignatures=True)
    setup.fill(6, offset=1000)
    setup.w1.stop()
    setup.w2.stop()
    report = witness_report(log, setup.policy, timeout=1)
    assert all("unreachable" in w["error"] for w in report.witnesses.values())
    assert report.newest is not None and report.newest.tree_size == 10
    assert "inconsistent checkpoint" in _problems(log, report.notes)
